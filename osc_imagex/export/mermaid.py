# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""A Mermaid sequence diagram of the exchanges, numbered like the page."""

import re
from typing import Any

from osc_imagex.export import common

CLIENT_ID = 'CLI'

# Mermaid reads entity codes (#35;) in message text; anything that could
# end a statement, open a comment or reach the renderer as HTML is turned
# into one. '#' goes first so that wire data cannot forge a code.
_ENTITIES = {
    '#': '#35;',
    ';': '#59;',
    '%': '#37;',
    '<': '#60;',
    '>': '#62;',
    '"': '#34;',
    "'": '#39;',
    '`': '#96;',
    '{': '#123;',
    '}': '#125;',
    '&': '#38;',
    '\\': '#92;',
    ':': '#58;',
    ',': '#44;',
}
_ENTITY_PATTERN = re.compile('|'.join(map(re.escape, _ENTITIES)))
# A bare "end" closes a block in Mermaid's grammar.
_END_WORD = re.compile(r'\b([eE])([nN][dD])\b')


def escape(text: str) -> str:
    text = ' '.join(common.printable(str(text)).split())
    text = _ENTITY_PATTERN.sub(lambda m: _ENTITIES[m.group(0)], text)
    return _END_WORD.sub(
        lambda m: '#%d;%s' % (ord(m.group(1)), m.group(2)), text
    )


def render_diagram(records: list[dict[str, Any]]) -> str:
    """The diagram's statements, without a code fence"""
    records = common.name_services(records)
    exchanges = common.exchanges(records)
    participants: dict[str, str] = {}
    for record in exchanges:
        participants.setdefault(
            common.participant(record), 'S%d' % (len(participants) + 1)
        )

    lines = ['sequenceDiagram', '    autonumber']
    lines.append('    participant %s as openstack' % CLIENT_ID)
    for label, participant_id in participants.items():
        lines.append(
            '    participant %s as %s' % (participant_id, escape(label))
        )
    for record in exchanges:
        service = participants[common.participant(record)]
        lines.append(
            '    %s->>%s: %s'
            % (
                CLIENT_ID,
                service,
                escape('%s %s' % (record['method'], record['path'])),
            )
        )
        if record.get('status') is None:
            lines.append(
                '    %s--x%s: %s'
                % (service, CLIENT_ID, escape(common.status_line(record)))
            )
        else:
            lines.append(
                '    %s-->>%s: %s'
                % (service, CLIENT_ID, escape(common.status_line(record)))
            )
    return '\n'.join(lines) + '\n'


def render_document(records: list[dict[str, Any]], creator: str) -> str:
    return render_diagram(records)

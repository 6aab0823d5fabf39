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

"""Helpers shared by the export formats."""

import json
import re
from typing import Any

# C0/C1 controls (terminal escape sequences start with one), invisible
# bidirectional and zero-width marks that can make text read backwards or
# hide it, Unicode line separators, and lone surrogates.
_UNSAFE_CHARACTERS = re.compile(
    '[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e'
    '\u2066-\u2069\ufeff\ud800-\udfff]'
)


def printable(text: str) -> str:
    """Show control and bidi characters as escapes instead of obeying them"""
    return _UNSAFE_CHARACTERS.sub(
        lambda match: '\\u%04x' % ord(match.group(0)), text
    )


def one_line(text: str) -> str:
    # Escape first: str.split() would quietly treat some controls as space.
    return ' '.join(printable(text).split())


def exchanges(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get('record') == 'exchange']


def first_of(records: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    for record in records:
        if record.get('record') == kind:
            return record
    return {}


def body_text(part: dict[str, Any] | None) -> str:
    """A request or response body as people read it"""
    if not part or part.get('body') is None:
        return ''
    if part.get('body_encoding') == 'json':
        return json.dumps(part['body'], indent=2, ensure_ascii=False)
    if part.get('body_encoding') == 'base64':
        return '<%d bytes of binary data, base64 in the JSON-lines log>' % (
            part.get('body_size') or 0
        )
    return str(part['body'])


def header_lines(headers: dict[str, str] | None) -> list[str]:
    return [
        '%s: %s' % (printable(name), printable(str(value)))
        for name, value in (headers or {}).items()
    ]


def participant(record: dict[str, Any]) -> str:
    for name in (record.get('service_name'), record.get('service')):
        if name and name.strip():
            return str(name)
    return 'unknown'


def name_services(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give early exchanges the service names the catalog revealed later

    The first identity exchanges happen before the token response brings
    the catalog, so the recorder could only call them "identity".
    """
    names: dict[str, str] = {}
    for record in exchanges(records):
        service, name = record.get('service'), record.get('service_name')
        if service and name and name != service:
            names.setdefault(service, name)
    named = []
    for record in records:
        if (
            record.get('record') == 'exchange'
            and record.get('service_name') in (None, record.get('service'))
            and record.get('service') in names
        ):
            record = dict(record, service_name=names[record['service']])
        named.append(record)
    return named


def command_title(command: list[str]) -> str:
    """The command without the global options before it"""
    for position, word in enumerate(command):
        if word == 'imagex':
            return one_line(' '.join(['openstack'] + command[position:]))
    return one_line(' '.join(command))


def status_line(record: dict[str, Any]) -> str:
    if record.get('status') is None:
        return 'no response (%s)' % (record.get('error') or 'failed')
    return '%s %s' % (record['status'], record.get('reason') or '')

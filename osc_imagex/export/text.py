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

"""A plain-text log in the spirit of a requests.log capture."""

import re
from typing import Any

from osc_imagex.export import common


def render_record(record: dict[str, Any]) -> str:
    kind = record.get('record')
    if kind == 'run':
        return '#### %s  (global request ID %s, %s)\n\n' % (
            common.one_line(' '.join(record.get('command') or [])),
            record.get('global_request_id'),
            record.get('started'),
        )
    if kind == 'error':
        return '#### failed: %s\n\n' % common.one_line(record['message'])
    if kind != 'exchange':
        return ''
    return _request(record) + _response(record)


def _request(record: dict[str, Any]) -> str:
    lines = [
        '>>> [%d] %s -> %s (%s): %s %s'
        % (
            record['seq'],
            record['caller'],
            common.one_line(common.participant(record)),
            common.one_line(record['service']),
            record['method'],
            common.one_line(record['url']),
        ),
        '    sent %s, global request ID %s'
        % (record['started'], record.get('global_request_id')),
    ]
    lines += common.header_lines(record['request']['headers'])
    return _with_body(lines, common.body_text(record['request']))


def _response(record: dict[str, Any]) -> str:
    lines = [
        '<<< [%d] %s (%s) -> %s: %s for %s %s'
        % (
            record['seq'],
            common.one_line(common.participant(record)),
            common.one_line(record['service']),
            record['caller'],
            common.one_line(common.status_line(record)),
            record['method'],
            common.one_line(record['url']),
        ),
        '    %.1f ms, request ID %s'
        % (
            record['duration_ms'],
            common.one_line(record.get('request_id') or '-'),
        ),
    ]
    response = record.get('response')
    if response:
        lines += common.header_lines(response['headers'])
    return _with_body(lines, common.body_text(response))


# A body line that could pass for a heading, after any backslashes, gets
# one more in front, so a server cannot forge an exchange in the log;
# taking one backslash off such lines gives the body back.
_HEADING_LIKE = re.compile(r'^(?=\\*(?:>>> |<<< |#### ))', re.MULTILINE)


def _with_body(lines: list[str], body: str) -> str:
    text = '\n'.join(lines) + '\n'
    if body:
        text += '\n' + _HEADING_LIKE.sub('\\\\', common.printable(body))
        text += '\n'
    return text + '\n'

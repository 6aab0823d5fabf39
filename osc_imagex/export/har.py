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

"""HAR 1.2, as browsers' developer tools and HAR viewers read it."""

import base64
import json
from typing import Any
from urllib import parse

from osc_imagex.export import common

HAR_VERSION = '1.2'


def render_document(records: list[dict[str, Any]], creator: str) -> str:
    records = common.name_services(records)
    name, _, version = creator.partition(' ')
    har = {
        'log': {
            'version': HAR_VERSION,
            'creator': {'name': name, 'version': version or 'unknown'},
            'pages': [],
            'entries': [_entry(r) for r in common.exchanges(records)],
        }
    }
    return json.dumps(har, indent=2) + '\n'


def _entry(record: dict[str, Any]) -> dict[str, Any]:
    response = record.get('response')
    total = float(record.get('duration_ms') or 0)
    # Logs written before receive_ms existed count it all as waiting.
    receive = min(float(record.get('receive_ms') or 0), total)
    entry = {
        'startedDateTime': record['started'],
        'time': total,
        'request': _request(record),
        'response': _response(record, response),
        'cache': {},
        # The recorder sees when the headers arrived and when the body was
        # read, not the connection and sending that come before: those
        # count as waiting, and "send" (which HAR requires) is 0.
        'timings': {
            'blocked': -1,
            'dns': -1,
            'connect': -1,
            'ssl': -1,
            'send': 0,
            'wait': round(total - receive, 3),
            'receive': receive,
        },
        '_seq': record['seq'],
        '_globalRequestId': record.get('global_request_id'),
        '_requestId': record.get('request_id'),
        '_service': record.get('service'),
        '_serviceName': record.get('service_name'),
    }
    if record.get('error'):
        entry['_error'] = record['error']
    return entry


def _pairs(headers: dict[str, str] | None) -> list[dict[str, str]]:
    return [
        {'name': name, 'value': str(value)}
        for name, value in (headers or {}).items()
    ]


def _mime_type(headers: dict[str, str] | None, default: str) -> str:
    for name, value in (headers or {}).items():
        if name.lower() == 'content-type':
            return value
    return default


def _content_text(part: dict[str, Any]) -> tuple[str, str | None]:
    encoding = part.get('body_encoding')
    if encoding == 'json':
        return json.dumps(part['body'], ensure_ascii=False), None
    if encoding == 'base64':
        return part['body'], 'base64'
    return part.get('body') or '', None


def _request(record: dict[str, Any]) -> dict[str, Any]:
    request = record['request']
    split = parse.urlsplit(record['url'])
    har_request: dict[str, Any] = {
        'method': record['method'],
        'url': record['url'],
        'httpVersion': record.get('http_version') or 'HTTP/1.1',
        'cookies': [],
        'headers': _pairs(request['headers']),
        'queryString': [
            {'name': name, 'value': value}
            for name, value in parse.parse_qsl(
                split.query, keep_blank_values=True
            )
        ],
        'headersSize': -1,
        'bodySize': request.get('body_size') or 0,
    }
    if request.get('body') is not None:
        text, encoding = _content_text(request)
        if encoding:
            text = base64.b64decode(text).decode('latin-1')
        har_request['postData'] = {
            'mimeType': _mime_type(
                request['headers'], 'application/octet-stream'
            ),
            'text': text,
        }
    return har_request


def _response(
    record: dict[str, Any], response: dict[str, Any] | None
) -> dict[str, Any]:
    if response is None:
        # No response came back: HAR's convention for a failed request.
        return {
            'status': 0,
            'statusText': '',
            'httpVersion': '',
            'cookies': [],
            'headers': [],
            'content': {'size': 0, 'mimeType': 'x-unknown'},
            'redirectURL': '',
            'headersSize': -1,
            'bodySize': -1,
            '_error': record.get('error'),
        }
    content: dict[str, Any] = {
        'size': response.get('body_size') or 0,
        'mimeType': _mime_type(response['headers'], 'x-unknown'),
    }
    if response.get('body') is not None:
        content['text'], encoding = _content_text(response)
        if encoding:
            content['encoding'] = encoding
    location = next(
        (
            value
            for name, value in response['headers'].items()
            if name.lower() == 'location'
        ),
        '',
    )
    return {
        'status': record['status'],
        'statusText': record.get('reason') or '',
        'httpVersion': record.get('http_version') or 'HTTP/1.1',
        'cookies': [],
        'headers': _pairs(response['headers']),
        'content': content,
        'redirectURL': location,
        'headersSize': -1,
        'bodySize': response.get('body_size') or 0,
    }

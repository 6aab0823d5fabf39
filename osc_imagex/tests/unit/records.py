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

"""Log records as a run of ``openstack imagex list`` writes them.

Everything is fixed (IDs, clock, sizes), so what the exporters make of
these records can be compared with committed files. :class:`RunBuilder`
numbers and times the records of one run; :func:`normal_records` and
:func:`hostile_records` are the two complete runs the export tests use.
"""

import base64
import datetime
import hashlib
import http
import json
from typing import Any
from urllib import parse

from osc_imagex import requestid

Record = dict[str, Any]

GLOBAL_REQUEST_ID = 'req-0c0ffee0-1234-4abc-8def-0123456789ab'
STARTED = datetime.datetime(
    2026, 3, 2, 9, 15, 0, 125000, tzinfo=datetime.timezone.utc
)
AUTH_URL = 'https://keystone.example.com:5000/v3'
GLANCE_URL = 'https://glance.example.com:9292'
USER_AGENT = (
    'openstacksdk/4.22.0 keystoneauth1/5.18.1 python-requests/2.34.2 '
    'CPython/3.12.3'
)
# What the redactor makes of the token: its digest, never the token.
TOKEN_DIGEST = '{SHA256}' + hashlib.sha256(b'gAAAAA-fake-token').hexdigest()

# Text that breaks whatever format it is pasted into unescaped: statement
# and comment markers of Mermaid, HTML, Markdown code fences and spans,
# the word that closes a Mermaid block, a newline, a terminal colour
# escape, a right-to-left override, non-ASCII and a 4-byte character.
HOSTILE = (
    'a;b #1; %%{init: {"theme": "dark"}}%% <script>alert(\'x\')</script> '
    'x > y {braces} `tick` ``` end\nnext line \x1b[31mred\x1b[0m '
    '\u202eevil\u202c caf\u00e9 \U0001f600'
)
# Half of a surrogate pair: JSON can carry it ("\ud83d"), UTF-8 cannot.
LONE_SURROGATES = '\ud83d and \udfff'


def body(value: Any) -> Record:
    """A request or response body the way the recorder represents it

    None is no body, bytes a binary (base64) one, str a text one, and
    anything else parsed JSON.
    """
    if value is None:
        return {'body': None, 'body_encoding': None, 'body_size': 0}
    if isinstance(value, bytes):
        return {
            'body': base64.b64encode(value).decode('ascii'),
            'body_encoding': 'base64',
            'body_size': len(value),
        }
    if isinstance(value, str):
        return {
            'body': value,
            'body_encoding': 'text',
            'body_size': len(value.encode('utf-8', 'surrogatepass')),
        }
    return {
        'body': value,
        'body_encoding': 'json',
        'body_size': len(json.dumps(value).encode('ascii')),
    }


def _content_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return 'application/octet-stream'
    if isinstance(value, str):
        return 'text/plain; charset=UTF-8'
    return 'application/json'


def _path(url: str) -> str:
    # As requests' PreparedRequest.path_url: path and query, no fragment.
    split = parse.urlsplit(url)
    return (split.path or '/') + ('?' + split.query if split.query else '')


class RunBuilder:
    """The records of one run, numbered and timed as they are added

    :param global_request_id: sent with, and stamped on, every record
    :param started: when the run starts; each exchange starts 5 ms after
        the previous one ended
    """

    def __init__(
        self,
        global_request_id: str = GLOBAL_REQUEST_ID,
        started: datetime.datetime = STARTED,
    ) -> None:
        self.global_request_id = global_request_id
        self.records: list[Record] = []
        self._started = started
        self._clock = started
        self._seq = 0

    def run(
        self, command: list[str], environment: dict[str, str] | None = None
    ) -> Record:
        return self._add(
            {
                'record': 'run',
                'log_version': 1,
                'global_request_id': self.global_request_id,
                'started': self._started.isoformat(),
                'command': command,
                'environment': environment or {},
            }
        )

    def exchange(
        self,
        method: str,
        url: str,
        status: int = 200,
        *,
        service: str,
        service_name: str,
        request_body: Any = None,
        response_body: Any = None,
        request_headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
        reason: str | None = None,
        authenticated: bool = True,
        duration_ms: float = 12.5,
        receive_ms: float | None = 0.75,
    ) -> Record:
        """An exchange that got a response

        The usual headers are filled in: keystoneauth's on the request
        (the token digest when ``authenticated``), Content-Type and
        Content-Length for a body; the given headers are added last, so
        they can replace these. The request ID is read from the response
        headers, as the recorder reads it.
        """
        sent = self._request_headers(
            request_body, request_headers, authenticated
        )
        received = {}
        if response_body is not None:
            received['Content-Type'] = _content_type(response_body)
        response = body(response_body)
        received['Content-Length'] = str(response['body_size'])
        received.update(response_headers or {})
        return self._add(
            self._exchange_record(
                method,
                url,
                service,
                service_name,
                duration_ms,
                receive_ms=receive_ms,
                request_id=requestid.local_request_id(received),
                http_version='HTTP/1.1',
                status=status,
                reason=(
                    http.HTTPStatus(status).phrase
                    if reason is None
                    else reason
                ),
                error=None,
                request={'headers': sent, **body(request_body)},
                response={'headers': received, **response},
            )
        )

    def failure(
        self,
        method: str,
        url: str,
        error: str,
        *,
        service: str,
        service_name: str,
        request_body: Any = None,
        authenticated: bool = True,
        duration_ms: float = 3004.25,
    ) -> Record:
        """An exchange that got no response: refused, timed out, reset"""
        return self._add(
            self._exchange_record(
                method,
                url,
                service,
                service_name,
                duration_ms,
                receive_ms=None,
                request_id=None,
                http_version=None,
                status=None,
                reason=None,
                error=error,
                request={
                    'headers': self._request_headers(
                        request_body, None, authenticated
                    ),
                    **body(request_body),
                },
                response=None,
            )
        )

    def output(self, text: str) -> Record:
        return self._add(
            {
                'record': 'output',
                'global_request_id': self.global_request_id,
                'text': text,
            }
        )

    def error(self, message: str) -> Record:
        return self._add(
            {
                'record': 'error',
                'global_request_id': self.global_request_id,
                'message': message,
            }
        )

    def _add(self, record: Record) -> Record:
        self.records.append(record)
        return record

    def _request_headers(
        self,
        request_body: Any,
        extra: dict[str, str] | None,
        authenticated: bool,
    ) -> dict[str, str]:
        headers = {
            'User-Agent': USER_AGENT,
            'Accept-Encoding': 'gzip, deflate',
            'Accept': 'application/json',
            'Connection': 'keep-alive',
        }
        if authenticated:
            headers['X-Auth-Token'] = TOKEN_DIGEST
        if request_body is not None:
            headers['Content-Type'] = _content_type(request_body)
            headers['Content-Length'] = str(body(request_body)['body_size'])
        headers[requestid.HEADER] = self.global_request_id
        headers.update(extra or {})
        return headers

    def _exchange_record(
        self,
        method: str,
        url: str,
        service: str,
        service_name: str,
        duration_ms: float,
        **details: Any,
    ) -> Record:
        self._seq += 1
        started = self._clock
        self._clock += datetime.timedelta(milliseconds=duration_ms + 5)
        record = {
            'record': 'exchange',
            'log_version': 1,
            'seq': self._seq,
            'global_request_id': self.global_request_id,
            'request_id': details.pop('request_id'),
            'started': started.isoformat(),
            'duration_ms': duration_ms,
            'receive_ms': details.pop('receive_ms'),
            'caller': 'openstack',
            'service': service,
            'service_name': service_name,
            'method': method,
            'url': url,
            'path': _path(url),
        }
        record.update(details)
        return record


def image(number: int, **overrides: Any) -> Record:
    """One image as the Image API v2 lists it"""
    value = {
        'id': '7d5e0c4a-0000-4000-8000-%012d' % number,
        'name': 'cirros-0.6.%d' % number,
        'status': 'active',
        'visibility': 'public',
        'protected': False,
        'os_hidden': False,
        'tags': [],
        'size': 21430272 + number,
        'checksum': '%032x' % number,
        'os_hash_algo': 'sha512',
        'os_hash_value': '%0128x' % number,
        'owner': 'b4f3a0d1c2e5476f8a9b0c1d2e3f4a5b',
        'container_format': 'bare',
        'disk_format': 'qcow2',
        'min_disk': 0,
        'min_ram': 0,
        'created_at': '2026-01-%02dT08:00:00Z' % (number % 28 + 1),
        'updated_at': '2026-01-%02dT08:00:05Z' % (number % 28 + 1),
        'virtual_size': 117440512,
        'schema': '/v2/schemas/image',
    }
    value['self'] = '/v2/images/%s' % value['id']
    value['file'] = '/v2/images/%s/file' % value['id']
    value.update(overrides)
    return value


def image_page(
    images: list[Record], next_link: str | None = None
) -> dict[str, Any]:
    page: dict[str, Any] = {
        'images': images,
        'first': '/v2/images',
        'schema': '/v2/schemas/images',
    }
    if next_link is not None:
        page['next'] = next_link
    return page


def catalog(glance_name: str = 'glance') -> list[Record]:
    return [
        {
            'type': 'identity',
            'name': 'keystone',
            'id': '5f0a7c3e1b2d4e6f8a9b0c1d2e3f4a5b',
            'endpoints': [
                {
                    'id': 'e1',
                    'interface': 'public',
                    'region': 'RegionOne',
                    'region_id': 'RegionOne',
                    'url': AUTH_URL,
                }
            ],
        },
        {
            'type': 'image',
            'name': glance_name,
            'id': '9a8b7c6d5e4f40312a1b2c3d4e5f6a7b',
            'endpoints': [
                {
                    'id': 'e2',
                    'interface': 'public',
                    'region': 'RegionOne',
                    'region_id': 'RegionOne',
                    'url': GLANCE_URL,
                }
            ],
        },
    ]


def identity_versions() -> dict[str, Any]:
    return {
        'version': {
            'id': 'v3.14',
            'status': 'stable',
            'updated': '2020-04-07T00:00:00Z',
            'links': [{'rel': 'self', 'href': AUTH_URL + '/'}],
            'media-types': [
                {
                    'base': 'application/json',
                    'type': 'application/vnd.openstack.identity-v3+json',
                }
            ],
        }
    }


def password_auth() -> dict[str, Any]:
    """A password token request, the password already masked"""
    return {
        'auth': {
            'identity': {
                'methods': ['password'],
                'password': {
                    'user': {
                        'name': 'demo',
                        'domain': {'name': 'Default'},
                        'password': '***',
                    }
                },
            },
            'scope': {
                'project': {'name': 'demo', 'domain': {'name': 'Default'}}
            },
        }
    }


def token(glance_name: str = 'glance') -> dict[str, Any]:
    return {
        'token': {
            'methods': ['password'],
            'user': {
                'id': '0f9e8d7c6b5a49382716a5b4c3d2e1f0',
                'name': 'demo',
                'domain': {'id': 'default', 'name': 'Default'},
                'password_expires_at': None,
            },
            'audit_ids': ['3T2dc1CGQxyJsHdDu1xkcw'],
            'expires_at': '2026-03-02T10:15:00.000000Z',
            'issued_at': '2026-03-02T09:15:00.000000Z',
            'project': {
                'id': 'b4f3a0d1c2e5476f8a9b0c1d2e3f4a5b',
                'name': 'demo',
                'domain': {'id': 'default', 'name': 'Default'},
            },
            'is_domain': False,
            'roles': [
                {'id': '1e2d3c4b5a6948372615a4b3c2d1e0f9', 'name': 'member'}
            ],
            'catalog': catalog(glance_name),
        }
    }


def image_versions() -> dict[str, Any]:
    return {
        'versions': [
            {
                'id': 'v2.16',
                'status': 'CURRENT',
                'links': [{'rel': 'self', 'href': GLANCE_URL + '/v2/'}],
            },
            {
                'id': 'v2.15',
                'status': 'SUPPORTED',
                'links': [{'rel': 'self', 'href': GLANCE_URL + '/v2/'}],
            },
        ]
    }


def _discover_and_authenticate(
    builder: RunBuilder,
    glance_name: str = 'glance',
    discovery: Any = None,
    discovery_headers: dict[str, str] | None = None,
    token_reason: str | None = None,
) -> None:
    builder.exchange(
        'GET',
        AUTH_URL,
        service='identity',
        # The catalog is not known yet: the recorder can only say
        # "identity"; the exporters name it from the later exchanges.
        service_name='identity',
        response_body=discovery,
        response_headers=discovery_headers,
        authenticated=False,
        duration_ms=8.125,
    )
    builder.exchange(
        'POST',
        AUTH_URL + '/auth/tokens',
        201,
        service='identity',
        service_name='keystone',
        request_body=password_auth(),
        response_body=token(glance_name),
        response_headers={
            'X-Subject-Token': TOKEN_DIGEST,
            'Vary': 'X-Auth-Token',
            'x-openstack-request-id': (
                'req-3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b'
            ),
        },
        reason=token_reason,
        authenticated=False,
        duration_ms=187.375,
    )


def normal_records() -> list[Record]:
    """A two-page ``imagex list --limit 2`` run that went well"""
    builder = RunBuilder()
    builder.run(
        [
            'openstack',
            '--os-cloud',
            'devstack',
            'imagex',
            'list',
            '--limit',
            '2',
            '--http-log',
            'trace.jsonl',
        ],
        {'OS_CLOUD': 'devstack', 'OS_PASSWORD': '***'},
    )
    _discover_and_authenticate(
        builder,
        discovery=identity_versions(),
        discovery_headers={
            'x-openstack-request-id': (
                'req-8e5a2b1c-3d4f-4a6b-9c8d-7e6f5a4b3c2d'
            )
        },
    )
    builder.exchange(
        'GET',
        GLANCE_URL + '/',
        300,
        service='image',
        service_name='glance',
        response_body=image_versions(),
        # Version discovery goes without the token.
        authenticated=False,
        duration_ms=4.5,
    )
    marker = image(1)['id']
    builder.exchange(
        'GET',
        GLANCE_URL + '/v2/images?limit=2',
        service='image',
        service_name='glance',
        response_body=image_page(
            [image(0), image(1)],
            next_link='/v2/images?marker=%s&limit=2' % marker,
        ),
        response_headers={
            'x-openstack-request-id': (
                'req-6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e'
            )
        },
        duration_ms=42.25,
    )
    builder.exchange(
        'GET',
        GLANCE_URL + '/v2/images?limit=2&marker=%s' % marker,
        service='image',
        service_name='glance',
        response_body=image_page([image(2)]),
        response_headers={
            'x-openstack-request-id': (
                'req-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'
            )
        },
        duration_ms=23.0,
    )
    builder.output(
        _table(
            [(image(n)['id'], image(n)['name'], 'active') for n in range(3)]
        )
    )
    return builder.records


def _table(rows: list[tuple[str, str, str]]) -> str:
    header = ('ID', 'Name', 'Status')
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    rule = '+' + '+'.join('-' * (width + 2) for width in widths) + '+'
    lines = [rule]
    for row in [header, None, *rows]:
        if row is None:
            lines.append(rule)
            continue
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines.append(rule)
    return '\n'.join(lines) + '\n'


HOSTILE_GLANCE_NAME = 'glance\n<b>end</b>; #2; %%x `y` \x1b[31m\u202eecnalg'
HOSTILE_REQUEST_ID = 'req-\x1b[2J\x1b[31m\u202e<i>;end'
# A `next` link is followed as given, so whatever the server puts in it
# ends up in a request URL.
HOSTILE_QUERY = (
    'name=<script>;"\'{x}`end`%%\n\x1b[31m\u202e\U0001f600&limit=1#frag;end'
)
CONNECT_FAILURE = (
    'ConnectFailure: Unable to establish connection to %s/v2/images?%s: '
    "HTTPSConnectionPool(host='glance.example.com', port=9292): Max "
    'retries exceeded (Caused by NewConnectionError(\'<urllib3.connection.'
    'HTTPSConnection object at 0x7f3a2c1b0e50>: Failed to establish a new '
    "connection: [Errno 111] Connection refused'))"
)


def hostile_image() -> Record:
    return image(
        7,
        name=HOSTILE,
        tags=['end', '```', '%%', ';', '#', '<', '>', '\u202e', '\ud83d'],
        description=HOSTILE + ' ' + LONE_SURROGATES,
        **{
            'x_<key>;end': '\x1b]0;title\x07',
            'x_\udfff': 'lone surrogate in a key',
        },
    )


# An error page from a proxy: not JSON, and full of backtick runs.
HOSTILE_TEXT_BODY = (
    '<html><body><h1>503 Service Unavailable</h1>\r\n'
    '```\n````` five\n    ```\nend\n'
    '%%{init}%% ; # {x} "q" \'q\'\n'
    '\x1b[31mred\x1b[0m \u202eevil\u202c \U0001f600\n'
    '</body></html>'
)
# Not UTF-8: a gzip header, a NUL, an ESC and a stray continuation byte.
BINARY_BODY = b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x1b[31m\x80end;#'


def hostile_records() -> list[Record]:
    """A run against a cloud whose data tries to break every format

    Every part of a record that comes from the server, or from the user's
    command line, carries text that means something to one of the formats.
    It also has an empty body, a binary body, a text body that is not
    JSON, and an exchange that failed without a response. It ends with
    both an output and an error record, which one run would not write, so
    that each is rendered from hostile text.
    """
    builder = RunBuilder()
    builder.run(
        [
            'openstack',
            '--os-cloud',
            'devstack',
            'imagex',
            'list',
            '--name',
            HOSTILE,
            '--property',
            'x_<key>;end=' + LONE_SURROGATES,
        ],
        {'OS_CLOUD': 'dev`stack', 'OS_REGION_NAME': HOSTILE},
    )
    _discover_and_authenticate(
        builder,
        glance_name=HOSTILE_GLANCE_NAME,
        discovery_headers={
            'Content-Type': 'application/json',
            'x-openstack-request-id': HOSTILE_REQUEST_ID,
        },
        token_reason='Created \x1b[31m<b>#1; end\u202e',
    )
    builder.exchange(
        'GET',
        GLANCE_URL + '/',
        300,
        service='image',
        service_name=HOSTILE_GLANCE_NAME,
        response_body=BINARY_BODY,
        response_headers={'X-Weird\x1b[31m': '\u202e`;end#%%<x>'},
        authenticated=False,
        duration_ms=4.5,
    )
    name_filter = parse.quote(HOSTILE, safe='')
    builder.exchange(
        'GET',
        GLANCE_URL + '/v2/images?name=%s&limit=1' % name_filter,
        service='image',
        service_name=HOSTILE_GLANCE_NAME,
        response_body=image_page(
            [hostile_image()], next_link='/v2/images?' + HOSTILE_QUERY
        ),
        response_headers={'x-openstack-request-id': HOSTILE_REQUEST_ID},
        duration_ms=42.25,
    )
    builder.failure(
        'GET',
        GLANCE_URL + '/v2/images?' + HOSTILE_QUERY,
        CONNECT_FAILURE % (GLANCE_URL, HOSTILE_QUERY.replace('\n', ' ')),
        service='image',
        service_name=HOSTILE_GLANCE_NAME,
    )
    builder.exchange(
        'GET',
        GLANCE_URL + '/v2/images?' + HOSTILE_QUERY,
        503,
        service='image',
        service_name=HOSTILE_GLANCE_NAME,
        response_body=HOSTILE_TEXT_BODY,
        response_headers={'Content-Type': 'text/html'},
        reason='Service Unavailable <script>`end`</script>',
        duration_ms=1.0,
    )
    hostile_line = ' '.join(HOSTILE.split())
    builder.output(_table([(hostile_image()['id'], hostile_line, 'active')]))
    builder.error(
        'Service Unavailable <script>`end`</script> (HTTP 503) '
        '(global request ID %s; request ID %s from image GET /v2/images?%s)'
        % (GLOBAL_REQUEST_ID, HOSTILE_REQUEST_ID, HOSTILE_QUERY)
    )
    return builder.records


def large_records(size: int = 5 * 1024 * 1024) -> list[Record]:
    """One image page of at least ``size`` bytes, and the run around it"""
    images = []
    page_size = 0
    while page_size < size:
        images.append(image(len(images), description='d' * 512))
        page_size += len(json.dumps(images[-1])) + 2
    builder = RunBuilder()
    builder.run(['openstack', 'imagex', 'list', '--limit', '100000'])
    builder.exchange(
        'GET',
        GLANCE_URL + '/v2/images?limit=100000',
        service='image',
        service_name='glance',
        response_body=image_page(images),
        duration_ms=2500.0,
    )
    return builder.records

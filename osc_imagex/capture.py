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

"""Record every HTTP exchange a keystoneauth session makes.

The recorder sits at the transport adapter of the session's
``requests.Session``: below keystoneauth's retries and redirects, so each
attempt is its own exchange, and early enough to see connection failures
and time the whole exchange, body included.
"""

import base64
from collections.abc import Callable
import datetime
import http
import json
import logging
import time
from typing import Any, NamedTuple

import requests
from requests import adapters

from osc_imagex import redact
from osc_imagex import requestid
from osc_imagex import services

LOG = logging.getLogger(__name__)

CALLER = 'openstack'

LOG_VERSION = 1

Record = dict[str, Any]


class Summary(NamedTuple):
    """What the command keeps of each exchange once it is written out"""

    seq: int
    service: str
    method: str
    path: str
    status: int | None
    duration_ms: float
    request_id: str | None
    error: str | None


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _http_version(response: requests.Response) -> str:
    raw_version = getattr(getattr(response, 'raw', None), 'version', None)
    versions: dict[Any, str] = {10: 'HTTP/1.0', 11: 'HTTP/1.1', 20: 'HTTP/2'}
    return versions.get(raw_version, 'HTTP/1.1')


def _content_type(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == 'content-type':
            return value.split(';')[0].strip().lower()
    return ''


class Recorder:
    """Turns exchanges into redacted records and hands them on.

    :param redactor: masks secrets in every record
    :param resolver: names the service behind each URL
    """

    def __init__(
        self,
        redactor: redact.Redactor,
        resolver: services.ServiceResolver,
    ) -> None:
        self.redactor = redactor
        self.resolver = resolver
        self.summaries: list[Summary] = []
        self._listeners: list[Callable[[Record], None]] = []

    def add_listener(self, listener: Callable[[Record], None]) -> None:
        self._listeners.append(listener)

    def attach(self, session: requests.Session) -> None:
        """Wrap each transport adapter the session has mounted

        A session that an earlier command already wraps (OSC's interactive
        shell keeps one) is taken over by this recorder.
        """
        for prefix, adapter in list(session.adapters.items()):
            if isinstance(adapter, RecordingAdapter):
                adapter.recorder = self
            else:
                session.mount(prefix, RecordingAdapter(adapter, self))

    def emit(self, record: Record) -> None:
        for listener in self._listeners:
            listener(record)

    def record(
        self,
        request: requests.PreparedRequest,
        response: requests.Response | None,
        started: str,
        duration_ms: float,
        error: BaseException | None = None,
        body_read: bool = True,
        receive_ms: float | None = None,
    ) -> None:
        """Record one exchange

        :param receive_ms: of ``duration_ms``, the time spent reading the
            response body after its headers had arrived
        """
        record = self._build(
            request,
            response,
            started,
            (duration_ms, receive_ms),
            error,
            body_read,
        )
        status = response.status_code if response is not None else None
        self.summaries.append(
            Summary(
                seq=record['seq'],
                service=record['service'],
                method=record['method'],
                path=record['path'],
                status=status,
                duration_ms=duration_ms,
                request_id=record['request_id'],
                error=record['error'],
            )
        )
        self.emit(record)

    def _build(
        self,
        request: requests.PreparedRequest,
        response: requests.Response | None,
        started: str,
        timing: tuple[float, float | None],
        error: BaseException | None,
        body_read: bool,
    ) -> Record:
        request_headers = dict(request.headers)
        response_headers = {}
        response_body = None
        if response is not None:
            response_headers = dict(response.headers)
            # A streamed body (an image download) belongs to the caller.
            content = response.content if body_read else None
            response_body = self._body(response_headers, content)
            if isinstance(response_body['body'], dict):
                self._learn_catalog(response_body['body'])

        url = request.url or ''
        # Known shortcoming: identity discovery, the first exchange, comes
        # before the catalog, so its service_name is None in JSON lines;
        # the documents, rendered later, fill it in.
        service_type, service_name = self.resolver.describe(url)
        redactor = self.redactor
        record: Record = {
            'record': 'exchange',
            'log_version': LOG_VERSION,
            'seq': len(self.summaries) + 1,
            'global_request_id': self._sent_global_id(request_headers),
            'request_id': requestid.local_request_id(response_headers),
            'started': started,
            'duration_ms': round(timing[0], 3),
            'receive_ms': None if timing[1] is None else round(timing[1], 3),
            'caller': CALLER,
            'service': service_type,
            'service_name': service_name,
            'method': request.method,
            'url': redactor.url(url),
            'path': redactor.url(request.path_url),
            'http_version': (
                _http_version(response) if response is not None else None
            ),
            'status': response.status_code if response is not None else None,
            'reason': _reason(response) if response is not None else None,
            'error': _describe_error(error) if error else None,
            'request': {
                'headers': redactor.headers(request_headers),
                **self._body(request_headers, request.body),
            },
            'response': (
                {
                    'headers': redactor.headers(response_headers),
                    **(response_body or {}),
                }
                if response is not None
                else None
            ),
        }
        return redactor.scrub(record)

    def _sent_global_id(self, headers: dict[str, str]) -> str | None:
        for name, value in headers.items():
            if name.lower() == requestid.HEADER.lower():
                return value
        return None

    def _learn_catalog(self, body: dict[str, Any]) -> None:
        token = body.get('token')
        if isinstance(token, dict) and isinstance(token.get('catalog'), list):
            self.resolver.learn_catalog(token['catalog'])

    def _body(self, headers: dict[str, str], body: Any) -> Record:
        """Represent a body: parsed JSON, text, or base64 for binary"""
        if body is None or body in (b'', ''):
            return {'body': None, 'body_encoding': None, 'body_size': 0}
        raw = body if isinstance(body, bytes) else str(body).encode('utf-8')
        size = len(raw)
        content_type = _content_type(headers)
        try:
            text = raw.decode('utf-8')
        except UnicodeDecodeError:
            # Base64 would hide a secret from the scrubbing the other
            # bodies get, so it is done here, on the bytes.
            return {
                'body': base64.b64encode(
                    self.redactor.scrub_bytes(raw)
                ).decode('ascii'),
                'body_encoding': 'base64',
                'body_size': size,
            }
        # Known shortcoming: an image page is parsed here and again by the
        # listing; no measured cost has been worth coupling the two.
        if 'json' in content_type or text[:1] in ('{', '['):
            try:
                parsed = json.loads(text)
            except ValueError:
                pass
            else:
                if redact.may_name_secrets(text):
                    parsed = self.redactor.json(parsed)
                return {
                    'body': parsed,
                    'body_encoding': 'json',
                    'body_size': size,
                }
        if content_type == 'application/x-www-form-urlencoded':
            text = self.redactor.query(text)
        return {'body': text, 'body_encoding': 'text', 'body_size': size}


def _reason(response: requests.Response) -> str:
    if response.reason:
        return response.reason
    try:
        return http.HTTPStatus(response.status_code).phrase
    except ValueError:
        return ''


def _describe_error(error: BaseException) -> str:
    # requests nests the interesting part (refused, timed out) a few
    # exceptions deep; the outermost message already includes it.
    message = ' '.join(str(error).split())
    return '%s: %s' % (type(error).__name__, message)


class RecordingAdapter(adapters.BaseAdapter):
    """Transport adapter that records around the adapter it wraps"""

    def __init__(self, inner: adapters.BaseAdapter, recorder: Recorder):
        super().__init__()
        self.inner = inner
        self.recorder = recorder

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        started = _utc_now()
        clock = time.perf_counter()
        receive_ms = None
        try:
            # The inner adapter returns once the status line and headers
            # are in; the body is still on the wire.
            response = self.inner.send(
                request,
                stream=stream,
                timeout=timeout,
                verify=verify,
                cert=cert,
                proxies=proxies,
            )
            if not stream:
                # Read the body here so the timing covers it, and so a
                # read that fails is recorded as this exchange's failure.
                headers_in = time.perf_counter()
                response.content  # noqa: B018
                receive_ms = (time.perf_counter() - headers_in) * 1000
        except BaseException as error:
            elapsed = (time.perf_counter() - clock) * 1000
            self.recorder.record(request, None, started, elapsed, error)
            raise
        elapsed = (time.perf_counter() - clock) * 1000
        self.recorder.record(
            request,
            response,
            started,
            elapsed,
            body_read=not stream,
            receive_ms=receive_ms,
        )
        return response

    def close(self) -> None:
        self.inner.close()

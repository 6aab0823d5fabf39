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

"""A small HTTP proxy on 127.0.0.1 that injects faults in front of a service.

Tests point the image endpoint at it (``image_endpoint_override``) and
script what the next matching requests get: an error status or a delay.
Everything else is forwarded unchanged to the real service.
"""

import http.client
import http.server
import json
import threading
import time
from urllib import parse
import uuid

import fixtures

_HOP_BY_HOP = frozenset(
    (
        'connection',
        'keep-alive',
        'transfer-encoding',
        'te',
        'trailer',
        'upgrade',
        'proxy-authorization',
        'proxy-authenticate',
    )
)


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gives up (a timeout, a signal) closes mid-reply;
        # that is the point of several tests, not a failure of the proxy.
        pass


class _Rule:
    def __init__(
        self, path, times, status=None, delay=0.0, echo=False, charset=None
    ):
        self.path = path
        self.remaining = times
        self.status = status
        self.delay = delay
        self.echo = echo
        self.charset = charset


class FaultProxy(fixtures.Fixture):
    """Forwards to ``target``; ``fail``, ``delay``, ``echo`` script faults"""

    def __init__(self, target):
        super().__init__()
        self.target = parse.urlsplit(target)
        self.rules = []
        self.seen = []
        self._lock = threading.Lock()

    def _setUp(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def do_GET(self):
                proxy._handle(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = _QuietServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever)
        thread.daemon = True
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server.server_address[1]

    def fail(self, path, status, times=1):
        """The next ``times`` requests under ``path`` get ``status``"""
        self.rules.append(_Rule(path, times, status=status))

    def echo_password(self, path, status, charset, times=1):
        """The next requests under ``path`` get ``status`` and a page

        The page quotes the password of their password-auth body, in
        ``charset``.
        """
        self.rules.append(_Rule(path, times, status=status, charset=charset))

    def echo(self, path, status, times=1):
        """The next ``times`` requests under ``path`` get ``status``

        Their own body comes back in the reply's body and in a header, as
        a careless server's error page might send it.
        """
        self.rules.append(_Rule(path, times, status=status, echo=True))

    def delay(self, path, seconds, times=1):
        """The next ``times`` requests under ``path`` wait, then pass"""
        self.rules.append(_Rule(path, times, delay=seconds))

    def _take_rule(self, path):
        with self._lock:
            self.seen.append(path)
            for rule in self.rules:
                if rule.remaining and path.startswith(rule.path):
                    rule.remaining -= 1
                    return rule
        return None

    def _handle(self, handler):
        length = int(handler.headers.get('Content-Length') or 0)
        body = handler.rfile.read(length) if length else None
        rule = self._take_rule(handler.path)
        if rule is not None and rule.charset:
            self._reply_page(handler, rule.status, rule.charset, body)
            return
        if rule is not None and rule.status:
            self._reply_fault(handler, rule.status, body if rule.echo else b'')
            return
        if rule is not None and rule.delay:
            time.sleep(rule.delay)
        self._forward(handler, body)

    def _reply_page(self, handler, status, charset, body):
        auth = json.loads(body)['auth']['identity']['password']['user']
        payload = (
            '<html><body>Bad password: %s</body></html>' % auth['password']
        ).encode(charset, 'replace')
        handler.send_response(status)
        handler.send_header('Content-Type', 'text/html; charset=%s' % charset)
        handler.send_header('Content-Length', str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _reply_fault(self, handler, status, echoed=b''):
        message = 'injected fault'
        if echoed:
            message += ' for %s' % echoed.decode('utf-8', 'replace')
        # Keystone's error shape, which keystoneauth puts in its message.
        payload = json.dumps(
            {'error': {'message': message, 'code': status}},
            ensure_ascii=False,
        ).encode()
        handler.send_response(status)
        if echoed:
            handler.send_header('X-Echo', echoed.decode('latin-1'))
        handler.send_header('Content-Type', 'application/json')
        handler.send_header('Content-Length', str(len(payload)))
        handler.send_header('x-openstack-request-id', 'req-%s' % uuid.uuid4())
        handler.end_headers()
        handler.wfile.write(payload)

    def _forward(self, handler, body):
        connection = http.client.HTTPConnection(
            self.target.hostname, self.target.port, timeout=60
        )
        headers = {
            name: value
            for name, value in handler.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() != 'host'
        }
        try:
            connection.request(
                handler.command, handler.path, body=body, headers=headers
            )
            response = connection.getresponse()
            payload = response.read()
        except OSError:
            handler.send_error(502)
            return
        finally:
            connection.close()
        handler.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP | {'content-length'}:
                handler.send_header(name, value)
        handler.send_header('Content-Length', str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

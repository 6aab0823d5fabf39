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

import html
import json
import re
import string
from urllib import parse

from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies
from requests import utils as requests_utils
import testtools

from osc_imagex.export import har
from osc_imagex.export import jsonl
from osc_imagex.export import markdown
from osc_imagex.export import mermaid
from osc_imagex.export import text
from osc_imagex import redact


class TestHeaders(testtools.TestCase):
    def test_token_headers_become_a_stable_digest(self):
        redactor = redact.Redactor()

        first = redactor.headers({'X-Auth-Token': 'tok-1'})
        second = redactor.headers({'x-subject-token': 'tok-1'})

        self.assertEqual(redact.digest('tok-1'), first['X-Auth-Token'])
        self.assertEqual(first['X-Auth-Token'], second['x-subject-token'])
        self.assertTrue(first['X-Auth-Token'].startswith('{SHA256}'))

    def test_authorization_and_service_token_are_digested(self):
        redactor = redact.Redactor()

        headers = redactor.headers(
            {'Authorization': 'Bearer abc', 'X-Service-Token': 'svc'}
        )

        self.assertEqual(
            {
                'Authorization': redact.digest('Bearer abc'),
                'X-Service-Token': redact.digest('svc'),
            },
            headers,
        )

    def test_ordinary_headers_pass_through(self):
        headers = {'Content-Type': 'application/json', 'Accept': '*/*'}

        self.assertEqual(headers, redact.Redactor().headers(headers))


class TestJsonBodies(testtools.TestCase):
    def test_password_auth_masks_only_the_password(self):
        body = {
            'auth': {
                'identity': {
                    'methods': ['password'],
                    'password': {
                        'user': {'name': 'admin', 'password': 'hunter2'}
                    },
                }
            }
        }

        masked = redact.Redactor().json(body)

        user = masked['auth']['identity']['password']['user']
        self.assertEqual({'name': 'admin', 'password': '***'}, user)

    def test_application_credential_secret_is_masked(self):
        body = {'application_credential': {'id': 'ac1', 'secret': 's3cr3t'}}

        masked = redact.Redactor().json(body)

        self.assertEqual(
            {'application_credential': {'id': 'ac1', 'secret': '***'}},
            masked,
        )

    def test_totp_passcode_is_masked(self):
        body = {'totp': {'user': {'id': 'u1', 'passcode': '123456'}}}

        masked = redact.Redactor().json(body)

        self.assertEqual('***', masked['totp']['user']['passcode'])
        self.assertEqual('u1', masked['totp']['user']['id'])

    def test_token_method_id_is_digested(self):
        body = {'identity': {'methods': ['token'], 'token': {'id': 'tok'}}}

        masked = redact.Redactor().json(body)

        self.assertEqual(
            redact.digest('tok'), masked['identity']['token']['id']
        )

    def test_ids_outside_a_token_object_are_kept(self):
        body = {'token': {'user': {'id': 'u1'}, 'project': {'id': 'p1'}}}

        self.assertEqual(body, redact.Redactor().json(body))


class TestMayNameSecrets(testtools.TestCase):
    def test_an_image_page_needs_no_walk(self):
        text = json.dumps({'images': [{'id': 'x', 'name': 'cirros'}]})

        self.assertFalse(redact.may_name_secrets(text))

    def test_secret_and_token_keys_need_the_walk(self):
        for key in ('password', 'Secret', 'auth_token', 'passcode', 'token'):
            text = json.dumps({'a': {key: 'v'}})
            self.assertTrue(redact.may_name_secrets(text), key)

    def test_escaped_key_characters_need_the_walk(self):
        self.assertTrue(redact.may_name_secrets('{"\\u0070assword": "x"}'))


class TestUrlsAndCommandLines(testtools.TestCase):
    def test_sensitive_query_parameters_are_masked_in_place(self):
        redactor = redact.Redactor()

        url = redactor.url(
            'http://h/v2/images?limit=5&token=abc&password=pw&name=x'
        )

        self.assertEqual(
            'http://h/v2/images?limit=5&token=%s&password=***&name=x'
            % redact.digest('abc'),
            url,
        )

    def test_password_in_url_userinfo_is_masked(self):
        self.assertEqual(
            'http://admin:***@h/v3',
            redact.Redactor().url('http://admin:pw@h/v3'),
        )

    def test_secret_options_are_masked_in_both_spellings(self):
        argv = [
            'openstack',
            '--os-password',
            'pw1',
            '--os-application-credential-secret=pw2',
            '--os-token',
            'tok',
            'imagex',
            'list',
        ]

        self.assertEqual(
            [
                'openstack',
                '--os-password',
                '***',
                '--os-application-credential-secret=***',
                '--os-token',
                '***',
                'imagex',
                'list',
            ],
            redact.Redactor().argv(argv),
        )

    def test_abbreviated_secret_options_are_masked(self):
        # argparse takes any unambiguous prefix of an option.
        argv = [
            '--os-passw=pw1',
            '--os-tok',
            'tok',
            '--os-application-cr',
            'sec',
            '--os-project-name',
            'admin',
        ]

        self.assertEqual(
            [
                '--os-passw=***',
                '--os-tok',
                '***',
                '--os-application-cr',
                '***',
                '--os-project-name',
                'admin',
            ],
            redact.Redactor().argv(argv),
        )

    def test_a_password_in_an_option_url_is_masked_in_both_spellings(self):
        redactor = redact.Redactor()
        url = 'http://user:urlpw-secret@127.0.0.1:5000/v3'

        masked = redactor.argv(
            ['openstack', '--os-auth-url=' + url, '--os-auth-url', url]
        )

        self.assertEqual(
            [
                'openstack',
                '--os-auth-url=http://user:***@127.0.0.1:5000/v3',
                '--os-auth-url',
                'http://user:***@127.0.0.1:5000/v3',
            ],
            masked,
        )

    def test_variables_of_secret_options_are_masked(self):
        environ = {
            'OS_CODE': 'oidc-code-secret',
            'OS_IDP_OTP_KEY': 'otp-key-secret',
            'OS_USERNAME': 'admin',
        }

        self.assertEqual(
            {
                'OS_CODE': '***',
                'OS_IDP_OTP_KEY': '***',
                'OS_USERNAME': 'admin',
            },
            redact.Redactor().environment(environ),
        )

    def test_secret_environment_variables_are_masked(self):
        environ = {
            'OS_PASSWORD': 'pw',
            'OS_TOKEN': 'tok',
            'OS_APPLICATION_CREDENTIAL_SECRET': 'sec',
            'OS_USERNAME': 'admin',
        }

        self.assertEqual(
            {
                'OS_PASSWORD': '***',
                'OS_TOKEN': '***',
                'OS_APPLICATION_CREDENTIAL_SECRET': '***',
                'OS_USERNAME': 'admin',
            },
            redact.Redactor().environment(environ),
        )


class TestScrub(testtools.TestCase):
    def test_a_learned_secret_is_scrubbed_from_free_text(self):
        redactor = redact.Redactor()
        redactor.learn_secret('hunter22')

        scrubbed = redactor.scrub({'message': 'bad password hunter22!'})

        self.assertEqual({'message': 'bad password ***!'}, scrubbed)

    def test_a_learned_token_is_replaced_by_its_digest(self):
        redactor = redact.Redactor()
        redactor.headers({'X-Subject-Token': 'tok-123456'})

        scrubbed = redactor.scrub(['echo tok-123456'])

        self.assertEqual(['echo ' + redact.digest('tok-123456')], scrubbed)

    def test_a_secret_with_json_metacharacters_is_found_in_nested_data(self):
        redactor = redact.Redactor()
        redactor.learn_secret('pa"ss\\wörd')

        scrubbed = redactor.scrub({'a': [{'b': 'x pa"ss\\wörd y'}]})

        self.assertEqual({'a': [{'b': 'x *** y'}]}, scrubbed)

    def test_every_spelling_a_server_echoes_is_scrubbed(self):
        secret = 'a "b\'c" <d> & e/f+g~* \u00fc'
        redactor = redact.Redactor()
        redactor.learn_secret(secret)
        spellings = [
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            json.dumps(secret)[1:-1].replace('/', '\\/'),
            parse.quote(secret),
            parse.quote(secret, safe=''),
            parse.quote_plus(secret),
            re.sub(
                '%[0-9A-F]{2}',
                lambda match: match.group(0).lower(),
                parse.quote_plus(secret),
            ),
            html.escape(secret),
            html.escape(secret, quote=False),
            html.escape(secret).replace('&#x27;', '&#39;'),
            # What requests sends in a path, and encodeURIComponent.
            requests_utils.requote_uri(secret),
            parse.quote(secret, safe="!'()*"),
            # Hex digits in upper case, as Java's JSON libraries write.
            json.dumps(secret)[1:-1].replace('\\u00fc', '\\u00FC'),
            # An HTML page, or a JSON string, quoting the JSON request.
            html.escape(json.dumps(secret)[1:-1]),
            json.dumps(json.dumps(secret)[1:-1])[1:-1],
            # Go's encoding/json, html/template and url.PathEscape.
            json.dumps(secret)[1:-1]
            .replace('&', '\\u0026')
            .replace('<', '\\u003c')
            .replace('>', '\\u003e')
            .replace("'", '\\u0027'),
            html.escape(secret)
            .replace('&quot;', '&#34;')
            .replace('&#x27;', '&#39;')
            .replace('+', '&#43;'),
            parse.quote(secret, safe='$&+,:;=@'),
            # OWASP's HTML encoder; non-ASCII as numeric references.
            html.escape(secret).replace('/', '&#x2F;'),
            html.escape(secret)
            .encode('ascii', 'xmlcharrefreplace')
            .decode('ascii'),
            # URLSearchParams; a URL inside a URL; a header's Latin-1.
            parse.quote_plus(secret, safe='*').replace('~', '%7E'),
            parse.quote(parse.quote(secret, safe=''), safe=''),
            secret.encode('utf-8').decode('latin-1'),
        ]

        scrubbed = redactor.scrub(['<%s>' % s for s in spellings])

        self.assertEqual(['<***>'] * len(spellings), scrubbed)

    def test_a_body_that_is_not_utf_8_is_scrubbed_as_bytes(self):
        redactor = redact.Redactor()
        redactor.learn_secret('p\u00e4ssw\u00f6rd')
        redactor.learn_token('token-abcdef')
        body = 'bad p\u00e4ssw\u00f6rd '.encode(
            'latin-1'
        ) + 'p\u00e4ssw\u00f6rd token-abcdef \xff'.encode('utf-8')

        self.assertEqual(
            b'bad *** *** '
            + redact.digest('token-abcdef').encode()
            + b' '
            + '\xff'.encode(),
            redactor.scrub_bytes(body),
        )

    def test_a_secret_with_runs_of_whitespace_is_found(self):
        redactor = redact.Redactor()
        redactor.learn_secret('horse  battery\tstaple')

        self.assertEqual(
            'No Image found for ***',
            redactor.scrub('No Image found for horse  battery\tstaple'),
        )

    def test_nothing_learned_leaves_data_untouched(self):
        data = {'a': ['b', 1, None]}

        self.assertIs(data, redact.Redactor().scrub(data))


# Secrets as generated: printable, with JSON and regex metacharacters, long
# enough that they cannot occur by chance in the surrounding record.
_SECRETS = strategies.text(
    alphabet=(
        string.ascii_letters
        + string.digits
        + '"\\{}[]().*+?^$|#;%&=/<>\' `~!@,:\u00fc\u00e9\u20ac\U0001f600'
    ),
    min_size=8,
    max_size=40,
)


def _render_everything(records):
    outputs = [jsonl.render_record(record) for record in records]
    outputs += [text.render_record(record) for record in records]
    outputs.append(har.render_document(records, 'osc-imagex test'))
    outputs.append(mermaid.render_document(records, 'osc-imagex test'))
    outputs.append(markdown.render_document(records, 'osc-imagex test'))
    return '\n'.join(outputs)


def _exchange(
    redactor,
    request_headers,
    request_body,
    response_headers,
    url,
    response_text=None,
):
    return redactor.scrub(
        {
            'record': 'exchange',
            'seq': 1,
            'started': '2026-01-01T00:00:00+00:00',
            'duration_ms': 1.0,
            'caller': 'openstack',
            'service': 'identity',
            'service_name': 'keystone',
            'method': 'POST',
            'url': redactor.url(url),
            'path': redactor.url(url),
            'status': 201,
            'reason': 'Created',
            'request': {
                'headers': redactor.headers(request_headers),
                'body': redactor.json(request_body),
                'body_encoding': 'json',
                'body_size': 1,
            },
            'response': {
                'headers': redactor.headers(response_headers),
                'body': response_text,
                'body_encoding': 'text' if response_text else None,
                'body_size': len(response_text or ''),
            },
        }
    )


class TestNoSecretReachesAnyFormat(testtools.TestCase):
    @settings(max_examples=60, deadline=None)
    @given(
        password=_SECRETS, token=_SECRETS, secret=_SECRETS, passcode=_SECRETS
    )
    def test_auth_bodies_headers_queries_and_command_line(
        self, password, token, secret, passcode
    ):
        rendered = self._render(password, token, secret, passcode)

        # A value that the page shows anyway ("Response") proves nothing.
        baseline = self._render('\x00a', '\x00b', '\x00c', '\x00d')
        for value in (password, token, secret, passcode):
            assume(value not in baseline)
            for spelling in (
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
                parse.quote(value, safe=''),
                parse.quote_plus(value),
            ):
                self.assertNotIn(spelling, rendered)

    @staticmethod
    def _render(password, token, secret, passcode):
        redactor = redact.Redactor()
        argv = [
            'openstack',
            '--os-password',
            password,
            '--os-token=%s' % token,
            'imagex',
            'list',
        ]
        environ = {
            'OS_PASSWORD': password,
            'OS_APPLICATION_CREDENTIAL_SECRET': secret,
        }
        run = {
            'record': 'run',
            'command': redactor.argv(argv),
            'environment': redactor.environment(environ),
            'global_request_id': 'req-x',
        }
        body = {
            'auth': {
                'identity': {
                    'methods': [
                        'password',
                        'token',
                        'application_credential',
                        'totp',
                    ],
                    'password': {'user': {'name': 'u', 'password': password}},
                    'token': {'id': token},
                    'application_credential': {'id': 'a', 'secret': secret},
                    'totp': {'user': {'id': 'u', 'passcode': passcode}},
                }
            }
        }
        exchange = _exchange(
            redactor,
            {'X-Auth-Token': token, 'Content-Type': 'application/json'},
            body,
            {'X-Subject-Token': token},
            'http://h/v3/auth/tokens?token=%s&password=%s' % (token, password),
        )
        # A server that echoes what it was sent, in the spellings of JSON
        # and of URLs, and a query that carries the values as data.
        echo = _exchange(
            redactor,
            {'X-Auth-Token': token},
            None,
            {'X-Echo': json.dumps(body)},
            'http://h/v2/images?name=%s&tag=%s&owner=%s'
            % (
                parse.quote_plus(password),
                parse.quote(secret, safe=''),
                re.sub(
                    '%[0-9A-F]{2}',
                    lambda match: match.group(0).lower(),
                    parse.quote(passcode),
                ),
            ),
            response_text=json.dumps(body, ensure_ascii=False),
        )
        error = {
            'record': 'error',
            'message': redactor.scrub('echo %s %s' % (password, token)),
        }
        return _render_everything([run, exchange, echo, error])

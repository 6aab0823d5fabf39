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

import base64
import fcntl
import json
import os
import signal
import socket
import subprocess
import time
from urllib import parse

from requests import utils as requests_utils

from osc_imagex.tests.functional import base
from osc_imagex.tests.functional import faultproxy
from osc_imagex.v2 import image

GLOBAL_ID = base.GLOBAL_ID
# Glance refuses 4-byte UTF-8 in names; the emoji goes into a property.
HOSTILE_NAME = 'evil;#%%<b>end\x1b[31mred\u202eltr\u00e9'


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _as_nohup():
    _default_sigint()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


class FaultTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        self.proxy = self.useFixture(
            faultproxy.FaultProxy(self.cloud['glance_url'])
        )

    def proxied_environment(self, **settings):
        return self.cloud_environment(
            image_endpoint_override=self.proxy.url, **settings
        )

    def image_pages(self, log):
        return [
            e
            for e in self.exchanges(log)
            if e['path'].startswith('/v2/images')
        ]


class TestGlanceErrors(FaultTestCase):
    def test_503_retries_are_logged_and_announced(self):
        self.proxy.fail('/v2/images', 503, times=2)
        log = self.path('trace.jsonl')

        result = self.openstack(
            'imagex',
            'list',
            '--http-log',
            log,
            env=self.proxied_environment(),
        )

        self.assert_ok(result)
        self.assertEqual(
            [503, 503, 200], [e['status'] for e in self.image_pages(log)]
        )
        # keystoneauth says so for each retry.
        self.assertEqual(
            2, result.err.count('Retriable status code 503'), result
        )

    def test_503_until_retries_run_out(self):
        self.proxy.fail('/v2/images', 503, times=20)
        har = self.path('trace.har')

        result, log = self.traced_list(
            '--http-log', har, env=self.proxied_environment()
        )

        # Before the error, a warning for each retry.
        error = self.assert_failed(result, lines=6)
        pages = self.image_pages(log)
        self.assertEqual([503] * 6, [e['status'] for e in pages])
        self.assertEqual({'image'}, {e['service'] for e in pages})
        self.assertIn('request ID %s' % pages[-1]['request_id'], error)
        with open(har) as stream:
            entries = json.load(stream)['log']['entries']
        self.assertEqual(len(self.exchanges(log)), len(entries))

    def test_500_names_both_request_ids(self):
        self.proxy.fail('/v2/images', 500)
        result, log = self.traced_list(env=self.proxied_environment())

        refused = self.assert_refused(result, log, (500,))
        self.assertEqual('image', refused['service'])
        self.assertEqual('error', self.read_jsonl(log)[-1]['record'])

    def test_glance_slower_than_the_api_timeout(self):
        self.proxy.delay('/v2/images', 4, times=10)
        result, log = self.traced_list(
            env=self.proxied_environment(api_timeout=1)
        )

        error = self.assert_failed(result)
        self.assertIn('timed out', error)
        failed = self.image_pages(log)[-1]
        self.assertIsNone(failed['status'])
        self.assertIn('timed out', failed['error'])


class TestServicesDown(FaultTestCase):
    def test_keystone_down(self):
        self.stop_service('keystone')
        result, log = self.traced_list()

        error = self.assert_failed(result)
        self.assertIn('Connection refused', error)
        # Discovery fails, keystoneauth guesses the version from the URL
        # and tries the token request anyway.
        exchanges = self.exchanges(log)
        self.assertEqual(
            [('/v3', None), ('/v3/auth/tokens', None)],
            [(e['path'], e['status']) for e in exchanges],
        )


class TestInterruption(FaultTestCase):
    def interrupt(
        self,
        signum,
        delay=10,
        preexec_fn=_default_sigint,
        options=(),
        lines_first=4,
        repeat=1,
    ):
        """Signal a run of imagex list while Glance holds its listing

        :param lines_first: JSON lines the run has written when it is
            signalled (the run record and the exchanges before the hold)
        """
        self.proxy.delay('/v2/images?', delay)
        logs = {
            ext: self.path('trace.' + ext)
            for ext in ('jsonl', 'log', 'har', 'md')
        }
        argv = [
            base.OPENSTACK,
            'imagex',
            'list',
            '--global-request-id',
            GLOBAL_ID,
            *options,
        ]
        for path in logs.values():
            argv += ['--http-log', path]
        process = subprocess.Popen(
            argv,
            env=self.proxied_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A shell starts background jobs with SIGINT ignored, and the
            # tests may run as one; a terminal's Ctrl-C is what is tested.
            preexec_fn=preexec_fn,
        )
        self.addCleanup(process.kill)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.whole_lines(logs['jsonl']) >= lines_first:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        for _ in range(repeat):
            process.send_signal(signum)
            time.sleep(0.02)
        out, err = process.communicate(timeout=60)
        return process.returncode, err, logs

    def whole_lines(self, path):
        """Lines written so far; the one being written is not counted"""
        try:
            with open(path, 'rb') as stream:
                return stream.read().count(b'\n')
        except FileNotFoundError:
            return 0

    def assert_logs_whole(self, logs):
        exchanges = self.exchanges(logs['jsonl'])
        self.assertEqual(
            ['/v3', '/v3/auth/tokens', '/', '/v2/images?limit=1000'],
            [e['path'] for e in exchanges],
        )
        self.assertIsNone(exchanges[-1]['status'])
        with open(logs['har']) as stream:
            entries = json.load(stream)['log']['entries']
        self.assertEqual(4, len(entries))
        self.assertEqual(0, entries[-1]['response']['status'])
        self.assertIn('## Error', self.read(logs['md']))
        self.assertIn('>>> [4]', self.read(logs['log']))

    def assert_ended(self, signum, status, message, repeat=1):
        """The run exits ``status`` with one line, and whole logs"""
        exit_status, err, logs = self.interrupt(signum, repeat=repeat)

        self.assertEqual(status, exit_status, err)
        self.assertNotIn('Traceback', err)
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertRegex(
            err, r'^%s \(.*global request ID %s' % (message, GLOBAL_ID)
        )
        self.assert_logs_whole(logs)

    def test_sigterm_exits_143_with_whole_logs(self):
        self.assert_ended(signal.SIGTERM, 143, 'terminated by SIGTERM')

    def test_sigterm_again_while_closing_changes_nothing(self):
        self.assert_ended(
            signal.SIGTERM, 143, 'terminated by SIGTERM', repeat=3
        )

    def test_sigint_exits_130_with_whole_logs(self):
        self.assert_ended(signal.SIGINT, 130, 'interrupted')

    def test_sighup_exits_129_with_whole_logs(self):
        self.assert_ended(signal.SIGHUP, 129, 'terminated by SIGHUP')

    def test_sighup_under_nohup_is_ignored(self):
        status, err, logs = self.interrupt(
            signal.SIGHUP, delay=3, preexec_fn=_as_nohup
        )

        self.assertEqual(0, status, err)
        exchanges = self.exchanges(logs['jsonl'])
        self.assertEqual(200, exchanges[-1]['status'])
        self.assertEqual(
            'output', self.read_jsonl(logs['jsonl'])[-1]['record']
        )
        with open(logs['har']) as stream:
            self.assertEqual(4, len(json.load(stream)['log']['entries']))

    def test_sigkill_leaves_documents_of_the_exchanges_before(self):
        # The marker lookup takes long enough for the documents to be
        # rewritten after it, before Glance holds the listing.
        marker = self.cloud['images']['cirros-0.5.2-x86_64-disk']
        self.proxy.delay('/v2/images/', 1.5)

        status, err, logs = self.interrupt(
            signal.SIGKILL, options=('--marker', marker), lines_first=5
        )

        self.assertEqual(-signal.SIGKILL, status, err)
        self.assertEqual(
            ['/v3', '/v3/auth/tokens', '/', '/v2/images/' + marker],
            [e['path'] for e in self.exchanges(logs['jsonl'])],
        )
        with open(logs['har']) as stream:
            entries = json.load(stream)['log']['entries']
        self.assertEqual([1, 2, 3, 4], [e['_seq'] for e in entries])
        self.assertIn('GET /v2/images/' + marker, self.read(logs['md']))


class TestStalledReader(base.FunctionalTestCase):
    def test_sigterm_ends_a_run_whose_log_reader_stopped_reading(self):
        reader, writer = os.pipe()
        self.addCleanup(os.close, reader)
        # One page: the first exchanges fill it, then every write waits.
        fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, 4096)
        process = subprocess.Popen(
            [base.OPENSTACK, 'imagex', 'list', '--http-log', '/dev/stderr'],
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=writer,
        )
        os.close(writer)
        self.addCleanup(process.kill)
        time.sleep(5)
        self.assertIsNone(process.poll(), 'the log did not stall the run')

        process.send_signal(signal.SIGTERM)

        self.assertEqual(143, process.wait(timeout=image.CLOSING_SECONDS + 10))


class TestClosedOutput(base.FunctionalTestCase):
    def test_a_closed_pipe_exits_141_quietly_and_keeps_the_log(self):
        log = self.path('trace.jsonl')
        process = subprocess.Popen(
            [base.OPENSTACK, 'imagex', 'list', '--http-log', log],
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The reader is gone before the command writes a line (| head -0).
        process.stdout.close()
        err = process.stderr.read()
        process.wait(timeout=120)

        self.assertEqual(141, process.returncode, err)
        self.assertNotIn('global request ID', err)
        records = self.read_jsonl(log)
        self.assertEqual(4, len(self.exchanges(log)))
        self.assertEqual('output pipe closed', records[-1]['message'])


class TestSharedLog(base.FunctionalTestCase):
    def test_two_runs_append_whole_lines_to_one_file(self):
        log = self.path('shared.jsonl')
        processes = [
            subprocess.Popen(
                [base.OPENSTACK, 'imagex', 'list', '--http-log', log],
                env=self.environment(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        for process in processes:
            process.communicate(timeout=120)
            self.assertEqual(0, process.returncode)

        records = self.read_jsonl(log)
        runs = {r['global_request_id'] for r in records}
        self.assertEqual(2, len(runs))
        for run in runs:
            self.assertEqual(
                [
                    'run',
                    'exchange',
                    'exchange',
                    'exchange',
                    'exchange',
                    'output',
                ],
                [
                    r['record']
                    for r in records
                    if r['global_request_id'] == run
                ],
            )


class TestAuthFailures(base.FunctionalTestCase):
    def test_unknown_project_is_refused_with_keystones_request_id(self):
        result, log = self.traced_list(
            global_options=('--os-project-name', 'no-such-project')
        )

        self.assert_refused(result, log, (401,))

    def test_revoked_token_is_refused_with_keystones_request_id(self):
        token = self.assert_ok(
            self.openstack('token', 'issue', '-f', 'value', '-c', 'id')
        ).out.strip()
        self.assert_ok(self.openstack('token', 'revoke', token))

        result, log = self.traced_list(env=self.token_environment(token))

        self.assert_refused(result, log, (401, 404))
        self.assertNotIn(token, self.read(log))

    def token_environment(self, token):
        return self.environment(
            OS_CLOUD=None,
            OS_CLIENT_CONFIG_FILE='/dev/null',
            OS_AUTH_TYPE='token',
            OS_AUTH_URL=self.cloud['auth_url'],
            OS_TOKEN=token,
            OS_PROJECT_NAME='admin',
            OS_PROJECT_DOMAIN_NAME='Default',
        )

    def test_application_credential_secret_reaches_no_log(self):
        name = 'imagex-test-%d' % os.getpid()
        created = json.loads(
            self.assert_ok(
                self.openstack(
                    'application',
                    'credential',
                    'create',
                    name,
                    '-f',
                    'json',
                )
            ).out
        )
        self.addCleanup(
            self.openstack,
            'application',
            'credential',
            'delete',
            created['ID'],
        )
        paths = [
            self.path('ac.' + ext)
            for ext in ('jsonl', 'log', 'har', 'mmd', 'md')
        ]
        logs = []
        for path in paths:
            logs += ['--http-log', path]
        env = self.environment(
            OS_CLOUD=None,
            OS_CLIENT_CONFIG_FILE='/dev/null',
            OS_AUTH_TYPE='v3applicationcredential',
            OS_AUTH_URL=self.cloud['auth_url'],
            OS_APPLICATION_CREDENTIAL_ID=created['ID'],
            OS_APPLICATION_CREDENTIAL_SECRET=created['Secret'],
        )

        self.assert_ok(self.openstack('imagex', 'list', *logs, env=env))

        (token_request,) = [
            e for e in self.exchanges(paths[0]) if e['method'] == 'POST'
        ]
        body = token_request['request']['body']
        credential = body['auth']['identity']['application_credential']
        self.assertEqual('***', credential['secret'])
        for path in paths:
            self.assertNotIn(created['Secret'], self.read(path), path)


class TestEchoedSecrets(base.FunctionalTestCase):
    """A password with JSON, URL and HTML metacharacters, echoed back"""

    def setUp(self):
        super().setUp()
        suffix = os.getpid()
        self.username = 'imagex-tricky-%d' % suffix
        self.password = 'Sp "q\\\u00fc+/%%&=;\u00e9 <>#Z\'s  z\t9-%d' % suffix
        self.assert_ok(
            self.openstack(
                'user',
                'create',
                self.username,
                '--password',
                self.password,
                '--project',
                'admin',
            )
        )
        self.addCleanup(self.openstack, 'user', 'delete', self.username)
        self.assert_ok(
            self.openstack(
                'role',
                'add',
                '--user',
                self.username,
                '--project',
                'admin',
                'member',
            )
        )
        self.paths = [
            self.path('trace.' + ext)
            for ext in ('jsonl', 'log', 'har', 'mmd', 'md')
        ]

    def as_tricky_user(self, *argv):
        logs = []
        for path in self.paths:
            logs += ['--http-log', path]
        return self.openstack(
            '--os-username',
            self.username,
            '--os-password',
            self.password,
            *argv,
            *logs,
        )

    def spellings(self):
        value = self.password
        return {
            value,
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            parse.quote(value, safe=''),
            parse.quote_plus(value),
            requests_utils.requote_uri(value),
            # An error message that folds runs of whitespace.
            ' '.join(value.split()),
        }

    def test_no_spelling_of_the_password_reaches_any_log(self):
        keystone = self.useFixture(
            faultproxy.FaultProxy(self.cloud['keystone_url'])
        )
        keystone.echo('/v3/auth/tokens', 400)

        # The password as an image name puts it in a query string, and as
        # a marker in a URL path and in the error that names it.
        listed = self.as_tricky_user('imagex', 'list', '--name', self.password)
        missing = self.as_tricky_user(
            'imagex', 'list', '--marker', self.password
        )
        echoed = self.as_tricky_user(
            '--os-auth-url', keystone.url + '/v3', 'imagex', 'list'
        )

        self.assert_ok(listed)
        self.assertEqual(1, missing.status, missing)
        self.assertIn('No Image found for ***', missing.err)
        self.assertEqual(1, echoed.status, echoed)
        self.assertIn('injected fault', echoed.err)
        for spelling in self.spellings():
            self.assertNotIn(spelling, missing.err)
            self.assertNotIn(spelling, echoed.err)
        echo = [e for e in self.exchanges(self.paths[0]) if e['status'] == 400]
        self.assertEqual(
            ['***'],
            [
                e['request']['body']['auth']['identity']['password']['user'][
                    'password'
                ]
                for e in echo
            ],
        )
        self.assertIn('X-Echo', echo[0]['response']['headers'])
        for path in self.paths:
            content = self.read(path)
            for spelling in self.spellings():
                self.assertNotIn(spelling, content, path)

    def test_a_page_in_latin_1_quoting_the_password_is_scrubbed(self):
        keystone = self.useFixture(
            faultproxy.FaultProxy(self.cloud['keystone_url'])
        )
        keystone.echo_password('/v3/auth/tokens', 401, 'iso-8859-1')

        result = self.as_tricky_user(
            '--os-auth-url', keystone.url + '/v3', 'imagex', 'list'
        )

        self.assertEqual(1, result.status, result)
        page = [e for e in self.exchanges(self.paths[0]) if e['status']]
        body = page[-1]['response']
        self.assertEqual('base64', body['body_encoding'])
        text = base64.b64decode(body['body']).decode('latin-1')
        self.assertIn('Bad password: ***', text)
        self.assertNotIn(
            self.password.encode('latin-1', 'replace').decode('latin-1'),
            text,
        )


class TestBadInput(base.FunctionalTestCase):
    def test_missing_marker_and_project_are_one_line_errors(self):
        for options, expected in (
            (('--marker', 'no-such-image'), 'No Image found for'),
            (('--project', 'no-such-project'), 'No Project found for'),
            (('--sort', 'name:sideways'), 'not a valid sort direction'),
        ):
            result = self.openstack('imagex', 'list', *options)

            self.assertEqual(1, result.status, result)
            self.assertEqual(1, len(result.err.strip().splitlines()), result)
            self.assertIn(expected, result.err)

    def test_unknown_log_format_is_a_usage_error(self):
        result = self.openstack(
            'imagex',
            'list',
            '--http-log',
            self.path('x'),
            '--http-log-format',
            'pdf',
        )

        self.assertEqual(2, result.status, result)
        self.assertEqual(1, len(result.err.strip().splitlines()), result)
        self.assertIn("invalid choice: 'pdf'", result.err)

    def test_unwritable_log_is_refused_before_any_request(self):
        # Nothing listens at the auth URL: a request sent before the log
        # was checked would fail with "Connection refused" instead.
        with socket.socket() as unused:
            unused.bind(('127.0.0.1', 0))
            port = unused.getsockname()[1]
        nowhere = 'http://127.0.0.1:%d/v3' % port
        a_file = self.path('a-file')
        with open(a_file, 'w'):
            pass
        # /proc refuses new files even to root, who can write anywhere a
        # mode bit would forbid.
        for path in (
            '/proc/imagex.jsonl',
            os.path.join(a_file, 'trace.jsonl'),
            self.tmp,
            self.path('missing/trace.jsonl'),
        ):
            # A log that could be written comes first: it is not left.
            first = self.path('first.har')
            result = self.openstack(
                '--os-auth-url',
                nowhere,
                'imagex',
                'list',
                '--http-log',
                first,
                '--http-log',
                path,
            )

            self.assertEqual(1, result.status, result)
            lines = result.err.strip().splitlines()
            self.assertEqual(1, len(lines), result)
            self.assertTrue(
                lines[0].startswith('cannot write HTTP log %s: ' % path),
                result,
            )
            self.assertFalse(os.path.exists(first))


class TestHostileImageNames(base.FunctionalTestCase):
    def test_listing_and_exports_stay_correct_and_safe(self):
        created = json.loads(
            self.assert_ok(
                self.openstack(
                    'image',
                    'create',
                    HOSTILE_NAME,
                    '--tag',
                    'x;%%end',
                    '--property',
                    'note=<script>\u202e',
                    '--private',
                    '-f',
                    'json',
                )
            ).out
        )
        self.addCleanup(self.openstack, 'image', 'delete', created['id'])
        paths = {
            ext: self.path('h.' + ext)
            for ext in ('jsonl', 'log', 'har', 'mmd', 'md')
        }
        logs = []
        for path in paths.values():
            logs += ['--http-log', path]

        expected = self.assert_ok(
            self.openstack('image', 'list', '--long', '-f', 'json')
        )
        actual = self.assert_ok(
            self.openstack('imagex', 'list', '--long', '-f', 'json', *logs)
        )

        self.assertEqual(expected.out, actual.out)
        self.assertIn(
            HOSTILE_NAME, [i['Name'] for i in json.loads(actual.out)]
        )
        for ext in ('log', 'mmd', 'md'):
            content = self.read(paths[ext])
            self.assertNotIn('\x1b', content, ext)
            self.assertNotIn('\u202e', content, ext)
        for line in self.read(paths['mmd']).splitlines()[1:]:
            text = line.split(': ', 1)[-1] if '->>' in line else line
            self.assertNotIn('%%', text)
            self.assertNotRegex(text, r'#(?!\d+;)')
            self.assertNotRegex(text, r'[<>;]|\bend\b')
        with open(paths['har']) as stream:
            json.load(stream)

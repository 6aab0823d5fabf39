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

import json
import os
import re
import subprocess
import urllib.request

import jsonschema

from osc_imagex import redact
from osc_imagex.tests.functional import base

GLOBAL_ID = base.GLOBAL_ID
HAR_SCHEMA = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), 'unit', 'har-1.2.schema.json'
)
DEMO_IMAGES = (
    'cirros-0.5.2-x86_64-disk',
    'cirros-0.6.1-x86_64-disk',
    'trove-guest-ubuntu-focal',
)


class TestPlugin(base.FunctionalTestCase):
    def test_help_lists_the_commands(self):
        result = self.assert_ok(self.openstack('--help'))

        self.assertIn('imagex list', result.out)
        self.assertIn('imagex log convert', result.out)

    def test_completion_knows_the_commands(self):
        result = self.assert_ok(self.openstack('complete'))

        self.assertRegex(result.out, r'imagex_list=.*--http-log')
        self.assertRegex(result.out, r'imagex_log_convert=.*--format')

    def test_installs_beside_another_plugin_without_a_clash(self):
        # tox installs osc-placement into the functional environment.
        try:
            import osc_placement  # noqa: F401
        except ImportError:
            self.skipTest('osc-placement is not installed here')

        result = self.assert_ok(self.openstack('--help'))

        self.assertIn('resource provider list', result.out)
        self.assertIn('imagex list', result.out)
        self.assertNotIn('Failed to import plugin', result.err)
        self.assertNotIn('conflict', result.err.lower())


class TestSameOutputAsImageList(base.FunctionalTestCase):
    def assert_same_output(self, *options):
        expected = self.assert_ok(self.openstack('image', 'list', *options))
        actual = self.assert_ok(self.openstack('imagex', 'list', *options))

        self.assertEqual(expected.out, actual.out, options)

    def test_demo_images_are_listed(self):
        result = self.assert_ok(
            self.openstack(
                'imagex', 'list', '--all', '-f', 'value', '-c', 'Name'
            )
        )

        self.assertEqual(list(DEMO_IMAGES), result.out.split())

    def test_option_matrix(self):
        for options in (
            (),
            ('--all',),
            ('--long',),
            ('--public',),
            ('--private',),
            ('--shared',),
            ('--community',),
            ('--all', '--long', '--sort', 'name:desc'),
            ('--name', 'cirros-0.6.1-x86_64-disk'),
            ('--status', 'active', '--sort', 'status,name:desc'),
            ('--member-status', 'accepted', '--shared'),
            ('--project', 'admin', '--project-domain', 'Default'),
            ('--hidden',),
            ('--all', '--property', 'os_distro=cirros'),
            ('--all', '--tag', 'demo'),
        ):
            self.assert_same_output(*options)

    def test_every_output_format(self):
        for output_format in ('table', 'csv', 'json', 'yaml', 'value'):
            self.assert_same_output('--all', '--long', '-f', output_format)

    def test_column_selection(self):
        self.assert_same_output('--all', '-c', 'Name', '-c', 'Status')
        self.assert_same_output('--all', '--long', '--sort-column', 'Size')


class TestPartialListings(base.FunctionalTestCase):
    def test_limit_and_marker_follow_the_full_listing_through_ties(self):
        name = 'imagex-tie-%d' % os.getpid()
        for _ in range(4):
            created = json.loads(
                self.assert_ok(
                    self.openstack(
                        'image', 'create', name, '--private', '-f', 'json'
                    )
                ).out
            )
            self.addCleanup(self.openstack, 'image', 'delete', created['id'])

        def ids(*options):
            result = self.assert_ok(
                self.openstack(
                    'imagex',
                    'list',
                    '--name',
                    name,
                    '-f',
                    'value',
                    '-c',
                    'ID',
                    *options,
                )
            )
            return result.out.split()

        full = ids()
        self.assertEqual(4, len(full))
        self.assertEqual(full[:2], ids('--limit', '2'))
        self.assertEqual(full[2:], ids('--limit', '2', '--marker', full[1]))

    def test_paging_by_the_last_row_shown_sees_every_image_once(self):
        # "openstack image create" insists on a name; Glance does not.
        token = self.assert_ok(
            self.openstack('token', 'issue', '-f', 'value', '-c', 'id')
        ).out.strip()
        for name in (None, None, 'A-%d' % os.getpid(), 'Z-%d' % os.getpid()):
            request = urllib.request.Request(
                self.cloud['glance_url'] + '/v2/images',
                data=json.dumps(
                    {} if name is None else {'name': name}
                ).encode(),
                headers={
                    'X-Auth-Token': token,
                    'Content-Type': 'application/json',
                },
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                created = json.load(response)
            self.addCleanup(self.openstack, 'image', 'delete', created['id'])

        def ids(*options):
            return self.assert_ok(
                self.openstack(
                    'imagex', 'list', '-f', 'value', '-c', 'ID', *options
                )
            ).out.split()

        everything = ids()
        for sort in ('name:asc', 'name:desc'):
            seen = ids('--limit', '2', '--sort', sort)
            while True:
                page = ids(
                    '--limit', '2', '--sort', sort, '--marker', seen[-1]
                )
                if not page:
                    break
                seen += page

            self.assertEqual(sorted(everything), sorted(seen), sort)


class TestGlobalRequestId(base.FunctionalTestCase):
    def test_services_log_the_global_id_of_every_request(self):
        log = self.path('trace.jsonl')

        self.assert_ok(
            self.openstack(
                'imagex',
                'list',
                '--all',
                '--global-request-id',
                GLOBAL_ID,
                '--marker',
                DEMO_IMAGES[0],
                '--project',
                'admin',
                '--http-log',
                log,
            )
        )

        exchanges = self.exchanges(log)
        self.assertEqual(
            {GLOBAL_ID}, {e['global_request_id'] for e in exchanges}
        )
        for service in ('keystone', 'glance'):
            self.wait_for_server_log(service, lambda text: GLOBAL_ID in text)
        # Glance logs its own request ID beside ours for each call.
        for exchange in exchanges:
            if exchange['service'] == 'image' and exchange['request_id']:
                pair = re.compile(
                    re.escape(GLOBAL_ID)
                    + '.*'
                    + re.escape(exchange['request_id'])
                    + '|'
                    + re.escape(exchange['request_id'])
                    + '.*'
                    + re.escape(GLOBAL_ID)
                )
                self.wait_for_server_log('glance', pair.search)

    def test_summary_names_each_exchange_and_its_request_id(self):
        result = self.assert_ok(
            self.openstack(
                'imagex',
                'list',
                '--request-summary',
                '--global-request-id',
                GLOBAL_ID,
            )
        )

        lines = result.err.splitlines()
        self.assertEqual('Global request ID: %s' % GLOBAL_ID, lines[0])
        rows = [line.split() for line in lines[2:]]
        self.assertEqual(
            [
                ('identity', 'GET'),
                ('identity', 'POST'),
                ('image', 'GET'),
                ('image', 'GET'),
            ],
            [(row[1], row[2]) for row in rows],
        )
        self.assertEqual('201', rows[1][3])
        for row in rows:
            self.assertRegex(row[5], r'^req-[0-9a-f-]{36}$')


class TestHttpLog(base.FunctionalTestCase):
    def test_log_holds_discovery_token_and_image_exchanges(self):
        log = self.path('trace.jsonl')

        self.assert_ok(
            self.openstack('imagex', 'list', '--all', '--http-log', log)
        )

        exchanges = self.exchanges(log)
        self.assertEqual(
            [
                ('identity', 'GET', 200),
                ('identity', 'POST', 201),
                ('image', 'GET', 300),
                ('image', 'GET', 200),
            ],
            [(e['service'], e['method'], e['status']) for e in exchanges],
        )
        self.assertEqual(
            sorted(DEMO_IMAGES),
            sorted(
                i['name'] for i in exchanges[3]['response']['body']['images']
            ),
        )
        # The first exchange comes before the catalog names the service.
        self.assertEqual(
            [None, 'keystone', 'glance', 'glance'],
            [e['service_name'] for e in exchanges],
        )

    def test_har_of_a_real_run_is_valid_har_1_2(self):
        har = self.path('trace.har')

        self.assert_ok(
            self.openstack('imagex', 'list', '--all', '--http-log', har)
        )

        with open(har) as stream:
            document = json.load(stream)
        with open(HAR_SCHEMA) as stream:
            jsonschema.validate(document, json.load(stream))
        entries = document['log']['entries']
        self.assertEqual(
            [('GET', 200), ('POST', 201), ('GET', 300), ('GET', 200)],
            [
                (e['request']['method'], e['response']['status'])
                for e in entries
            ],
        )
        self.assertEqual(
            ['keystone', 'keystone', 'glance', 'glance'],
            [e['_serviceName'] for e in entries],
        )
        for entry in entries:
            timings = entry['timings']
            self.assertGreater(timings['wait'], 0)
            self.assertGreaterEqual(timings['receive'], 0)
            self.assertAlmostEqual(
                entry['time'], timings['wait'] + timings['receive'], 2
            )

    def test_password_and_token_reach_no_log_format(self):
        token = self.assert_ok(
            self.openstack('token', 'issue', '-f', 'value', '-c', 'id')
        ).out.strip()
        paths = [
            self.path('trace.' + ext)
            for ext in ('jsonl', 'log', 'har', 'mmd', 'md')
        ]
        logs = []
        for path in paths:
            logs += ['--http-log', path]

        self.assert_ok(self.openstack('imagex', 'list', '--all', *logs))
        token_auth = self.environment(
            OS_CLOUD=None,
            OS_CLIENT_CONFIG_FILE='/dev/null',
            OS_AUTH_TYPE='token',
            OS_AUTH_URL=self.cloud['auth_url'],
            OS_TOKEN=token,
            OS_PROJECT_NAME='admin',
            OS_PROJECT_DOMAIN_NAME='Default',
            OS_REGION_NAME='RegionOne',
        )
        self.assert_ok(
            self.openstack('imagex', 'list', '--all', *logs, env=token_auth)
        )

        for path in paths:
            content = self.read(path)
            self.assertNotIn(self.cloud['password'], content, path)
            self.assertNotIn(token, content, path)
        sent_tokens = {
            e['request']['headers'].get('X-Auth-Token')
            for e in self.exchanges(paths[0])
        }
        self.assertIn(redact.digest(token), sent_tokens)


class TestLogOnStandardError(base.FunctionalTestCase):
    def test_a_har_on_redirected_stderr_comes_before_the_summary(self):
        path = self.path('stderr.txt')
        with open(path, 'w') as stderr:
            completed = subprocess.run(
                [
                    base.OPENSTACK,
                    'imagex',
                    'list',
                    '--http-log',
                    '/dev/stderr',
                    '--http-log-format',
                    'har',
                    '--request-summary',
                ],
                env=self.environment(),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                timeout=300,
            )

        self.assertEqual(0, completed.returncode)
        self.assertEqual(['stderr.txt'], os.listdir(self.tmp))
        document, summary = self.read(path).split('Global request ID: ')
        entries = json.loads(document)['log']['entries']
        self.assertEqual(4, len(entries))
        self.assertEqual(6, summary.count('\n'))


class TestLogConvert(base.FunctionalTestCase):
    def test_offline_conversion_equals_what_the_run_wrote(self):
        direct = {
            ext: self.path('direct.' + ext)
            for ext in ('log', 'har', 'mmd', 'md')
        }
        log = self.path('trace.jsonl')
        logs = ['--http-log', log, '--http-log', log]
        for path in direct.values():
            logs += ['--http-log', path]
        self.assert_ok(self.openstack('imagex', 'list', *logs))
        # No cloud and no credentials from here on.
        offline = self.environment(OS_CLOUD=None, OS_CLIENT_CONFIG_FILE=None)

        self.assertEqual(
            ['run', 'exchange', 'exchange', 'exchange', 'exchange', 'output'],
            [r['record'] for r in self.read_jsonl(log)],
        )

        def convert(*options):
            return self.assert_ok(
                self.openstack(
                    'imagex', 'log', 'convert', log, *options, env=offline
                )
            )

        for ext, path in direct.items():
            converted = self.path('converted.' + ext)
            convert('-o', converted)
            self.assertEqual(self.read(path), self.read(converted), ext)
        to_stdout = convert('-o', '-', '--format', 'mermaid')
        self.assertEqual(self.read(direct['mmd']), to_stdout.out)


class TestFailures(base.FunctionalTestCase):
    def test_wrong_password_names_keystones_request_id(self):
        result, log = self.traced_list(
            global_options=('--os-password', 'wrong-password')
        )

        self.assert_refused(result, log, (401,))
        self.assertNotIn('wrong-password', self.read(log))

    def test_glance_down_is_a_one_line_error_with_the_global_id(self):
        self.stop_service('glance')

        result, log = self.traced_list()

        error = self.assert_failed(result)
        self.assertIn('failed: [Errno 111] Connection refused', error)
        exchanges = self.exchanges(log)
        self.assertEqual(201, exchanges[1]['status'])
        self.assertIsNone(exchanges[-1]['status'])
        self.assertIn('ConnectionError', exchanges[-1]['error'])

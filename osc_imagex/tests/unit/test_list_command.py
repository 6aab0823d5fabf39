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
import stat

import fixtures
import requests
import testtools

from osc_imagex import requestid
from osc_imagex.tests.unit import fakes

GLOBAL_ID = 'req-11111111-2222-4333-8444-555555555555'


class ImagexTestCase(testtools.TestCase):
    images = [fakes.make_image(n) for n in range(60)]

    def setUp(self):
        super().setUp()
        # Keep the user's own cloud configuration out of these runs.
        for name in list(os.environ):
            if name.startswith('OS_'):
                self.useFixture(fixtures.EnvironmentVariable(name))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.useFixture(
            fixtures.EnvironmentVariable('OS_CLIENT_CONFIG_FILE', '/dev/null')
        )
        self.cloud = self.useFixture(fakes.FakeCloud(self.images))

    def openstack(self, *argv):
        return fakes.run_openstack(fakes.AUTH_ARGS + list(argv))

    def assert_refused_before_any_request(self, options, message):
        status, out, err = self.openstack('imagex', 'list', *options)

        self.assertEqual(1, status)
        self.assertEqual(message, err.strip())
        self.assertEqual([], self.cloud.requests())

    def path(self, name):
        return os.path.join(self.tmp, name)

    def traced_list(self, *options):
        """imagex list with a JSON-lines log and GLOBAL_ID"""
        log = self.path('trace.jsonl')
        status, out, err = self.openstack(
            'imagex',
            'list',
            '--http-log',
            log,
            '--global-request-id',
            GLOBAL_ID,
            *options,
        )
        return status, out, err, log


class TestSameOutputAsImageList(ImagexTestCase):
    images = [
        fakes.make_image(n, name='img-%02d' % (n * 7 % 30), tags=['t%d' % n])
        for n in range(40)
    ] + [fakes.make_image(99, name=None, hw_arch='x86')]

    def assert_same_output(self, *options):
        expected = self.openstack('image', 'list', *options)
        actual = self.openstack('imagex', 'list', *options)

        self.assertEqual(0, expected[0], expected[2])
        self.assertEqual(expected, actual)

    def test_default_columns(self):
        self.assert_same_output()

    def test_long_listing(self):
        self.assert_same_output('--long')

    def test_every_output_format(self):
        for output_format in ('csv', 'json', 'yaml', 'value'):
            self.assert_same_output('--long', '-f', output_format)

    def test_column_selection_and_sorting(self):
        self.assert_same_output('-c', 'Name', '--sort', 'name:desc,id')
        self.assert_same_output('--sort-column', 'Status', '--long')

    def test_property_filter(self):
        self.assert_same_output('--property', 'hw_arch=x86')

    def test_full_listing_with_server_filters(self):
        self.assert_same_output('--all', '--status', 'active', '--hidden')

    def test_max_items_zero_means_no_limit(self):
        self.assert_same_output('--max-items', '0')


class TestRequestIds(ImagexTestCase):
    def test_every_request_carries_the_given_global_id(self):
        status, out, err = self.openstack(
            'imagex', 'list', '--global-request-id', GLOBAL_ID
        )

        self.assertEqual(0, status, err)
        sent = [
            (r.method, r.path, r.headers.get('X-OpenStack-Request-ID'))
            for r in self.cloud.requests()
        ]
        self.assertEqual(
            [
                ('GET', '/v3', GLOBAL_ID),
                ('POST', '/v3/auth/tokens', GLOBAL_ID),
                ('GET', '/', GLOBAL_ID),
                ('GET', '/v2/images', GLOBAL_ID),
            ],
            sent,
        )

    def test_a_new_global_id_is_generated_for_each_run(self):
        self.openstack('imagex', 'list')
        self.openstack('imagex', 'list')

        sent = {
            r.headers['X-OpenStack-Request-ID'] for r in self.cloud.requests()
        }
        self.assertEqual(2, len(sent))
        self.assertTrue(all(requestid.is_valid(value) for value in sent))

    def test_malformed_global_id_is_a_usage_error_before_any_request(self):
        status, out, err = self.openstack(
            'imagex', 'list', '--global-request-id', 'req-123'
        )

        self.assertEqual(2, status)
        # One line; the program name is the test runner's in-process.
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn(
            "imagex list: error: argument --global-request-id: invalid "
            "global request ID 'req-123': expected req- and a lower-case "
            "UUID, e.g. req-",
            err,
        )
        self.assertEqual([], self.cloud.requests())

    def test_summary_lists_each_exchange_after_the_listing(self):
        status, out, err = self.openstack(
            'imagex',
            'list',
            '--request-summary',
            '--page-size',
            '25',
            '--global-request-id',
            GLOBAL_ID,
        )

        self.assertEqual(0, status, err)
        lines = err.splitlines()
        self.assertEqual('Global request ID: %s' % GLOBAL_ID, lines[0])
        self.assertEqual(
            [
                '#',
                'service',
                'method',
                'status',
                'ms',
                'request',
                'ID',
                'path',
            ],
            lines[1].split(),
        )
        rows = [line.split() for line in lines[2:]]
        self.assertEqual(
            [
                ['1', 'identity', 'GET', '200'],
                ['2', 'identity', 'POST', '201'],
                ['3', 'image', 'GET', '300'],
                ['4', 'image', 'GET', '200'],
                ['5', 'image', 'GET', '200'],
                ['6', 'image', 'GET', '200'],
            ],
            [row[:4] for row in rows],
        )
        self.assertEqual('req-keystone-token', rows[1][5])
        self.assertEqual('/v2/images?limit=25', rows[3][6])

    def test_each_command_of_an_interactive_session_has_its_own_trace(self):
        status, out, err = fakes.run_openstack(
            fakes.AUTH_ARGS,
            stdin='imagex list --request-summary\n'
            'imagex list --request-summary\n',
        )

        summaries = err.split('Global request ID: ')[1:]
        self.assertEqual(2, len(summaries), err)
        # The second command reuses the first one's token.
        self.assertEqual(
            [
                [
                    ('identity', 'GET'),
                    ('identity', 'POST'),
                    ('image', 'GET'),
                    ('image', 'GET'),
                ],
                [('image', 'GET')],
            ],
            [
                [tuple(line.split()[1:3]) for line in summary.splitlines()[2:]]
                for summary in summaries
            ],
        )

    def test_summary_is_off_by_default(self):
        status, out, err = self.openstack('imagex', 'list')

        self.assertEqual(0, status)
        self.assertEqual('', err)


class TestPaging(ImagexTestCase):
    images = [fakes.make_image(n) for n in range(2000)]

    def image_requests(self):
        return [r for r in self.cloud.requests() if r.path == '/v2/images']

    def test_default_page_lists_2000_images_in_three_requests(self):
        status, out, err = self.openstack('imagex', 'list', '-f', 'value')

        self.assertEqual(0, status, err)
        self.assertEqual(2000, len(out.splitlines()))
        self.assertEqual(3, len(self.image_requests()))

    def test_page_size_is_honoured(self):
        status, out, err = self.openstack(
            'imagex', 'list', '-f', 'value', '--page-size', '500'
        )

        self.assertEqual(0, status, err)
        self.assertEqual(2000, len(out.splitlines()))
        self.assertEqual(5, len(self.image_requests()))

    def test_a_bad_sort_direction_is_refused_before_any_request(self):
        self.assert_refused_before_any_request(
            ['--sort', 'name:sideways'],
            "'sideways' is not a valid sort direction for sort key name, "
            "use 'asc' or 'desc' instead",
        )

    def test_page_size_must_be_positive(self):
        for value in ('0', '-5', 'ten'):
            status, out, err = self.openstack(
                'imagex', 'list', '--page-size', value
            )
            self.assertEqual(2, status, value)
            self.assertIn('expected a whole number of 1 or more', err)
        self.assertEqual([], self.cloud.requests())


class TestCorrectedRows(ImagexTestCase):
    # Glance lists newest first; these were created in reverse name order,
    # so its first page is the end of the list by name.
    images = [fakes.make_image(n, name='n-%02d' % (9 - n)) for n in range(10)]

    def names(self, *argv):
        status, out, err = self.openstack(*argv, '-f', 'value', '-c', 'Name')
        self.assertEqual(0, status, err)
        return out.split()

    def test_limit_returns_the_first_images_in_sort_order(self):
        self.assertEqual(
            ['n-00', 'n-01', 'n-02'],
            self.names('imagex', 'list', '--limit', '3'),
        )

    def test_image_list_sorts_only_glances_first_page(self):
        # The defect imagex corrects: image list takes Glance's first page
        # and only then sorts it by name.
        self.assertEqual(
            ['n-07', 'n-08', 'n-09'],
            self.names('image', 'list', '--limit', '3'),
        )

    def test_limit_and_marker_page_through_in_sort_order(self):
        first = self.names('imagex', 'list', '--limit', '4')
        marker = [i['id'] for i in self.images if i['name'] == first[-1]]

        second = self.names(
            'imagex', 'list', '--limit', '4', '--marker', marker[0]
        )

        self.assertEqual(['n-00', 'n-01', 'n-02', 'n-03'], first)
        self.assertEqual(['n-04', 'n-05', 'n-06', 'n-07'], second)

    def test_limit_with_max_items_returns_max_items(self):
        names = self.names(
            'imagex', 'list', '--limit', '2', '--max-items', '5'
        )

        self.assertEqual(['n-00', 'n-01', 'n-02', 'n-03', 'n-04'], names)

    def test_tied_rows_come_in_the_order_of_the_full_listing(self):
        # The fake sorts as Glance does, ties broken by the direction of
        # the only sort key unless told otherwise.
        self.cloud.images = [
            fakes.make_image(n, name='dup' if n < 4 else 'z-%d' % n)
            for n in range(8)
        ]
        full = self.ids('imagex', 'list')

        self.assertEqual(full, self.ids('image', 'list'))
        self.assertEqual(full[:3], self.ids('imagex', 'list', '--limit', '3'))
        rest = self.ids('imagex', 'list', '--limit', '3', '--marker', full[2])
        self.assertEqual(full[3:6], rest)

    def test_paging_by_the_last_row_shown_sees_every_image_once(self):
        # No name sorts first for Glance, as "None" for image list: after
        # "A-", before "Z-".
        self.cloud.images = [
            fakes.make_image(n, name=None if n % 3 == 0 else 'AZ'[n % 2])
            for n in range(10)
        ]
        everything = self.ids('imagex', 'list', '--limit', '100')
        for sort in ('name:asc', 'name:desc', 'size:desc,name:asc'):
            seen = self.ids('imagex', 'list', '--limit', '3', '--sort', sort)
            while True:
                page = self.ids(
                    'imagex',
                    'list',
                    '--limit',
                    '3',
                    '--sort',
                    sort,
                    '--marker',
                    seen[-1],
                )
                if not page:
                    break
                seen += page

            self.assertEqual(sorted(everything), sorted(seen), sort)
            self.assertEqual(len(everything), len(seen), sort)

    def ids(self, *argv):
        status, out, err = self.openstack(*argv, '-f', 'value', '-c', 'ID')
        self.assertEqual(0, status, err)
        return out.split()

    def test_full_listing_sends_no_sort(self):
        self.names('imagex', 'list')

        pages = [r for r in self.cloud.requests() if r.path == '/v2/images']
        self.assertNotIn('sort', pages[0].qs)


class TestHttpLog(ImagexTestCase):
    def test_jsonl_log_holds_every_exchange_in_order(self):
        log = self.path('trace.jsonl')

        status, out, err = self.openstack(
            'imagex',
            'list',
            '--http-log',
            log,
            '--page-size',
            '50',
            '--global-request-id',
            GLOBAL_ID,
        )

        self.assertEqual(0, status, err)
        records = fakes.read_jsonl(log)
        self.assertEqual(
            [
                'run',
                'exchange',
                'exchange',
                'exchange',
                'exchange',
                'exchange',
                'output',
            ],
            [r['record'] for r in records],
        )
        exchanges = records[1:-1]
        self.assertEqual([1, 2, 3, 4, 5], [r['seq'] for r in exchanges])
        self.assertEqual(
            [
                '/v3',
                '/v3/auth/tokens',
                '/',
                '/v2/images?limit=50',
                '/v2/images?marker=%s&limit=50' % self.images[49]['id'],
            ],
            [r['path'] for r in exchanges],
        )
        self.assertEqual(
            {GLOBAL_ID}, {r['global_request_id'] for r in records}
        )
        self.assertEqual('req-keystone-token', exchanges[1]['request_id'])
        for exchange in exchanges:
            # The body is read after the headers, within the exchange.
            self.assertGreaterEqual(exchange['receive_ms'], 0)
            self.assertLessEqual(
                exchange['receive_ms'], exchange['duration_ms']
            )
        self.assertEqual('keystone', exchanges[1]['service_name'])
        self.assertEqual('glance', exchanges[3]['service_name'])
        self.assertEqual(out, records[-1]['text'])

    def test_no_log_contains_the_password_or_the_token(self):
        paths = [
            self.path('t.' + ext)
            for ext in ('jsonl', 'log', 'har', 'mmd', 'md')
        ]
        argv = ['imagex', 'list']
        for path in paths:
            argv += ['--http-log', path]

        status, out, err = self.openstack(*argv)

        self.assertEqual(0, status, err)
        for path in paths:
            with open(path, encoding='utf-8') as stream:
                content = stream.read()
            self.assertNotIn(fakes.PASSWORD, content, path)
            self.assertNotIn(fakes.TOKEN, content, path)
            self.assertNotIn(json.dumps(fakes.PASSWORD)[1:-1], content)

    def test_log_files_are_private(self):
        log = self.path('trace.jsonl')
        with open(log, 'w'):
            pass
        os.chmod(log, 0o644)

        self.openstack('imagex', 'list', '--http-log', log)

        self.assertEqual(0o600, stat.S_IMODE(os.stat(log).st_mode))

    def test_unwritable_log_is_an_error_before_any_request(self):
        for path in (
            self.path('missing/x.jsonl'),
            self.tmp,
            self.path('missing/x.har'),
        ):
            status, out, err = self.openstack(
                'imagex', 'list', '--http-log', path
            )

            self.assertEqual(1, status, path)
            self.assertIn('cannot write HTTP log %s' % path, err)
            self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertEqual([], self.cloud.requests())

    def test_an_unwritable_log_leaves_no_new_earlier_one(self):
        kept = self.path('kept.jsonl')
        with open(kept, 'w') as stream:
            stream.write('')
        new = [self.path('new.jsonl'), self.path('new.har')]

        status, out, err = self.openstack(
            'imagex',
            'list',
            '--http-log',
            kept,
            '--http-log',
            new[0],
            '--http-log',
            new[1],
            '--http-log',
            self.path('missing/x.md'),
        )

        self.assertEqual(1, status, err)
        self.assertEqual(['kept.jsonl'], sorted(os.listdir(self.tmp)))

    def test_log_format_without_a_log_is_an_error(self):
        status, out, err = self.openstack(
            'imagex', 'list', '--http-log-format', 'har'
        )

        self.assertEqual(1, status)
        self.assertIn('--http-log-format applies to --http-log files', err)
        self.assertEqual([], self.cloud.requests())

    def test_dash_is_not_a_log_file_name(self):
        here = self.useFixture(fixtures.TempDir()).path
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(here)

        self.assert_refused_before_any_request(
            ['--http-log', '-'],
            '--http-log - would mix the log with the listing on standard '
            'output; give a file path, or /dev/stderr',
        )
        self.assertEqual([], os.listdir(here))

    def test_log_file_option_stays_with_osc(self):
        # OSC takes --log-file for its own log; --http-log is ours.
        osc_log = self.path('osc.log')
        http_log = self.path('http.jsonl')

        status, out, err = self.openstack(
            '--log-file', osc_log, 'imagex', 'list', '--http-log', http_log
        )

        self.assertEqual(0, status, err)
        self.assertTrue(os.path.exists(osc_log))
        self.assertEqual(
            4,
            len(
                [
                    r
                    for r in fakes.read_jsonl(http_log)
                    if r['record'] == 'exchange'
                ]
            ),
        )

    def test_format_option_overrides_the_extension(self):
        log = self.path('trace.out')

        self.openstack(
            'imagex', 'list', '--http-log', log, '--http-log-format', 'har'
        )

        with open(log) as stream:
            self.assertEqual('1.2', json.load(stream)['log']['version'])


class TestFailures(ImagexTestCase):
    def test_http_error_names_both_request_ids_and_is_logged(self):
        self.cloud.adapter.register_uri(
            'GET',
            fakes.GLANCE_URL + '/v2/images',
            status_code=500,
            json={'message': 'boom'},
            headers={'x-openstack-request-id': 'req-glance-failed'},
        )
        status, out, err, log = self.traced_list()

        self.assertEqual(1, status)
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn('global request ID %s' % GLOBAL_ID, err)
        self.assertIn('request ID req-glance-failed from image GET', err)
        self.assertNotIn('Traceback', err)
        records = fakes.read_jsonl(log)
        self.assertEqual(500, records[-2]['status'])
        self.assertEqual('error', records[-1]['record'])

    def test_summary_is_printed_before_the_error_too(self):
        self.cloud.adapter.register_uri(
            'GET',
            fakes.GLANCE_URL + '/v2/images',
            status_code=500,
            json={'message': 'boom'},
        )

        status, out, err = self.openstack(
            'imagex', 'list', '--request-summary'
        )

        self.assertEqual(1, status)
        lines = err.strip().splitlines()
        self.assertTrue(lines[0].startswith('Global request ID: req-'))
        self.assertEqual(['4', 'image', 'GET', '500'], lines[-2].split()[:4])
        self.assertIn('500', lines[-1])

    def test_connection_refused_names_the_global_id(self):
        self.cloud.adapter.register_uri(
            'GET',
            fakes.GLANCE_URL + '/v2/images',
            exc=requests.exceptions.ConnectionError('Connection refused'),
        )
        status, out, err, log = self.traced_list()

        self.assertEqual(1, status)
        self.assertIn('global request ID %s' % GLOBAL_ID, err)
        self.assertEqual(1, len(err.strip().splitlines()), err)
        failed = [
            r
            for r in fakes.read_jsonl(log)
            if r['record'] == 'exchange' and r['status'] is None
        ]
        self.assertEqual('/v2/images?limit=1000', failed[0]['path'])
        self.assertIn('Connection refused', failed[0]['error'])
        self.assertIsNone(failed[0]['receive_ms'])

    def test_failed_token_request_is_logged_with_its_request_id(self):
        self.cloud.adapter.register_uri(
            'POST',
            fakes.AUTH_URL + '/auth/tokens',
            status_code=401,
            json={'error': {'code': 401, 'message': 'nope'}},
            headers={'x-openstack-request-id': 'req-keystone-401'},
        )
        log = self.path('trace.jsonl')

        status, out, err = self.openstack('imagex', 'list', '--http-log', log)

        self.assertEqual(1, status)
        self.assertIn('request ID req-keystone-401', err)
        # Named once, beside the call it came from.
        self.assertEqual(1, err.count('req-keystone-401'), err)
        records = fakes.read_jsonl(log)
        self.assertEqual(
            [('GET', 200), ('POST', 401)],
            [
                (r['method'], r['status'])
                for r in records
                if r['record'] == 'exchange'
            ],
        )

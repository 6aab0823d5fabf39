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

import fixtures

from osc_imagex.tests.unit import fakes
from osc_imagex.tests.unit import test_list_command


class TestLogConvert(test_list_command.ImagexTestCase):
    def convert(self, *argv):
        # No credentials: conversion must not need a cloud.
        return fakes.run_openstack(['imagex', 'log', 'convert', *argv])

    def record_run(self, *extra_logs):
        log = self.path('trace.jsonl')
        argv = ['imagex', 'list', '--http-log', log]
        for path in extra_logs:
            argv += ['--http-log', path]
        status, out, err = self.openstack(*argv)
        self.assertEqual(0, status, err)
        return log

    def read(self, path):
        with open(path, encoding='utf-8') as stream:
            return stream.read()

    def test_conversion_equals_what_the_run_wrote_directly(self):
        direct = {
            ext: self.path('direct.' + ext)
            for ext in ('log', 'har', 'mmd', 'md')
        }
        log = self.record_run(*direct.values())
        requests_made = len(self.cloud.requests())

        for ext, path in direct.items():
            converted = self.path('converted.' + ext)
            status, out, err = self.convert(log, '-o', converted)

            self.assertEqual(0, status, err)
            self.assertEqual(self.read(path), self.read(converted), ext)
        self.assertEqual(requests_made, len(self.cloud.requests()))

    def test_standard_output_defaults_to_text(self):
        log = self.record_run()

        status, out, err = self.convert(log)

        self.assertEqual(0, status, err)
        self.assertIn('>>> [2] openstack -> keystone (identity): POST', out)

    def test_an_output_without_a_known_extension_gets_text(self):
        log = self.record_run()
        for name in ('converted', 'converted.out'):
            output = self.path(name)

            status, out, err = self.convert(log, '-o', output)

            self.assertEqual(0, status, err)
            self.assertTrue(self.read(output).startswith('#### openstack'))

    def test_dash_output_is_standard_output(self):
        log = self.record_run()
        here = self.useFixture(fixtures.TempDir()).path
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(here)

        status, out, err = self.convert(log, '-o', '-', '--format', 'mermaid')

        self.assertEqual(0, status, err)
        self.assertTrue(out.startswith('sequenceDiagram\n'))
        self.assertEqual([], os.listdir(here))

    def test_format_option_wins_over_the_output_extension(self):
        log = self.record_run()
        output = self.path('diagram.txt')

        status, out, err = self.convert(
            log, '--format', 'mermaid', '-o', output
        )

        self.assertEqual(0, status, err)
        self.assertTrue(self.read(output).startswith('sequenceDiagram\n'))

    def test_one_run_can_be_picked_from_a_shared_log(self):
        log = self.record_run()
        self.record_run()
        first_id = fakes.read_jsonl(log)[0]['global_request_id']

        status, out, err = self.convert(
            log, '--format', 'jsonl', '--global-request-id', first_id
        )

        self.assertEqual(0, status, err)
        self.assertEqual(6, len(out.splitlines()))

    def test_a_page_of_a_shared_log_shows_its_last_run(self):
        log = self.record_run()
        self.record_run()
        last_id = fakes.read_jsonl(log)[-1]['global_request_id']

        status, out, err = self.convert(log, '--format', 'markdown')

        self.assertEqual(0, status, err)
        self.assertEqual(1, out.count('## Request / Response'))
        self.assertIn(last_id, out)
        self.assertIn(
            'holds 2 runs; rendering the last one (%s)' % last_id, err
        )

    def test_corrupt_input_is_a_one_line_error_naming_the_line(self):
        log = self.record_run()
        with open(log, 'a') as stream:
            stream.write('{"record": "exchange", "seq"')

        status, out, err = self.convert(log, '--format', 'har')

        self.assertEqual(1, status)
        self.assertEqual(
            '%s:7: truncated or corrupt: not an osc-imagex JSON-lines log'
            % log,
            err.strip(),
        )

    def test_the_input_log_is_never_overwritten(self):
        log = self.record_run()
        before = self.read(log)

        status, out, err = self.convert(log, '--format', 'text', '-o', log)

        self.assertEqual(1, status)
        self.assertEqual(
            '%s is the log being converted; choose another --output' % log,
            err.strip(),
        )
        self.assertEqual(before, self.read(log))

    def test_a_record_of_the_wrong_shape_is_a_one_line_error(self):
        log = self.record_run()
        record = {
            'record': 'exchange',
            'global_request_id': 'req-x',
            'seq': 1,
            'started': 'x',
            'duration_ms': 'slow',
            'caller': 'c',
            'service': 's',
            'method': 'GET',
            'url': 'u',
            'path': 'p',
            'request': 5,
        }
        with open(log) as stream:
            lines = len(stream.readlines())
        with open(log, 'a') as stream:
            stream.write(json.dumps(record) + '\n')

        for format_name in ('text', 'har'):
            status, out, err = self.convert(log, '--format', format_name)

            self.assertEqual(1, status)
            self.assertEqual(1, len(err.strip().splitlines()), err)
            self.assertIn(
                '%s:%d: a record has an unexpected shape' % (log, lines + 1),
                err,
            )

    def test_unwritable_output_is_a_one_line_error(self):
        log = self.record_run()
        output = os.path.join(self.tmp, 'missing', 'out.har')

        status, out, err = self.convert(log, '-o', output)

        self.assertEqual(1, status)
        self.assertEqual(
            'cannot write HTTP log %s: No such file or directory' % output,
            err.strip(),
        )

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

import argparse

import testtools

from osc_imagex import requestid


class TestGlobalRequestId(testtools.TestCase):
    def test_generated_ids_have_the_form_oslo_middleware_accepts(self):
        value = requestid.generate()

        self.assertTrue(requestid.is_valid(value), value)

    def test_generated_ids_differ(self):
        self.assertNotEqual(requestid.generate(), requestid.generate())

    def test_valid_id_is_returned_unchanged(self):
        value = 'req-0123abcd-0123-4567-89ab-0123456789ab'

        self.assertEqual(value, requestid.parse_global_request_id(value))

    def test_malformed_ids_are_refused(self):
        for value in (
            '',
            'req-',
            '0123abcd-0123-4567-89ab-0123456789ab',
            'req-0123ABCD-0123-4567-89ab-0123456789ab',
            'req-0123abcd-0123-4567-89ab-0123456789ab\n',
            'req-0123abcd01234567-89ab-0123456789ab',
        ):
            self.assertRaises(
                argparse.ArgumentTypeError,
                requestid.parse_global_request_id,
                value,
            )


class TestLocalRequestId(testtools.TestCase):
    def test_openstack_header_is_found_in_any_case(self):
        headers = {'X-OpenStack-Request-Id': 'req-1'}

        self.assertEqual('req-1', requestid.local_request_id(headers))

    def test_compute_header_is_the_fallback(self):
        headers = {'X-Compute-Request-Id': 'req-2'}

        self.assertEqual('req-2', requestid.local_request_id(headers))

    def test_no_header_gives_none(self):
        self.assertIsNone(requestid.local_request_id({'A': 'b'}))
        self.assertIsNone(requestid.local_request_id(None))

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

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies
from openstack.image.v2 import image as sdk_image
from openstackclient.image.v2 import image as osc_image
from osc_lib.api import utils as api_utils
from osc_lib import utils
import testtools

from osc_imagex import listing
from osc_imagex.tests.unit import fakes

_LONG_COLUMNS = (
    'ID',
    'Name',
    'Disk Format',
    'Container Format',
    'Size',
    'Checksum',
    'Status',
    'visibility',
    'is_protected',
    'owner_id',
    'hash_algo',
    'hash_value',
    'tags',
)


def _sdk_image(raw):
    raw = dict(raw)
    raw.pop('self', None)
    return sdk_image.Image.existing(**raw)


def _cells(item):
    row = utils.get_item_properties(
        item, _LONG_COLUMNS, formatters=osc_image._formatters
    )
    return [
        cell.machine_readable() if hasattr(cell, 'machine_readable') else cell
        for cell in row
    ]


_RAW_IMAGES = strategies.fixed_dictionaries(
    {'id': strategies.uuids().map(str)},
    optional={
        'name': strategies.none() | strategies.text(max_size=12),
        'status': strategies.sampled_from(['active', 'queued']),
        'size': strategies.none() | strategies.integers(0, 2**40),
        'protected': strategies.booleans(),
        'owner': strategies.text(max_size=8),
        'tags': strategies.lists(strategies.text(max_size=5), max_size=3),
        'os_hash_algo': strategies.none() | strategies.just('sha512'),
        'visibility': strategies.sampled_from(['public', 'shared']),
        'os_distro': strategies.text(max_size=5),
    },
)


class TestImageRow(testtools.TestCase):
    @settings(max_examples=80, deadline=None)
    @given(raw=_RAW_IMAGES)
    def test_listing_columns_match_the_sdk_resource(self, raw):
        self.assertEqual(
            _cells(_sdk_image(raw)), _cells(listing.ImageRow(raw))
        )

    def test_every_fast_attribute_matches_the_sdk_resource(self):
        raw = fakes.make_image(7, tags=['b', 'a'], protected=True)
        row, image = listing.ImageRow(raw), _sdk_image(raw)

        for name in listing._FAST_ATTRIBUTES:
            self.assertEqual(getattr(image, name), getattr(row, name), name)
            self.assertEqual(image[name], row[name], name)

    def test_missing_tags_read_as_an_empty_list(self):
        raw = fakes.make_image(1)
        del raw['tags']

        self.assertEqual([], listing.ImageRow(raw).tags)

    def test_other_attributes_come_from_the_sdk_resource(self):
        raw = fakes.make_image(3, os_distro='cirros')

        row = listing.ImageRow(raw)

        self.assertEqual('cirros', row.os_distro)
        self.assertEqual(0, row.min_disk)
        self.assertEqual({'stores': 'file'}, row.properties)

    def test_property_filter_keeps_the_same_images(self):
        raws = [
            fakes.make_image(1, hw_arch='x86'),
            fakes.make_image(2, hw_arch='arm'),
            fakes.make_image(3),
        ]
        rows = [listing.ImageRow(raw) for raw in raws]
        images = [_sdk_image(raw) for raw in raws]

        for data in (rows, images):
            api_utils.simple_filter(
                data, attr='hw_arch', value='x86', property_field='properties'
            )

        self.assertEqual([i.id for i in images], [r.id for r in rows])
        self.assertEqual([raws[0]['id']], [r.id for r in rows])

    def test_sorting_matches_the_sdk_resource(self):
        raws = [
            fakes.make_image(n, name=name)
            for n, name in enumerate(['b', None, 'a', 'B'])
        ]
        for sort in ('name:asc', 'name:desc,id:asc', 'size:desc'):
            by_row = utils.sort_items(
                [listing.ImageRow(raw) for raw in raws], sort, str
            )
            by_sdk = utils.sort_items(
                [_sdk_image(raw) for raw in raws], sort, str
            )
            self.assertEqual(
                [i.id for i in by_sdk], [r.id for r in by_row], sort
            )


class TestServerSort(testtools.TestCase):
    def test_sortable_keys_are_passed_with_directions(self):
        self.assertEqual(
            'name:asc,created_at:desc,id:desc',
            listing.server_sort('name,created_at:desc'),
        )

    def test_ties_are_broken_newest_first_as_in_the_full_listing(self):
        self.assertEqual(
            'name:asc,created_at:desc,id:desc', listing.server_sort('name')
        )
        self.assertEqual(
            'created_at:asc,id:desc', listing.server_sort('created_at:asc')
        )

    def test_a_key_glance_cannot_sort_on_keeps_sorting_client_side(self):
        self.assertIsNone(listing.server_sort('name:asc,os_distro:asc'))

    def test_size_is_sent_although_osc_shows_it_sorted_as_text(self):
        self.assertEqual(
            'size:desc,created_at:desc,id:desc',
            listing.server_sort('size:desc'),
        )

    def test_a_property_keeps_sorting_client_side(self):
        self.assertIsNone(listing.server_sort('owner:asc'))


class _Response:
    def __init__(self, body):
        self._body = body
        self.status_code = 200
        self.headers = {}

    def json(self):
        return self._body


class _FakeProxy:
    """Serves pages the way FakeCloud does, recording each query"""

    def __init__(self, count):
        self.cloud = fakes.FakeCloud(
            [fakes.make_image(n) for n in range(count)]
        )
        self.queries = []

    def get(self, path, params):
        self.queries.append(dict(params))
        request = type('Request', (), {})()
        request.qs = {
            key: [str(value)] if not isinstance(value, list) else value
            for key, value in params.items()
        }
        return _Response(self.cloud._images_page(request, None))


class TestImagePager(testtools.TestCase):
    def _ids(self, pager, **query):
        return [row.id for row in pager.images(**query)]

    def test_full_listing_takes_one_request_per_thousand_images(self):
        proxy = _FakeProxy(2000)

        ids = self._ids(listing.ImagePager(proxy))

        self.assertEqual(2000, len(ids))
        self.assertEqual(3, len(proxy.queries))
        self.assertEqual(1000, proxy.queries[0]['limit'])

    def test_page_size_sets_the_limit_of_every_request(self):
        proxy = _FakeProxy(60)

        ids = self._ids(listing.ImagePager(proxy, page_size=25))

        self.assertEqual(60, len(ids))
        self.assertEqual([25, '25', '25'], [q['limit'] for q in proxy.queries])

    def test_limit_without_pagination_is_one_request(self):
        proxy = _FakeProxy(60)

        ids = self._ids(listing.ImagePager(proxy), limit=10, paginated=False)

        self.assertEqual(10, len(ids))
        self.assertEqual(1, len(proxy.queries))

    def test_max_items_stops_without_an_extra_request(self):
        proxy = _FakeProxy(60)

        ids = self._ids(listing.ImagePager(proxy, page_size=25), max_items=30)

        self.assertEqual(30, len(ids))
        self.assertEqual([25, 5], [int(q['limit']) for q in proxy.queries])

    def test_limit_with_max_items_pages_by_limit(self):
        proxy = _FakeProxy(60)
        pager = listing.ImagePager(proxy, page_through_limit=True)

        ids = self._ids(pager, limit=2, max_items=5, paginated=False)

        self.assertEqual(5, len(ids))
        self.assertEqual([2, 2, 1], [int(q['limit']) for q in proxy.queries])

    def test_filters_and_sort_are_sent_to_glance(self):
        proxy = _FakeProxy(3)
        pager = listing.ImagePager(proxy, sort='name:asc')

        self._ids(pager, visibility='all', tag=['a', 'b'], is_hidden=True)

        self.assertEqual(
            {
                'visibility': 'all',
                'tag': ['a', 'b'],
                'os_hidden': 'true',
                'sort': 'name:asc',
                'limit': 1000,
            },
            proxy.queries[0],
        )

    def test_unknown_query_argument_is_a_programming_error(self):
        pager = listing.ImagePager(_FakeProxy(1))

        self.assertRaises(TypeError, list, pager.images(colour='red'))

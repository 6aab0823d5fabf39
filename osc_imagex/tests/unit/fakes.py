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

"""A fake Keystone and Glance on requests-mock, for in-process runs."""

import datetime
import io
import json
import re
from unittest import mock
import uuid

import fixtures
import requests_mock

from openstackclient import shell
from osc_lib import clientmanager as osc_clientmanager

AUTH_URL = 'http://keystone.test:5000/v3'
GLANCE_URL = 'http://glance.test:9292'
PASSWORD = 'p@ss;word"#{secret}'
TOKEN = 'gAAAAA-fake-token-' + uuid.uuid4().hex

AUTH_ARGS = [
    '--os-auth-url',
    AUTH_URL,
    '--os-username',
    'admin',
    '--os-password',
    PASSWORD,
    '--os-project-name',
    'admin',
    '--os-user-domain-name',
    'Default',
    '--os-project-domain-name',
    'Default',
    '--os-identity-api-version',
    '3',
    '--os-region-name',
    'RegionOne',
]

CATALOG = [
    {
        'type': 'identity',
        'name': 'keystone',
        'id': 'c1',
        'endpoints': [
            {
                'interface': 'public',
                'region': 'RegionOne',
                'region_id': 'RegionOne',
                'url': AUTH_URL,
                'id': 'e1',
            },
        ],
    },
    {
        'type': 'image',
        'name': 'glance',
        'id': 'c2',
        'endpoints': [
            {
                'interface': 'public',
                'region': 'RegionOne',
                'region_id': 'RegionOne',
                'url': GLANCE_URL,
                'id': 'e2',
            },
        ],
    },
]


_EPOCH = datetime.datetime(2026, 1, 1)


def make_image(number, **overrides):
    # Newer as the number falls, so that Glance's default order (newest
    # first) is the order the images are made in.
    created = _EPOCH - datetime.timedelta(seconds=number)
    stamp = created.strftime('%Y-%m-%dT%H:%M:%SZ')
    image = {
        'id': str(uuid.UUID(int=number)),
        'name': 'image-%04d' % number,
        'status': 'active',
        'visibility': 'public',
        'protected': False,
        'os_hidden': False,
        'tags': [],
        'size': 1024 + number,
        'checksum': '%032x' % number,
        'os_hash_algo': 'sha512',
        'os_hash_value': '%0128x' % number,
        'owner': 'project-a',
        'container_format': 'bare',
        'disk_format': 'raw',
        'min_disk': 0,
        'min_ram': 0,
        'created_at': stamp,
        'updated_at': stamp,
        'virtual_size': None,
        'self': '/v2/images/%s' % number,
        'file': '/v2/images/%s/file' % number,
        'schema': '/v2/schemas/image',
        'stores': 'file',
    }
    image.update(overrides)
    return image


class FakeCloud(fixtures.Fixture):
    """Keystone and Glance answering like the real ones, in memory.

    Glance pages like the real one: ``limit`` (default 25, capped at
    ``api_limit_max``), ``marker``, and a ``next`` link on full pages.
    """

    def __init__(self, images=(), api_limit_max=1000):
        super().__init__()
        self.images = list(images)
        self.api_limit_max = api_limit_max

    def _setUp(self):
        self.adapter = requests_mock.Adapter()
        # keystoneauth mounts a fresh TCPKeepAliveAdapter on each session
        # it builds; handing it the mock instead keeps the real adapter
        # stack above it (the recorder included) exactly as in production.
        self.useFixture(
            fixtures.MockPatch(
                'keystoneauth1.session.TCPKeepAliveAdapter',
                lambda *args, **kwargs: self.adapter,
            )
        )
        self.adapter.register_uri(
            'GET',
            AUTH_URL,
            json={
                'version': {
                    'id': 'v3.14',
                    'status': 'stable',
                    'updated': '2020-04-07T00:00:00Z',
                    'links': [{'rel': 'self', 'href': AUTH_URL + '/'}],
                    'media-types': [
                        {
                            'base': 'application/json',
                            'type': (
                                'application/vnd.openstack.identity-v3+json'
                            ),
                        }
                    ],
                }
            },
            headers={'x-openstack-request-id': 'req-keystone-discovery'},
        )
        self.adapter.register_uri(
            'POST',
            AUTH_URL + '/auth/tokens',
            status_code=201,
            json=self._token_body(),
            headers={
                'X-Subject-Token': TOKEN,
                'x-openstack-request-id': 'req-keystone-token',
            },
        )
        self.adapter.register_uri(
            'GET',
            GLANCE_URL + '/',
            status_code=300,
            json={
                'versions': [
                    {
                        'id': 'v2.16',
                        'status': 'CURRENT',
                        'links': [
                            {'rel': 'self', 'href': GLANCE_URL + '/v2/'}
                        ],
                    }
                ]
            },
        )
        self.adapter.register_uri(
            'GET',
            GLANCE_URL + '/v2/images',
            json=self._images_page,
            headers={'x-openstack-request-id': 'req-glance-images'},
        )
        self.adapter.register_uri(
            'GET',
            re.compile(re.escape(GLANCE_URL) + '/v2/images/[^/?]+$'),
            json=self._image,
        )

    def _image(self, request, context):
        image_id = request.path.rsplit('/', 1)[-1]
        for image in self.images:
            if image['id'] == image_id:
                return image
        context.status_code = 404
        return {'message': 'No image found with ID %s' % image_id}

    @staticmethod
    def _token_body():
        return {
            'token': {
                'methods': ['password'],
                'expires_at': '2099-01-01T00:00:00.000000Z',
                'issued_at': '2026-01-01T00:00:00.000000Z',
                'user': {
                    'id': 'u1',
                    'name': 'admin',
                    'domain': {'id': 'default', 'name': 'Default'},
                },
                'project': {
                    'id': 'project-a',
                    'name': 'admin',
                    'domain': {'id': 'default', 'name': 'Default'},
                },
                'roles': [{'id': 'r1', 'name': 'admin'}],
                'catalog': CATALOG,
            }
        }

    def _images_page(self, request, context):
        query = request.qs
        limit = min(int(query.get('limit', ['25'])[0]), self.api_limit_max)
        images = self.images
        images = sorted_as_glance(images, query.get('sort', [''])[0])
        start = 0
        if 'marker' in query:
            ids = [image['id'] for image in images]
            start = ids.index(query['marker'][0]) + 1
        page = images[start : start + limit]
        body = {
            'images': page,
            'first': '/v2/images',
            'schema': '/v2/schemas/images',
        }
        if len(page) == limit:
            body['next'] = '/v2/images?marker=%s&limit=%d' % (
                page[-1]['id'],
                limit,
            )
            if 'sort' in query:
                body['next'] += '&sort=%s' % query['sort'][0]
        return body

    def requests(self):
        return self.adapter.request_history


def sorted_as_glance(images, sort):
    """Images in the order Glance gives for a ``sort`` parameter

    Glance sorts newest first by default and breaks ties by created_at,
    then id, in the direction of the only key given or else descending.
    """
    keys = [item.partition(':')[::2] for item in sort.split(',') if item]
    if not keys:
        keys = [('created_at', 'desc')]
    tie_direction = keys[0][1] if len(keys) == 1 else 'desc'
    given = {key for key, _ in keys}
    keys += [
        (k, tie_direction) for k in ('created_at', 'id') if k not in given
    ]
    # Stable sorts from the last key to the first.
    for key, direction in reversed(keys):
        images = sorted(
            images,
            key=lambda image, key=key: image.get(key) or '',
            reverse=direction == 'desc',
        )
    return images


def _forget_cached_clients():
    # osc-lib caches each plugin's client on the ClientManager class, so a
    # second shell in the same process would reuse the first one's.
    for value in vars(osc_clientmanager.ClientManager).values():
        if isinstance(value, osc_clientmanager.ClientCache):
            value._handle = None


def run_openstack(argv, stdin=''):
    """Run the real OSC shell in-process; returns (status, out, err)

    err holds both what the command wrote and what OSC logged to the
    console, which is where its error messages go.
    """
    _forget_cached_clients()
    out, err = io.StringIO(), io.StringIO()
    app = shell.OpenStackShell()
    app.stdin = io.StringIO(stdin)
    app.stdout = out
    app.stderr = err
    with mock.patch('sys.stderr', err):
        try:
            status = app.run(list(argv))
        except SystemExit as exit:
            # argparse exits on a usage error, as it does in the real CLI.
            status = exit.code
    return status, out.getvalue(), err.getvalue()


def read_jsonl(path):
    with open(path) as stream:
        return [json.loads(line) for line in stream]

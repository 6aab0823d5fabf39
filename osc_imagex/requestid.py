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

"""Global request IDs, in the form oslo.middleware accepts."""

import argparse
import re
import uuid

# Known shortcoming: the services' own calls (Glance validating the token
# with Keystone) do not carry it; the client never sees those calls.
HEADER = 'X-OpenStack-Request-ID'

# Services answer with their own (local) ID under one of these names; nova
# also sends the older compute-specific one.
RESPONSE_HEADERS = ('x-openstack-request-id', 'x-compute-request-id')

# oslo.middleware drops an inbound global ID that does not match this
# pattern exactly, without telling the caller, so we refuse it up front.
_GLOBAL_ID_PATTERN = re.compile(
    r'req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}'
)


def generate() -> str:
    return 'req-%s' % uuid.uuid4()


def is_valid(value: str) -> bool:
    return bool(_GLOBAL_ID_PATTERN.fullmatch(value))


def parse_global_request_id(value: str) -> str:
    """argparse type for --global-request-id"""
    if not is_valid(value):
        raise argparse.ArgumentTypeError(
            'invalid global request ID %r: expected req- and a lower-case '
            'UUID, e.g. %s' % (value, generate())
        )
    return value


def local_request_id(headers: 'dict[str, str] | None') -> 'str | None':
    """The service's own request ID from response headers, if any"""
    if not headers:
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in RESPONSE_HEADERS:
        if name in lowered:
            return lowered[name]
    return None

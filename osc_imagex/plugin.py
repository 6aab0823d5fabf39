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

"""OpenStackClient plugin module for osc-imagex.

OSC imports this module on every ``openstack`` run, so it imports nothing
beyond what OSC has already loaded.
"""

import argparse
from typing import Any

from osc_lib import utils

API_NAME = 'imagex'
API_VERSION_OPTION = 'os_imagex_api_version'
DEFAULT_API_VERSION = '2'
API_VERSIONS = ('2',)


def make_client(instance: Any) -> Any:
    """Return the image client: imagex talks to the Image service."""
    return instance.image


# OSC asks every plugin module for a global API version option, so
# "openstack --help" lists --os-imagex-api-version although only version 2
# exists. (Known shortcoming, as is this: Ctrl-C while OSC itself is still
# starting up, before any command runs, prints OSC's own traceback.)
def build_option_parser(
    parser: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """Add the global option that selects the imagex command set"""
    parser.add_argument(
        '--os-imagex-api-version',
        metavar='<imagex-api-version>',
        default=utils.env('OS_IMAGEX_API_VERSION'),
        help='imagex command set version, default=%s '
        '(Env: OS_IMAGEX_API_VERSION)' % DEFAULT_API_VERSION,
    )
    return parser

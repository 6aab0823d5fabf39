#!/usr/bin/env python3
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
"""Regenerate doc/source/examples/ from a real run on the local cloud.

Run with the python of a virtualenv that has OSC and osc-imagex, with the
local cloud up (tools/localcloud.py up) and holding only its demo images.
"""

import json
import os
import subprocess
import sys
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO, 'doc', 'source', 'examples')
CLOUD_DIR = os.environ.get('IMAGEX_CLOUD_DIR') or os.path.join(REPO, '.cloud')


def main():
    with open(os.path.join(CLOUD_DIR, 'cloud.json')) as stream:
        cloud = json.load(stream)
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env['OS_CLIENT_CONFIG_FILE'] = os.path.join(CLOUD_DIR, 'clouds.yaml')
    env['OS_CLOUD'] = 'imagex-local'
    global_id = 'req-%s' % uuid.uuid4()
    os.makedirs(EXAMPLES, exist_ok=True)
    logs = []
    for extension in ('jsonl', 'log', 'har', 'mmd', 'md'):
        path = os.path.join(EXAMPLES, 'imagex-list.' + extension)
        if os.path.exists(path):
            os.unlink(path)
        logs += ['--http-log', path]
    openstack = os.path.join(os.path.dirname(sys.executable), 'openstack')
    os.chdir(EXAMPLES)
    result = subprocess.run(
        [
            openstack,
            'imagex',
            'list',
            '--all',
            '--request-summary',
            '--global-request-id',
            global_id,
        ]
        + [os.path.basename(arg) if os.sep in arg else arg for arg in logs],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    with open('summary.txt', 'w') as stream:
        stream.write(result.stdout + result.stderr)
    for service in ('keystone', 'glance'):
        with open(cloud['logs'][service]) as stream:
            lines = [line for line in stream if global_id in line]
        with open(service + '-log.txt', 'w') as stream:
            stream.writelines(lines)
    for name in os.listdir('.'):
        os.chmod(name, 0o644)
    print('examples written to %s' % EXAMPLES)


if __name__ == '__main__':
    main()

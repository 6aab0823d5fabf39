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
"""The main job: list every image of a cloud with imagex, log it all.

Uses the cloud the environment names (OS_CLOUD or OS_AUTH_URL); with none,
starts the project's local Keystone and Glance (tools/localcloud.py) and
uses that. Writes the HTTP log of the run in every format under demo/.
"""

import argparse
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOUD_DIR = os.environ.get('IMAGEX_CLOUD_DIR') or os.path.join(REPO, '.cloud')
LOG_EXTENSIONS = ('jsonl', 'log', 'har', 'mmd', 'md')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        '--output-dir',
        default=os.path.join(REPO, 'demo'),
        help='where the HTTP logs go (default: demo/ in the repository)',
    )
    args = parser.parse_args()

    env = dict(os.environ)
    if not (env.get('OS_CLOUD') or env.get('OS_AUTH_URL')):
        print(
            'No cloud configured (OS_CLOUD, OS_AUTH_URL): starting the '
            'local one.',
            flush=True,
        )
        subprocess.run(
            [
                sys.executable,
                os.path.join(REPO, 'tools', 'localcloud.py'),
                'up',
            ],
            check=True,
        )
        env['OS_CLIENT_CONFIG_FILE'] = os.path.join(CLOUD_DIR, 'clouds.yaml')
        env['OS_CLOUD'] = 'imagex-local'

    os.makedirs(args.output_dir, exist_ok=True)
    logs = [
        os.path.join(args.output_dir, 'imagex-list.' + extension)
        for extension in LOG_EXTENSIONS
    ]
    # JSON lines and text logs are appended to; start them afresh so that
    # every file shows this run only.
    for path in logs:
        if os.path.exists(path):
            os.unlink(path)
    command = ['openstack', 'imagex', 'list', '--all', '--request-summary']
    for path in logs:
        command += ['--http-log', path]
    print('$ ' + ' '.join(command), flush=True)
    openstack = os.path.join(os.path.dirname(sys.executable), 'openstack')
    status = subprocess.run([openstack] + command[1:], env=env).returncode
    print('\nHTTP logs:\n' + '\n'.join('  ' + path for path in logs))
    if env.get('OS_CLOUD') == 'imagex-local':
        print(
            '\nThe local cloud is still running; stop it with '
            '"python3 tools/localcloud.py down".'
        )
    return status


if __name__ == '__main__':
    sys.exit(main())

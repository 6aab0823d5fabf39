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

"""Run the real ``openstack`` CLI against the local Keystone and Glance.

The cloud is started by ``tools/localcloud.py up`` (tox does it for the
functional environment) and described by ``cloud.json`` in its state
directory.
"""

import json
import os
import subprocess
import sys
import time

import fixtures
import testtools

REPO = os.path.dirname(
    os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    )
)
CLOUD_DIR = os.environ.get('IMAGEX_CLOUD_DIR', os.path.join(REPO, '.cloud'))
LOCALCLOUD = os.path.join(REPO, 'tools', 'localcloud.py')
OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')
CLOUD_NAME = 'imagex-local'
GLOBAL_ID = 'req-facade00-0000-4000-8000-000000000005'


def load_cloud():
    with open(os.path.join(CLOUD_DIR, 'cloud.json')) as stream:
        return json.load(stream)


class Result:
    def __init__(self, completed):
        self.status = completed.returncode
        self.out = completed.stdout
        self.err = completed.stderr

    def __repr__(self):
        return 'exit %s\nstdout:\n%s\nstderr:\n%s' % (
            self.status,
            self.out,
            self.err,
        )


class FunctionalTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.cloud = load_cloud()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def environment(self, **overrides):
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith('OS_')
        }
        env['OS_CLIENT_CONFIG_FILE'] = os.path.join(CLOUD_DIR, 'clouds.yaml')
        env['OS_CLOUD'] = CLOUD_NAME
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}

    def cloud_environment(self, **settings):
        """Environment for imagex-local with extra clouds.yaml settings"""
        import yaml

        with open(os.path.join(CLOUD_DIR, 'clouds.yaml')) as stream:
            clouds = yaml.safe_load(stream)
        clouds['clouds'][CLOUD_NAME].update(settings)
        path = self.path('clouds.yaml')
        with open(path, 'w') as stream:
            yaml.safe_dump(clouds, stream)
        return self.environment(OS_CLIENT_CONFIG_FILE=path)

    def openstack(self, *argv, env=None, timeout=300):
        completed = subprocess.run(
            [OPENSTACK, *argv],
            capture_output=True,
            text=True,
            env=env if env is not None else self.environment(),
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(completed)

    def traced_list(self, *options, global_options=(), env=None):
        """imagex list with a JSON-lines log and GLOBAL_ID; (result, log)"""
        log = self.path('trace.jsonl')
        result = self.openstack(
            *global_options,
            'imagex',
            'list',
            '--http-log',
            log,
            '--global-request-id',
            GLOBAL_ID,
            *options,
            env=env,
        )
        return result, log

    def assert_failed(self, result, lines=1):
        """Exit 1 and a last stderr line naming GLOBAL_ID; returns it

        :param lines: how many lines stderr must have (None: any)
        """
        self.assertEqual(1, result.status, result)
        err_lines = result.err.strip().splitlines()
        if lines is not None:
            self.assertEqual(lines, len(err_lines), result)
        self.assertNotIn('Traceback', result.err)
        self.assertIn('global request ID %s' % GLOBAL_ID, err_lines[-1])
        return err_lines[-1]

    def assert_refused(self, result, log, statuses):
        """The run failed on a response with one of ``statuses``

        The last exchange in the log is that response, and the error
        names its request ID besides GLOBAL_ID. Returns the exchange.
        """
        error = self.assert_failed(result)
        refused = self.exchanges(log)[-1]
        self.assertIn(refused['status'], statuses)
        self.assertIn('request ID %s' % refused['request_id'], error)
        self.assertEqual(1, error.count(refused['request_id']), error)
        return refused

    def assert_ok(self, result):
        self.assertEqual(0, result.status, result)
        return result

    def wait_for_server_log(self, service, predicate, timeout=30):
        """Wait until the service's log satisfies ``predicate``

        uWSGI writes a request's access-log line after the response has
        gone out, so the client can be done before the line is there.
        """
        path = self.cloud['%s_log' % service]
        deadline = time.monotonic() + timeout
        while True:
            text = self.read(path)
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                self.fail(
                    '%s log %s: nothing matching %r after %ss'
                    % (service, path, predicate, timeout)
                )
            time.sleep(0.2)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def read(self, path):
        with open(path, encoding='utf-8') as stream:
            return stream.read()

    def read_jsonl(self, path):
        with open(path, encoding='utf-8') as stream:
            return [json.loads(line) for line in stream]

    def exchanges(self, path):
        return [r for r in self.read_jsonl(path) if r['record'] == 'exchange']

    def localcloud(self, *argv):
        subprocess.run(
            [sys.executable, LOCALCLOUD, *argv],
            check=True,
            capture_output=True,
            timeout=300,
        )

    def stop_service(self, name):
        self.localcloud('stop-service', name)
        self.addCleanup(self.localcloud, 'start-service', name)

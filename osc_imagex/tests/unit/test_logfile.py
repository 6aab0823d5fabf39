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
import multiprocessing
import os
import signal
import stat

import fixtures
import testtools

from osc_imagex import export
from osc_imagex import logfile


def _record(seq, size=10):
    return {'record': 'exchange', 'seq': seq, 'padding': 'x' * size}


def _append_many(path, writer, count, size):
    log = logfile.StreamedLog(path, export.FORMATS['jsonl'].render_record)
    for seq in range(count):
        log.write(dict(_record(seq, size), writer=writer))
    log.close()


class TestStreamedLog(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.tmp, 'trace.jsonl')

    def test_new_file_is_created_private(self):
        logfile.HttpLog().open(self.path, None, 'test')

        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.path).st_mode))

    def test_existing_wider_permissions_are_narrowed(self):
        with open(self.path, 'w') as stream:
            stream.write('{"record": "run"}\n')
        os.chmod(self.path, 0o666)

        logfile.HttpLog().open(self.path, None, 'test')

        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.path).st_mode))

    def test_records_are_appended_after_earlier_runs(self):
        for seq in (1, 2):
            log = logfile.HttpLog()
            log.open(self.path, None, 'test')
            log.write(_record(seq))
            log.close()

        with open(self.path) as stream:
            seqs = [json.loads(line)['seq'] for line in stream]
        self.assertEqual([1, 2], seqs)

    def test_each_record_is_on_disk_as_soon_as_it_is_written(self):
        log = logfile.HttpLog()
        log.open(self.path, None, 'test')

        log.write(_record(1))

        with open(self.path) as stream:
            self.assertEqual(1, json.loads(stream.read())['seq'])
        log.close()

    def test_concurrent_writers_never_interleave_lines(self):
        # Records far larger than a pipe buffer, so only the lock keeps
        # them whole.
        workers = [
            multiprocessing.Process(
                target=_append_many, args=(self.path, name, 40, 200_000)
            )
            for name in ('a', 'b', 'c')
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

        with open(self.path) as stream:
            records = [json.loads(line) for line in stream]
        self.assertEqual(120, len(records))
        for name in ('a', 'b', 'c'):
            self.assertEqual(
                list(range(40)),
                [r['seq'] for r in records if r['writer'] == name],
            )

    def test_missing_directory_is_one_clear_error(self):
        path = os.path.join(self.tmp, 'nope', 'trace.jsonl')

        error = self.assertRaises(
            logfile.LogFileError, logfile.HttpLog().open, path, None, 'test'
        )

        self.assertEqual(
            'cannot write HTTP log %s: No such file or directory' % path,
            str(error),
        )

    def test_a_directory_is_refused(self):
        for name in ('jsonl', 'har'):
            error = self.assertRaises(
                logfile.LogFileError,
                logfile.HttpLog().open,
                self.tmp,
                name,
                'test',
            )
            self.assertIn('cannot write HTTP log %s' % self.tmp, str(error))


class TestSignalsHeld(testtools.TestCase):
    def test_sigterm_waits_until_the_writes_are_done(self):
        received = []
        previous = signal.signal(
            signal.SIGTERM, lambda signum, frame: received.append(signum)
        )
        self.addCleanup(signal.signal, signal.SIGTERM, previous)

        with logfile._signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            during = list(received)

        self.assertEqual([], during)
        self.assertEqual([signal.SIGTERM], received)


class TestDocumentLog(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.tmp, 'trace.har')

    def test_document_is_valid_from_the_moment_it_is_started(self):
        log = logfile.HttpLog()
        log.open(self.path, None, 'osc-imagex 1.0')
        self.assertFalse(os.path.exists(self.path))

        log.start()

        with open(self.path) as stream:
            self.assertEqual([], json.load(stream)['log']['entries'])

    def test_document_is_rewritten_whole_on_close(self):
        log = logfile.HttpLog()
        log.open(self.path, None, 'osc-imagex 1.0')
        log.write(
            {
                'record': 'exchange',
                'seq': 1,
                'started': '2026-01-01T00:00:00+00:00',
                'duration_ms': 2.5,
                'caller': 'openstack',
                'service': 'image',
                'service_name': 'glance',
                'method': 'GET',
                'url': 'http://h/v2/images',
                'path': '/v2/images',
                'status': 200,
                'reason': 'OK',
                'request': {'headers': {}, 'body': None},
                'response': {'headers': {}, 'body': None},
            }
        )
        log.close()

        with open(self.path) as stream:
            entries = json.load(stream)['log']['entries']
        self.assertEqual([1], [entry['_seq'] for entry in entries])
        self.assertEqual(['trace.har'], os.listdir(self.tmp))
        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.path).st_mode))


def _exchange(seq):
    return {'record': 'exchange', 'seq': seq}


class FakeClock:
    """Time that passes only when told to; rendering can be made slow"""

    def __init__(self):
        self.now = 100.0
        self.render_seconds = 0.0

    def __call__(self):
        return self.now

    def render(self, records, creator):
        self.now += self.render_seconds
        return json.dumps([r['seq'] for r in records if 'seq' in r])


class TestDocumentRefresh(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'trace.har'
        )
        self.clock = FakeClock()

    def open(self):
        document = logfile.DocumentLog(
            self.path, self.clock.render, 'test', clock=self.clock
        )
        document.start()
        return document

    def on_disk(self):
        with open(self.path) as stream:
            return json.load(stream)

    def test_a_cheap_document_is_current_after_every_exchange(self):
        document = self.open()
        for seq in (1, 2, 3):
            self.clock.now += 0.01
            document.write(_exchange(seq))

            self.assertEqual(list(range(1, seq + 1)), self.on_disk())

    def test_rewriting_takes_at_most_a_tenth_of_the_time(self):
        self.clock.render_seconds = 1.0
        document = self.open()

        self.clock.now += 5
        document.write(_exchange(1))
        self.assertEqual([], self.on_disk())

        self.clock.now += 5
        document.write(_exchange(2))
        self.assertEqual([1, 2], self.on_disk())

    def test_records_other_than_exchanges_wait_for_close(self):
        document = self.open()
        self.clock.now += 1
        document.write({'record': 'output', 'seq': 'output'})
        self.assertEqual([], self.on_disk())

        document.close()
        self.assertEqual(['output'], self.on_disk())

    def test_a_failed_refresh_is_reported_by_close(self):
        document = self.open()
        os.remove(self.path)
        os.rmdir(os.path.dirname(self.path))

        self.clock.now += 1
        document.write(_exchange(1))
        error = self.assertRaises(logfile.LogFileError, document.close)
        self.assertIn(self.path, str(error))


class TestHttpLogFiles(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def test_a_later_file_that_fails_leaves_an_earlier_one_as_it_was(self):
        kept = os.path.join(self.tmp, 'kept.har')
        with open(kept, 'w') as stream:
            stream.write('a HAR of an earlier run')
        log = logfile.HttpLog()
        log.open(kept, None, 'osc-imagex 1.0')

        self.assertRaises(
            logfile.LogFileError,
            log.open,
            os.path.join(self.tmp, 'missing', 'x.md'),
            None,
            'osc-imagex 1.0',
        )
        log.abandon()

        with open(kept) as stream:
            self.assertEqual('a HAR of an earlier run', stream.read())

    def test_a_file_given_twice_is_written_once(self):
        path = os.path.join(self.tmp, 'trace.jsonl')
        os.symlink(path, os.path.join(self.tmp, 'link.jsonl'))
        log = logfile.HttpLog()
        for name in ('trace.jsonl', 'trace.jsonl', 'link.jsonl'):
            log.open(os.path.join(self.tmp, name), None, 'osc-imagex 1.0')

        log.write({'record': 'output', 'text': 'x'})
        log.close()

        with open(path) as stream:
            self.assertEqual(1, len(stream.readlines()))

    def test_documents_take_names_up_to_the_file_system_limit(self):
        limit = os.pathconf(self.tmp, 'PC_NAME_MAX')
        for extension in ('.har', '.md', '.mmd', '.jsonl'):
            name = 'b' * (limit - len(extension)) + extension
            path = os.path.join(self.tmp, name)

            log = logfile.HttpLog()
            log.open(path, None, 'osc-imagex 1.0')
            log.close()

            self.assertTrue(os.path.isfile(path), extension)
        self.assertEqual(4, len(os.listdir(self.tmp)))


class TestSpecialFiles(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def null_device(self):
        path = os.path.join(self.tmp, 'null')
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            self.skipTest('creating a device node needs root')
        return path

    def test_a_device_is_written_to_not_replaced_or_narrowed(self):
        device = self.null_device()
        os.chmod(device, 0o666)
        for extension in ('jsonl', 'har'):
            log = logfile.HttpLog()
            log.open(device, extension, 'test')
            log.write({'record': 'output', 'text': 'listing'})
            log.close()

            mode = os.stat(device).st_mode
            self.assertTrue(stat.S_ISCHR(mode), extension)
            self.assertEqual(0o666, stat.S_IMODE(mode), extension)

    def open_stream_file(self):
        """A file opened as the shell opens one for 2>, and its /dev/fd"""
        path = os.path.join(self.tmp, 'stderr.txt')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.addCleanup(os.close, fd)
        return path, fd, '/dev/fd/%d' % fd

    def test_a_document_on_a_descriptor_is_written_once_after_the_rest(
        self,
    ):
        path, fd, descriptor_path = self.open_stream_file()
        log = logfile.HttpLog()
        log.open(descriptor_path, 'har', 'test')
        os.write(fd, b'before\n')
        log.write(
            {
                'record': 'exchange',
                'seq': 1,
                'started': 'x',
                'duration_ms': 1,
                'caller': 'c',
                'service': 's',
                'method': 'GET',
                'url': 'http://h/',
                'path': '/',
                'request': {'headers': {}},
                'response': None,
            }
        )
        log.close()
        os.write(fd, b'after\n')

        with open(path) as stream:
            before, document = stream.read().split('\n', 1)
        self.assertEqual('before', before)
        document, after = document.rsplit('}\n', 1)
        self.assertEqual(1, len(json.loads(document + '}')['log']['entries']))
        self.assertEqual('after\n', after)
        self.assertEqual(0o644, stat.S_IMODE(os.stat(path).st_mode))

    def test_records_on_a_descriptor_share_its_position(self):
        path, fd, descriptor_path = self.open_stream_file()
        log = logfile.HttpLog()
        log.open(descriptor_path, 'jsonl', 'test')

        os.write(fd, b'first\n')
        log.write({'record': 'output', 'text': 'listing'})
        os.write(fd, b'last\n')
        log.close()

        with open(path) as stream:
            lines = stream.read().splitlines()
        self.assertEqual('first', lines[0])
        self.assertEqual('output', json.loads(lines[1])['record'])
        self.assertEqual('last', lines[2])
        self.assertEqual(0o644, stat.S_IMODE(os.stat(path).st_mode))

    def test_a_symbolic_link_keeps_pointing_at_the_replaced_file(self):
        target = os.path.join(self.tmp, 'real.md')
        link = os.path.join(self.tmp, 'link.md')
        with open(target, 'w') as stream:
            stream.write('old')
        os.symlink(target, link)

        logfile.replace_file(link, 'new')

        self.assertTrue(os.path.islink(link))
        with open(target) as stream:
            self.assertEqual('new', stream.read())


class TestReadRecords(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def write(self, content):
        path = os.path.join(self.tmp, 'in.jsonl')
        with open(path, 'wb') as stream:
            stream.write(content)
        return path

    def assert_refused(self, content, message):
        path = self.write(content)
        error = self.assertRaises(
            logfile.LogReadError, logfile.read_records, path
        )
        self.assertEqual(message % {'path': path}, str(error))

    def test_truncated_last_line_names_file_and_line(self):
        self.assert_refused(
            b'{"record": "run"}\n{"record": "exch',
            '%(path)s:2: truncated or corrupt: not an osc-imagex JSON-lines '
            'log',
        )

    def test_corrupt_line_names_file_and_line(self):
        self.assert_refused(
            b'{"record": "run"}\nnot json\n{"record": "run"}\n',
            '%(path)s:2: not valid JSON: not an osc-imagex JSON-lines log',
        )

    def test_foreign_json_lines_are_refused(self):
        self.assert_refused(
            b'{"level": "info", "msg": "hello"}\n',
            '%(path)s:1: not an osc-imagex log record (no "record" field)',
        )

    def test_exchange_without_required_fields_is_refused(self):
        self.assert_refused(
            b'{"record": "exchange", "seq": 1}\n',
            '%(path)s:1: exchange record lacks global_request_id, started, '
            'duration_ms, caller, service, method, url, path, request',
        )

    def test_a_file_of_unknown_record_types_is_refused(self):
        self.assert_refused(
            b'{"record": "bogus"}\n{"record": "other"}\n',
            '%(path)s: no run, exchange, output or error records: not an '
            'osc-imagex log',
        )

    def test_empty_file_is_refused(self):
        self.assert_refused(b'', '%(path)s: no records: not an osc-imagex log')

    def test_binary_file_is_refused(self):
        self.assert_refused(
            b'\x89PNG\r\n\x1a\n\x00\x00',
            '%(path)s:1: not valid JSON: not an osc-imagex JSON-lines log',
        )

    def test_missing_file_is_one_clear_error(self):
        path = os.path.join(self.tmp, 'absent.jsonl')

        error = self.assertRaises(
            logfile.LogReadError, logfile.read_records, path
        )

        self.assertEqual(
            'cannot read %s: No such file or directory' % path, str(error)
        )

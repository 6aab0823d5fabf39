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

"""The one place that writes HTTP log files.

Files are created with mode 0600; an existing file with wider permissions
is narrowed to 0600 before anything is written to it, since it is about to
hold request details.

Streamed formats (JSON lines, text) are appended to, one whole record per
``write`` under an exclusive lock, so runs sharing a file never interleave
and an interrupted run keeps everything up to its last exchange. Document
formats (HAR, Mermaid, Markdown) are replaced atomically: once when the log
is opened (so the file is valid from the start) and again when it closes,
so a reader never sees a half-written document. Their records are kept in
memory until then.
"""

from collections.abc import Callable, Iterator
import contextlib
import fcntl
import json
import os
import re
import signal
import stat
import tempfile
import time
from typing import Any

from osc_imagex import export

_FILE_MODE = 0o600


class LogFileError(Exception):
    """A log file cannot be written; the message names it and why"""


def _describe(path: str, error: OSError) -> str:
    return 'cannot write HTTP log %s: %s' % (
        path,
        error.strerror or error,
    )


def _encode(text: str) -> bytes:
    # Server data may carry lone surrogates; keep them visible, not fatal.
    return text.encode('utf-8', 'backslashreplace')


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP back until the writes are done

    So a record reaches every log file or none, and a document is never
    left half replaced; the signal is acted on right after.
    """
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_STANDARD_STREAMS = {'/dev/stdin': 0, '/dev/stdout': 1, '/dev/stderr': 2}
_DESCRIPTOR_PATH = re.compile(r'/(?:dev|proc/self)/fd/([0-9]+)')


def _descriptor_named(path: str) -> int | None:
    """The open descriptor a path like /dev/stderr or /dev/fd/3 names

    Such a path is written through the descriptor itself: opened anew it
    would be a second handle on the file, writing over what the process
    writes there, and replaced it would lose it.
    """
    absolute = os.path.abspath(path)
    if absolute in _STANDARD_STREAMS:
        return _STANDARD_STREAMS[absolute]
    match = _DESCRIPTOR_PATH.fullmatch(absolute)
    if match is None:
        match = re.fullmatch(r'/proc/%d/fd/([0-9]+)' % os.getpid(), absolute)
    return int(match.group(1)) if match else None


def _written_in_place(path: str) -> bool:
    """Whether a document at ``path`` can only be written, not replaced"""
    if _descriptor_named(path) is not None:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class StreamedLog:
    def __init__(
        self, path: str, render_record: Callable[[dict[str, Any]], str]
    ) -> None:
        self.path = path
        self._render = render_record
        self.created = not os.path.lexists(path)
        descriptor = _descriptor_named(path)
        # Known shortcoming: opening a FIFO waits for its reader; Ctrl-C
        # then ends the run before its trace exists, without the one-line
        # message.
        try:
            if descriptor is not None:
                # The process's own stream: its mode is not the log's.
                self._fd = os.dup(descriptor)
            else:
                self._fd = os.open(
                    path,
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                    _FILE_MODE,
                )
            self.regular = stat.S_ISREG(os.fstat(self._fd).st_mode)
            # A device or a pipe is written to as it is; its mode is not
            # the log's to change either.
            if self.regular and descriptor is None:
                os.fchmod(self._fd, _FILE_MODE)
        except OSError as error:
            raise LogFileError(_describe(path, error)) from error

    def write(self, record: dict[str, Any]) -> None:
        data = _encode(self._render(record))
        if not data:
            return
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            _write_all(self._fd, data)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class DocumentLog:
    """A whole document (HAR, Mermaid, Markdown), replaced as it grows

    It is rewritten after an exchange when the last rewrite took at most
    ``REFRESH_SHARE`` of the time since, so that a process killed outright
    leaves the exchanges up to a moment ago while rewriting never costs a
    long run more than that share; and always on close. A stream (a pipe,
    a terminal, /dev/stderr) cannot be replaced: it gets the document once,
    on close.

    Known shortcoming: the records are held in memory for the whole run,
    so these formats grow with it (JSON lines stream), and a long run's
    file can lag a few exchanges behind until the end.
    """

    REFRESH_SHARE = 0.1

    def __init__(
        self,
        path: str,
        render_document: Callable[[list[dict[str, Any]], str], str],
        creator: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._render = render_document
        self.creator = creator
        self.records: list[dict[str, Any]] = []
        self._clock = clock
        self._replaced_at = 0.0
        self._replace_cost = 0.0
        self.in_place = _written_in_place(path)
        # Replaced files only: writing one ends soon (see _held_for).
        self.regular = not self.in_place
        self.created = not os.path.lexists(path)
        if not self.in_place:
            _check_replaceable(path)

    def start(self) -> None:
        """Replace the file by the empty document, once every log opened"""
        if not self.in_place:
            self._replace()

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if record.get('record') != 'exchange' or self.in_place:
            return
        since = self._clock() - self._replaced_at
        if self._replace_cost <= since * self.REFRESH_SHARE:
            try:
                self._replace()
            except LogFileError:
                # The request being recorded is no place to fail; close
                # tries again and reports it.
                pass

    def close(self) -> None:
        self._replace()

    def _replace(self) -> None:
        started = self._clock()
        replace_file(self.path, self._render(self.records, self.creator))
        self._replaced_at = self._clock()
        self._replace_cost = self._replaced_at - started


def _held_for(
    log_file: StreamedLog | DocumentLog,
) -> contextlib.AbstractContextManager[None]:
    """Signals held while a regular file is written, not a pipe or device

    Writing to a regular file ends soon; writing to a pipe, or opening
    one, waits for its reader, and a signal must still get through then.
    """
    return _signals_held() if log_file.regular else contextlib.nullcontext()


class HttpLog:
    """Every log file of one run, written together"""

    def __init__(self) -> None:
        self.files: list[StreamedLog | DocumentLog] = []

    def open(self, path: str, format_name: str | None, creator: str) -> None:
        """Open one more log file; a file given twice is written once"""
        if any(same_file(path, f.path) for f in self.files):
            return
        log_format = export.format_for(path, format_name)
        if log_format.render_record is not None:
            self.files.append(StreamedLog(path, log_format.render_record))
        elif log_format.render_document is not None:
            self.files.append(
                DocumentLog(path, log_format.render_document, creator)
            )

    def write(self, record: dict[str, Any]) -> None:
        for log_file in self.files:
            # A write to a pipe can wait on its reader for ever: a signal
            # must get through then, at the cost of a cut record there.
            with _held_for(log_file):
                log_file.write(record)

    def start(self) -> None:
        """Write the empty documents, once every file could be opened"""
        for log_file in self.files:
            if isinstance(log_file, DocumentLog):
                with _held_for(log_file):
                    log_file.start()

    def abandon(self) -> None:
        """Close every file, removing the ones this run created

        For a run that fails before it starts: a later log that cannot be
        written leaves no empty earlier one behind.
        """
        for log_file in self.files:
            if isinstance(log_file, StreamedLog):
                log_file.close()
            if log_file.created:
                with contextlib.suppress(OSError):
                    os.unlink(log_file.path)
        self.files = []

    def close(self) -> None:
        errors = []
        for log_file in self.files:
            try:
                with _held_for(log_file):
                    log_file.close()
            except LogFileError as error:
                errors.append(str(error))
        self.files = []
        if errors:
            raise LogFileError('; '.join(errors))


def _check_replaceable(path: str) -> None:
    """Fail as replace_file would, without touching the file"""
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise LogFileError(
            'cannot write HTTP log %s: it is a directory' % path
        )
    fd, temporary = _temporary_beside(path, target)
    os.close(fd)
    os.unlink(temporary)


def _temporary_beside(path: str, target: str) -> tuple[int, str]:
    """A new file in ``target``'s directory, to be renamed over it"""
    try:
        # Cut, so that a name near the length limit has room for the
        # temporary file's prefix and random part.
        return tempfile.mkstemp(
            dir=os.path.dirname(target),
            prefix='.%s.' % os.path.basename(target)[:64],
        )
    except OSError as error:
        raise LogFileError(_describe(path, error)) from error


def same_file(path: str, other: str) -> bool:
    """Whether two paths name one file, existing or to be created"""
    if os.path.realpath(path) == os.path.realpath(other):
        return True
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def replace_file(path: str, text: str) -> None:
    """Write a whole file atomically, mode 0600

    A symbolic link keeps pointing where it did: its target is replaced.
    A device or a pipe is written to in place, since replacing it would
    destroy it, and /dev/stderr and the like through the descriptor.
    """
    descriptor = _descriptor_named(path)
    if descriptor is not None:
        try:
            _write_all(descriptor, _encode(text))
        except OSError as error:
            raise LogFileError(_describe(path, error)) from error
        return
    target = os.path.realpath(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG
    except OSError as error:
        raise LogFileError(_describe(path, error)) from error
    if stat.S_ISDIR(mode):
        raise LogFileError(
            'cannot write HTTP log %s: it is a directory' % path
        )
    if not stat.S_ISREG(mode):
        _write_in_place(path, target, text)
        return

    fd, temporary = _temporary_beside(path, target)
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(_encode(text))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, target)
    except OSError as error:
        os.unlink(temporary)
        raise LogFileError(_describe(path, error)) from error


def _write_in_place(path: str, target: str, text: str) -> None:
    try:
        with open(target, 'wb') as stream:
            stream.write(_encode(text))
    except OSError as error:
        raise LogFileError(_describe(path, error)) from error


class LogReadError(Exception):
    """A JSON-lines log cannot be read; the message names file and line"""


_REQUIRED_EXCHANGE_KEYS = (
    'global_request_id',
    'seq',
    'started',
    'duration_ms',
    'caller',
    'service',
    'method',
    'url',
    'path',
    'request',
)


def read_records(path: str) -> list[dict[str, Any]]:
    """Load an osc-imagex JSON-lines log, refusing anything else"""
    return [record for _, record in read_numbered_records(path)]


def read_numbered_records(path: str) -> list[tuple[int, dict[str, Any]]]:
    """The records of a log, each with the number of its line"""
    records = []
    try:
        with open(path, 'rb') as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                records.append((number, _parse_line(path, number, line)))
    except OSError as error:
        raise LogReadError(
            'cannot read %s: %s' % (path, error.strerror or error)
        ) from error
    if not records:
        raise LogReadError('%s: no records: not an osc-imagex log' % path)
    # Record types a later version adds are passed over, but a log needs
    # some that this one knows.
    if not any(r['record'] in _KNOWN_RECORDS for _, r in records):
        raise LogReadError(
            '%s: no run, exchange, output or error records: not an '
            'osc-imagex log' % path
        )
    return records


_KNOWN_RECORDS = frozenset(('run', 'exchange', 'output', 'error'))


def _parse_line(path: str, number: int, line: bytes) -> Any:
    where = '%s:%d' % (path, number)
    try:
        record = json.loads(line)
    except ValueError:
        state = (
            'truncated or corrupt'
            if not line.endswith(b'\n')
            else ('not valid JSON')
        )
        raise LogReadError(
            '%s: %s: not an osc-imagex JSON-lines log' % (where, state)
        ) from None
    if not isinstance(record, dict) or 'record' not in record:
        raise LogReadError(
            '%s: not an osc-imagex log record (no "record" field)' % where
        )
    # A log whose last line is cut (copied while a run was writing it) is
    # refused like any other damage rather than converted in part: the
    # user is told which line, and can cut it off knowingly.
    if record.get('log_version', 1) != 1:
        raise LogReadError(
            '%s: log version %r is not supported'
            % (where, record.get('log_version'))
        )
    if record['record'] == 'exchange':
        missing = [key for key in _REQUIRED_EXCHANGE_KEYS if key not in record]
        if missing:
            raise LogReadError(
                '%s: exchange record lacks %s' % (where, ', '.join(missing))
            )
    return record

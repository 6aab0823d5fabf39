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

"""``openstack imagex list``: ``image list`` with request tracing."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import contextlib
import io
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from openstackclient.image.v2 import image as osc_image
from osc_lib import exceptions
from osc_lib import utils

from osc_imagex import export
from osc_imagex import requestid
from osc_imagex.v2 import helpformat

# OSC imports this module for every "openstack --help"; what only a run
# needs is imported when the command runs.
if TYPE_CHECKING:
    from osc_imagex import listing
    from osc_imagex import tracing

LOG = logging.getLogger(__name__)

_EPILOG = """\
examples:
  openstack imagex list --all --request-summary
  openstack imagex list --http-log trace.jsonl --http-log trace.har
  openstack imagex list --long --sort name:desc --limit 10
  openstack imagex log convert trace.jsonl --format markdown -o page.md

The global request ID (--global-request-id, or a new one for each run) is
sent as X-OpenStack-Request-ID with every request, authentication
included; services log it next to their own request IDs.
"""


# Images per request when neither --page-size nor --limit says otherwise:
# Glance's default cap (api_limit_max), so a large listing takes a few
# requests instead of one per 25 images.
DEFAULT_PAGE_SIZE = 1000

# keystoneauth's loggers that warn about failed version discovery.
_DISCOVERY_LOGGERS = (
    'keystoneauth.discover',
    'keystoneauth.identity.generic.base',
)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            'expected a whole number of 1 or more, got %r' % value
        )
    return number


class _TeeWriter(io.StringIO):
    """Passes output through to a stream while keeping a copy"""

    def __init__(self, stream: Any) -> None:
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text)
        return super().write(text)

    def flush(self) -> None:
        self._stream.flush()


# Signals whose default action ends the run: they are raised where the
# command is instead, so that the logs get closed first. (Ctrl-C arrives as
# KeyboardInterrupt already.) A signal ignored when the command starts, as
# nohup ignores SIGHUP, stays ignored.
_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """An ending signal, raised where the command is"""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# How long closing the logs may take after an ending signal. A log on a
# pipe whose reader has stopped reading would otherwise hold the exit up
# for ever, with the signals that could end it ignored.
CLOSING_SECONDS = 5


def _raise_terminated(signum: int, frame: Any) -> None:
    # Already on the way out: one more ending signal must neither cut the
    # closing of the logs short nor change the exit status, so they are
    # ignored from here until the process is gone, which is soon.
    for ending in _ENDING_SIGNALS:
        if signal.getsignal(ending) is _raise_terminated:
            signal.signal(ending, signal.SIG_IGN)

    def give_up(alarm: int, frame: Any) -> None:
        os._exit(128 + signum)

    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(CLOSING_SECONDS)
    raise Terminated(signum)


class ListImageX(osc_image.ListImage):
    """List images, with request IDs and an optional HTTP log"""

    # ListImage's own description would otherwise be the --help text.
    _description = __doc__

    _epilog = _EPILOG  # type: ignore[assignment]

    # Authentication happens in take_action instead of before it, once the
    # options are parsed, so that the token request carries the global
    # request ID and goes into the log like every other exchange.
    auth_required = False

    _trace: tracing.Trace | None = None
    # Whether every request of the listing is done (only output is left).
    _listing_done = False
    # The handlers in place before this command installed its own.
    _previous_handlers: dict[int, Any] | None = None

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        helpformat.keep_epilog_layout(parser)
        helpformat.one_line_usage_errors(parser)
        self._revive_page_size(parser)
        tracing_group = parser.add_argument_group('request tracing')
        tracing_group.add_argument(
            '--global-request-id',
            metavar='<req-uuid>',
            type=requestid.parse_global_request_id,
            help='Global request ID to send with every request, as '
            'req-<uuid4> (default: a new one for each run)',
        )
        tracing_group.add_argument(
            '--request-summary',
            action='store_true',
            default=False,
            help='After the listing, print each HTTP exchange (service, '
            'method, status, time, request ID) to stderr',
        )
        tracing_group.add_argument(
            '--http-log',
            metavar='<path>',
            action='append',
            default=[],
            help='Write every HTTP exchange, redacted, to <path>; the '
            'format follows the extension (.jsonl, .log/.txt, .har, .mmd, '
            '.md; anything else: JSON lines). Repeat for several files. '
            'Standard output carries the listing; /dev/stderr works.',
        )
        tracing_group.add_argument(
            '--http-log-format',
            metavar='<format>',
            choices=export.NAMES,
            help='Format of every --http-log file, overriding the '
            'extension: %s' % ', '.join(export.NAMES),
        )
        return parser

    @staticmethod
    def _revive_page_size(parser: argparse.ArgumentParser) -> None:
        # image list keeps --page-size hidden and ignores it; here it sets
        # how many images each request asks for.
        for action in parser._actions:
            if action.dest == 'page_size':
                action.type = _positive_int
                action.metavar = '<size>'
                action.help = (
                    'Images to request per page when --limit is not given '
                    '(default: %d; Glance caps it at its api_limit_max)'
                    % DEFAULT_PAGE_SIZE
                )

    def run(self, parsed_args: argparse.Namespace) -> int:
        """List, print, and close the logs however the command ends"""
        self._trace = None
        self._listing_done = False
        self._handle_ending_signals()
        try:
            return super().run(parsed_args)
        except Terminated as ended:
            # The ending signals stay ignored (see _raise_terminated).
            self._previous_handlers = None
            self._stop(parsed_args, 'terminated by %s' % ended)
            sys.exit(128 + ended.signum)
        except KeyboardInterrupt:
            # Known shortcoming: a second Ctrl-C while the logs are closed
            # ends the process by SIGINT with no message.
            self._stop(parsed_args, 'interrupted')
            raise
        except BrokenPipeError:
            # The reader went away (| head): cliff exits quietly with 141,
            # as it does for image list; the logs keep what was captured.
            if self._trace is not None:
                self._trace.finish(error_message='output pipe closed')
            # What is still buffered would fail again at exit, loudly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            raise
        except Exception as error:
            if self._trace is None:
                raise
            message = self._fail(parsed_args, error)
            LOG.debug('imagex list failed', exc_info=True)
            raise exceptions.CommandError(message) from error
        finally:
            self._restore_signals()

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        from osc_imagex import logfile
        from osc_imagex import tracing

        if parsed_args.http_log_format and not parsed_args.http_log:
            raise exceptions.CommandError(
                '--http-log-format applies to --http-log files; '
                'give one with --http-log <path>'
            )
        if parsed_args.sort:
            # image list finds a bad --sort only after listing everything;
            # OSC's own check, run on no rows, finds it before any request.
            utils.sort_items([], parsed_args.sort)
        if '-' in parsed_args.http_log:
            # Other tools read "-" as standard output, where the listing
            # goes; a file named "-" would surprise everyone.
            raise exceptions.CommandError(
                '--http-log - would mix the log with the listing on '
                'standard output; give a file path, or /dev/stderr'
            )
        trace = tracing.Trace(
            parsed_args.global_request_id or requestid.generate(),
            ['openstack'] + list(getattr(self.app, 'command_options', [])),
            dict(os.environ),
            # Parsed, not yet validated: the credentials the user gave.
            getattr(getattr(self.app, 'cloud', None), 'config', None),
        )
        try:
            trace.open_logs(parsed_args.http_log, parsed_args.http_log_format)
        except logfile.LogFileError as error:
            raise exceptions.CommandError(str(error)) from None
        self._trace = trace

        with self._quiet_discovery_warnings():
            self._authenticate(trace)
            with self._paging_image_client(parsed_args) as pager:
                requested_sort = parsed_args.sort
                if pager.sort:
                    # Glance has sorted this partial listing; shown in its
                    # order, its last row is the --marker that continues
                    # it with no gap or repeat. image list would sort the
                    # rows again as text ("None" for no name, sizes digit
                    # by digit), in an order Glance knows nothing of.
                    parsed_args.sort = None
                try:
                    columns, rows = super().take_action(parsed_args)
                    # Every request happens here, inside the trace, rather
                    # than later while cliff formats the rows.
                    listed = list(rows)
                finally:
                    parsed_args.sort = requested_sort
        self._listing_done = True
        return columns, listed

    def produce_output(
        self,
        parsed_args: argparse.Namespace,
        column_names: Any,
        data: Any,
    ) -> int:
        trace = self._trace
        if trace is None:
            raise RuntimeError('produce_output before take_action')
        stdout = self.app.stdout
        tee = _TeeWriter(stdout) if trace.logging else None
        if tee is not None:
            self.app.stdout = tee
        try:
            result = super().produce_output(parsed_args, column_names, data)
            # A reader that went away shows here, inside the command,
            # rather than at interpreter exit.
            stdout.flush()
        finally:
            self.app.stdout = stdout
        trace.finish(output=tee.getvalue() if tee is not None else None)
        if parsed_args.request_summary:
            stdout.flush()
            trace.write_summary(self.app.stderr)
        return result

    def _fail(
        self, parsed_args: argparse.Namespace, error: BaseException
    ) -> str:
        """Close the logs on a failure; the one-line message for the user"""
        trace = self._trace
        if trace is None:
            return str(error)
        # Once every request is done, a failure (writing the output) is
        # not the last exchange's doing: only the global ID is named.
        message = trace.failure_message(
            error, name_last_exchange=not self._listing_done
        )
        trace.finish(error_message=message)
        if parsed_args.request_summary:
            trace.write_summary(self.app.stderr)
        return message

    def _stop(self, parsed_args: argparse.Namespace, why: str) -> None:
        if self._trace is not None:
            message = self._fail(parsed_args, Exception(why))
            try:
                self.app.stderr.write(message + '\n')
            except OSError:
                # After SIGHUP the terminal may be gone; the logs, closed
                # by now, hold the message.
                pass

    @contextlib.contextmanager
    def _quiet_discovery_warnings(self) -> Iterator[None]:
        # When a service cannot be reached, keystoneauth warns about each
        # discovery attempt before the error that ends the command; the
        # error message names the failed exchange already, so the warnings
        # only turn one line into several. -v (or --debug) shows them.
        loggers = [logging.getLogger(name) for name in _DISCOVERY_LOGGERS]
        levels = [logger.level for logger in loggers]
        if getattr(self.app.options, 'verbose_level', 1) <= 1:
            for logger in loggers:
                logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)

    def _handle_ending_signals(self) -> None:
        if self._previous_handlers is not None:
            return
        previous: dict[int, Any] = {}
        try:
            for signum in _ENDING_SIGNALS:
                if signal.getsignal(signum) is signal.SIG_IGN:
                    continue
                previous[signum] = signal.signal(signum, _raise_terminated)
        except ValueError:
            # Not the main thread (an embedding application): leave the
            # signals alone; logs are then closed only on ordinary failures.
            return
        self._previous_handlers = previous

    def _restore_signals(self) -> None:
        if self._previous_handlers is not None:
            for signum, handler in self._previous_handlers.items():
                signal.signal(signum, handler)
            self._previous_handlers = None

    def _authenticate(self, trace: tracing.Trace) -> None:
        """Authenticate as OSC would, with the trace in place first"""
        client_manager = self.app.client_manager

        def observe() -> None:
            trace.observe(
                client_manager.session, client_manager.get_configuration()
            )

        setup_auth = client_manager.setup_auth

        def setup_auth_then_observe() -> None:
            setup_auth()
            observe()

        # osc-lib's prepare_to_run_command creates the session in
        # setup_auth() and requests the token straight after; slipping in
        # between is the only point where the session exists and no
        # request has been made yet.
        client_manager.setup_auth = setup_auth_then_observe  # type: ignore[method-assign]
        try:
            self.auth_required = True
            self.app.prepare_to_run_command(self)
        finally:
            del client_manager.setup_auth
        # In interactive mode the session outlives one command and the
        # hook above never fires; later exchanges are still observed, and
        # the catalog comes from the token the session already holds.
        observe()
        trace.learn_catalog(client_manager.auth_ref)

    @contextlib.contextmanager
    def _paging_image_client(
        self, parsed_args: argparse.Namespace
    ) -> Iterator[listing.ImagePager]:
        from osc_imagex import listing

        client_manager = self.app.client_manager
        limited = bool(
            parsed_args.limit
            or parsed_args.max_items is not None
            or parsed_args.marker
        )
        pager = listing.ImagePager(
            # Not client_manager.image: osc-lib caches that on the class,
            # where it can outlive this command's session.
            client_manager.sdk_connection.image,
            page_size=parsed_args.page_size or DEFAULT_PAGE_SIZE,
            # Only a partial listing needs Glance to sort: it decides which
            # images make the cut. A full listing is sorted client-side
            # exactly as image list sorts it.
            sort=listing.server_sort(parsed_args.sort) if limited else None,
            page_through_limit=bool(
                parsed_args.limit and parsed_args.max_items is not None
            ),
        )
        # ListImage reads its client from client_manager.image; an
        # instance attribute shadows OSC's cached client for this call.
        client_manager.image = pager  # type: ignore[assignment]
        try:
            yield pager
        finally:
            del client_manager.image

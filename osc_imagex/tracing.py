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

"""One run's request tracing: global ID, recorder, log files, summary."""

from collections.abc import Callable
import datetime
import re
from typing import Any, TextIO

from osc_imagex import capture
from osc_imagex import logfile
from osc_imagex import redact
from osc_imagex import requestid
from osc_imagex import services


def creator() -> str:
    # pbr's version lookup reads package metadata: do it only when a log
    # needs it, never at plugin import.
    from pbr import version  # type: ignore[import-untyped]

    return 'osc-imagex %s' % version.VersionInfo('osc-imagex').version_string()


_ERROR_CAUSE = re.compile(
    r'\[Errno -?\d+\] [^\'")]+|(?:Read|Connect)?\s*timed out'
)


_URLLIB3_DETAIL = re.compile(r': HTTPS?ConnectionPool\(.*$')


def _message_of(error: BaseException, scrub: Callable[[str], str]) -> str:
    # OSC raises some errors empty, chained to the one that says what
    # went wrong ("No Project found for x").
    cause: BaseException | None = error
    while cause is not None:
        # Scrubbed before the whitespace is folded: a secret with a tab or
        # two spaces in it would not be recognised after.
        message = ' '.join(scrub(str(cause)).split())
        if message:
            # urllib3's account of a failed connection repeats the URL and
            # buries the cause, which the message gets from the exchange.
            return _URLLIB3_DETAIL.sub('', message)
        cause = cause.__cause__ or cause.__context__
    return type(error).__name__


def _short_error(error: str) -> str:
    """The cause inside a requests/urllib3 error, without the wrapping"""
    match = _ERROR_CAUSE.search(error)
    if match:
        return match.group(0).strip()
    return error.split(':', 1)[0]


class Trace:
    """Correlates and records every HTTP exchange of one command run.

    :param global_request_id: sent as X-OpenStack-Request-ID everywhere
    :param command: the command line, as the user typed it
    :param environ: the process environment (only OS_* is kept)
    :param config: the cloud configuration as parsed so far; its secrets
        are scrubbed wherever they appear
    """

    def __init__(
        self,
        global_request_id: str,
        command: list[str],
        environ: dict[str, str],
        config: dict[str, Any] | None = None,
    ) -> None:
        self.global_request_id = global_request_id
        self.redactor = redact.Redactor()
        self.recorder = capture.Recorder(
            self.redactor, services.ServiceResolver()
        )
        self.http_log = logfile.HttpLog()
        self.recorder.add_listener(self.http_log.write)
        self._command = command
        self._environ = {
            name: value
            for name, value in environ.items()
            if name.startswith('OS_')
        }
        self._observed_session: Any = None
        self._finished = False
        # Masking the command line and environment teaches the redactor
        # the secrets given there, so they are scrubbed everywhere else.
        self.redactor.argv(self._command)
        self.redactor.environment(self._environ)
        self._learn_config_secrets(config or {})

    @property
    def logging(self) -> bool:
        return bool(self.http_log.files)

    def open_logs(self, paths: list[str], format_name: str | None) -> None:
        """Open every log file now, before any request is made"""
        if not paths:
            return
        creator_name = creator()
        try:
            for path in paths:
                self.http_log.open(path, format_name, creator_name)
            # Only now: a later file that cannot be opened leaves an
            # existing earlier one as it was.
            self.http_log.start()
        except logfile.LogFileError:
            self.http_log.abandon()
            raise
        self.http_log.write(self._run_record())

    def observe(self, session: Any, config: dict[str, Any]) -> None:
        """Send the global ID and record every exchange of this session

        :param session: the keystoneauth session the command will use
        :param config: the cloud's configuration; the secrets of its auth
            options are scrubbed from anything that echoes them
        """
        self._learn_config_secrets(config)
        auth_options = config.get('auth') or {}
        if session is self._observed_session:
            return
        resolver = services.ServiceResolver(auth_options.get('auth_url'))
        for name, value in config.items():
            # image_endpoint_override and the like bypass the catalog.
            if name.endswith('_endpoint_override') and value:
                service_type = name[: -len('_endpoint_override')]
                service_type = service_type.replace('_', '-')
                resolver.learn_endpoint(value, service_type, service_type)
        self.recorder.resolver = resolver
        session.additional_headers[requestid.HEADER] = self.global_request_id
        self.recorder.attach(session.session)
        self._observed_session = session

    def learn_catalog(self, auth_ref: Any) -> None:
        """Name services from a token obtained before this trace began"""
        catalog = getattr(
            getattr(auth_ref, 'service_catalog', None), 'catalog', None
        )
        if isinstance(catalog, list):
            self.recorder.resolver.learn_catalog(catalog)

    def _learn_config_secrets(self, config: dict[str, Any]) -> None:
        for name, value in (config.get('auth') or {}).items():
            if redact.is_secret_name(name):
                self.redactor.learn_secret(value)
            elif redact.is_token_name(name):
                self.redactor.learn_token(value)

    def _run_record(self) -> dict[str, Any]:
        # Scrubbed as a whole too: an option spelled in a way the argv
        # masking does not know still gives its value away to the config.
        return self.redactor.scrub(
            {
                'record': 'run',
                'log_version': capture.LOG_VERSION,
                'global_request_id': self.global_request_id,
                'started': datetime.datetime.now(
                    datetime.timezone.utc  # noqa: UP017
                ).isoformat(),
                'command': self.redactor.argv(self._command),
                'environment': self.redactor.environment(self._environ),
            }
        )

    def failure_message(
        self, error: BaseException, name_last_exchange: bool = True
    ) -> str:
        """One line naming what failed and the IDs support will ask for

        :param name_last_exchange: whether the last exchange had to do with
            the failure, so that its request ID belongs in the message
        """
        message = _message_of(error, self.redactor.scrub)
        details = []
        last = self.recorder.summaries[-1] if self.recorder.summaries else None
        if not name_last_exchange:
            last = None
        if last is not None and last.error:
            # Discovery hides a refused connection or a timeout behind a
            # vaguer message of its own; name the cause.
            details.append(
                '%s %s to %s failed: %s'
                % (
                    last.method,
                    last.path,
                    last.service,
                    _short_error(last.error),
                )
            )
        details.append('global request ID %s' % self.global_request_id)
        if last is not None and last.request_id:
            # keystoneauth's HTTP errors name it already, with less context.
            message = message.replace(
                ' (Request-ID: %s)' % last.request_id, ''
            )
            details.append(
                'request ID %s from %s %s %s'
                % (last.request_id, last.service, last.method, last.path)
            )
        return self.redactor.scrub('%s (%s)' % (message, '; '.join(details)))

    def finish(
        self, output: str | None = None, error_message: str | None = None
    ) -> None:
        """Write the closing records and close every log file, once"""
        if self._finished:
            return
        self._finished = True
        if output is not None:
            self.http_log.write(
                {
                    'record': 'output',
                    'global_request_id': self.global_request_id,
                    'text': self.redactor.scrub(output),
                }
            )
        if error_message is not None:
            self.http_log.write(
                {
                    'record': 'error',
                    'global_request_id': self.global_request_id,
                    'message': error_message,
                }
            )
        self.http_log.close()

    def write_summary(self, stream: TextIO) -> None:
        rows = [
            ('#', 'service', 'method', 'status', 'ms', 'request ID', 'path')
        ]
        for summary in self.recorder.summaries:
            rows.append(
                (
                    str(summary.seq),
                    summary.service,
                    summary.method,
                    str(summary.status) if summary.status else 'failed',
                    '%.0f' % summary.duration_ms,
                    summary.request_id or '-',
                    summary.path,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        stream.write('Global request ID: %s\n' % self.global_request_id)
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths)]
            stream.write('  '.join(cells + [row[6]]).rstrip() + '\n')

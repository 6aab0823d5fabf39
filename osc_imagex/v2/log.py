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

"""``openstack imagex log convert``: render a saved log, offline."""

import argparse
from typing import Any

from osc_lib.command import command
from osc_lib import exceptions

from osc_imagex import export
from osc_imagex.v2 import helpformat


_EPILOG = """\
examples:
  openstack imagex log convert trace.jsonl --format har -o trace.har
  openstack imagex log convert trace.jsonl -o flow.md
  openstack imagex log convert trace.jsonl --format mermaid

No cloud and no credentials are needed: the log already holds everything,
redacted when it was written.
"""


class ConvertLog(command.Command):
    """Render a JSON-lines HTTP log as text, HAR, Mermaid or Markdown"""

    _epilog = _EPILOG  # type: ignore[assignment]

    # No cloud needed. Known shortcoming: OS_CLOUD naming a cloud that
    # clouds.yaml lacks still fails in OSC's start-up, as for any command.
    auth_required = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        helpformat.keep_epilog_layout(parser)
        helpformat.one_line_usage_errors(parser)
        parser.add_argument(
            'log',
            metavar='<log>',
            help='JSON-lines log written by imagex list --http-log',
        )
        parser.add_argument(
            '--format',
            metavar='<format>',
            choices=export.NAMES,
            help='Output format: %s (default: from the --output '
            'extension if it names one, else text)' % ', '.join(export.NAMES),
        )
        parser.add_argument(
            '-o',
            '--output',
            metavar='<path>',
            help='Write to <path> (mode 0600) instead of standard output '
            '("-")',
        )
        parser.add_argument(
            '--global-request-id',
            metavar='<req-uuid>',
            help='Only the run with this global request ID, for a log '
            'that several runs appended to',
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        # Imported here: OSC imports this module for every --help.
        from osc_imagex import logfile
        from osc_imagex import tracing

        try:
            numbered = logfile.read_numbered_records(parsed_args.log)
        except logfile.LogReadError as error:
            raise exceptions.CommandError(str(error)) from None
        if parsed_args.global_request_id:
            numbered = [
                (number, record)
                for number, record in numbered
                if record.get('global_request_id')
                == parsed_args.global_request_id
            ]
            if not numbered:
                raise exceptions.CommandError(
                    '%s: no records with global request ID %s'
                    % (parsed_args.log, parsed_args.global_request_id)
                )

        # "-" is standard output, as for most tools that take a file.
        output = None if parsed_args.output == '-' else parsed_args.output
        if parsed_args.format:
            log_format = export.FORMATS[parsed_args.format]
        elif output:
            log_format = export.format_for(output, default='text')
        else:
            log_format = export.FORMATS['text']

        runs = list(
            dict.fromkeys(r.get('global_request_id') for _, r in numbered)
        )
        if len(runs) > 1 and log_format.name in _ONE_RUN_FORMATS:
            # A diagram or a page tells the story of one run.
            numbered = [
                (number, r)
                for number, r in numbered
                if r.get('global_request_id') == runs[-1]
            ]
            self.app.stderr.write(
                '%s holds %d runs; rendering the last one (%s); choose '
                'another with --global-request-id\n'
                % (parsed_args.log, len(runs), runs[-1])
            )
        records = [record for _, record in numbered]
        try:
            text = render(log_format, records, tracing.creator())
        except _SHAPE_ERRORS as error:
            # Each line parsed and named its record type, but a field is
            # missing or of the wrong type: a hand-edited or foreign log.
            raise exceptions.CommandError(
                '%s: a record has an unexpected shape (%s: %s); not a log '
                'this version of osc-imagex wrote'
                % (
                    _where(parsed_args.log, log_format, numbered),
                    type(error).__name__,
                    error,
                )
            ) from None

        if output:
            if logfile.same_file(parsed_args.log, output):
                raise exceptions.CommandError(
                    '%s is the log being converted; choose another --output'
                    % output
                )
            try:
                logfile.replace_file(output, text)
            except logfile.LogFileError as error:
                raise exceptions.CommandError(str(error)) from None
        else:
            self.app.stdout.write(text)


# Formats that show a single run; the others list every record.
_ONE_RUN_FORMATS = ('mermaid', 'markdown')


_SHAPE_ERRORS = (KeyError, TypeError, AttributeError, ValueError)


def _where(
    path: str,
    log_format: export.Format,
    numbered: list[tuple[int, dict[str, Any]]],
) -> str:
    """path:line of the first record that cannot be rendered on its own"""
    for number, record in numbered:
        try:
            render(log_format, [record], 'osc-imagex')
        except _SHAPE_ERRORS:
            return '%s:%d' % (path, number)
    return path


def render(
    log_format: export.Format, records: list[dict[str, Any]], creator: str
) -> str:
    if log_format.render_record is not None:
        return ''.join(log_format.render_record(r) for r in records)
    if log_format.render_document is None:
        raise exceptions.CommandError(
            'format %s renders nothing' % log_format.name
        )
    return log_format.render_document(records, creator)

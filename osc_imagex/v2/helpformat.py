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

"""Help text layout shared by the imagex commands."""

import argparse
from typing import NoReturn

from cliff import _argparse


class ExampleFormatter(_argparse.SmartHelpFormatter):
    """Keeps the epilog's line breaks, so examples stay one per line"""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return '\n'.join(indent + line for line in text.splitlines())


def keep_epilog_layout(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = ExampleFormatter


def one_line_usage_errors(parser: argparse.ArgumentParser) -> None:
    """Report a bad option in one line, without the usage block

    The usage block (a dozen lines for imagex list) buries the one line
    that says what is wrong; --help still shows it.
    """

    def error(message: str) -> NoReturn:
        parser.exit(2, '%s: error: %s\n' % (parser.prog, message))

    parser.error = error  # type: ignore[method-assign]

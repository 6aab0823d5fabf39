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

"""The HTTP log formats.

Streamed formats turn one record into text that is appended as soon as the
exchange completes. Document formats are rendered whole from all records.
Each is a pure function in the module named after the format;
:mod:`osc_imagex.logfile` does the writing.

A format's module is imported the first time it is used: OSC imports the
command modules, and so this package, for every ``openstack --help``.
"""

import functools
import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple


class Format(NamedTuple):
    name: str
    render_record: Callable[[dict[str, Any]], str] | None = None
    render_document: Callable[[list[dict[str, Any]], str], str] | None = None


NAMES = ('har', 'jsonl', 'markdown', 'mermaid', 'text')


@functools.cache
def _load(name: str) -> Format:
    module = importlib.import_module('osc_imagex.export.' + name)
    return Format(
        name,
        render_record=getattr(module, 'render_record', None),
        render_document=getattr(module, 'render_document', None),
    )


class _Formats(Mapping[str, Format]):
    def __getitem__(self, name: str) -> Format:
        if name not in NAMES:
            raise KeyError(name)
        return _load(name)

    def __iter__(self) -> Iterator[str]:
        return iter(NAMES)

    def __len__(self) -> int:
        return len(NAMES)


FORMATS: Mapping[str, Format] = _Formats()

EXTENSIONS = {
    '.jsonl': 'jsonl',
    '.ndjson': 'jsonl',
    '.log': 'text',
    '.txt': 'text',
    '.har': 'har',
    '.mmd': 'mermaid',
    '.mermaid': 'mermaid',
    '.md': 'markdown',
    '.markdown': 'markdown',
}

DEFAULT_FORMAT = 'jsonl'


def format_for(
    path: str, requested: str | None = None, default: str = DEFAULT_FORMAT
) -> Format:
    """The format asked for, else the one the file name suggests"""
    if requested:
        return FORMATS[requested]
    extension = os.path.splitext(path)[1].lower()
    return FORMATS[EXTENSIONS.get(extension, default)]

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
Each is a pure function; :mod:`osc_imagex.logfile` does the writing.
"""

import os
from collections.abc import Callable
from typing import Any, NamedTuple

from osc_imagex.export import har
from osc_imagex.export import jsonl
from osc_imagex.export import markdown
from osc_imagex.export import mermaid
from osc_imagex.export import text


class Format(NamedTuple):
    name: str
    render_record: Callable[[dict[str, Any]], str] | None = None
    render_document: Callable[[list[dict[str, Any]], str], str] | None = None


FORMATS = {
    'jsonl': Format('jsonl', render_record=jsonl.render_record),
    'text': Format('text', render_record=text.render_record),
    'har': Format('har', render_document=har.render_document),
    'mermaid': Format('mermaid', render_document=mermaid.render_document),
    'markdown': Format('markdown', render_document=markdown.render_document),
}

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


def format_for(path: str, requested: str | None = None) -> Format:
    """The format asked for, else the one the file name suggests"""
    if requested:
        return FORMATS[requested]
    extension = os.path.splitext(path)[1].lower()
    return FORMATS[EXTENSIONS.get(extension, DEFAULT_FORMAT)]

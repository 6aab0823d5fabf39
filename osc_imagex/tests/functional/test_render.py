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

"""Render the diagrams and pages as their readers' tools do.

Mermaid (the npm package pinned in tools/render, the major version MkDocs
Material loads) runs in Debian's headless Chromium through
tools/render/mermaid.html; the Markdown page goes through Python-Markdown
with the extensions MkDocs Material's documentation sets up.
tools/install-render-deps.sh installs both tools; without them these
tests skip, unless IMAGEX_REQUIRE_RENDER=1 (CI), where they fail.
"""

import html
from html import parser
import json
import os
import pathlib
import re
import subprocess
import time
from urllib import parse

import fixtures
import markdown
from pymdownx import superfences
import testtools
from testtools import content

from osc_imagex.export import common
from osc_imagex.export import markdown as markdown_export
from osc_imagex.export import mermaid
from osc_imagex.tests.functional import base
from osc_imagex.tests.unit import records

CHROMIUM = '/usr/bin/chromium'
RENDER_DIR = os.path.join(base.REPO, 'tools', 'render')
RENDER_PAGE = os.path.join(RENDER_DIR, 'mermaid.html')
MERMAID_JS = os.path.join(
    RENDER_DIR, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js'
)
_RESULT = re.compile(r'<pre id="result">(.*?)</pre>', re.DOTALL)

# As MkDocs Material's documentation configures them for code blocks,
# content tabs, admonitions and diagrams (pymdownx.snippets left out: it
# reads files, see the note in assert_page).
MARKDOWN_EXTENSIONS = [
    'admonition',
    'attr_list',
    'md_in_html',
    'toc',
    'pymdownx.details',
    'pymdownx.highlight',
    'pymdownx.inlinehilite',
    'pymdownx.superfences',
    'pymdownx.tabbed',
]
MARKDOWN_CONFIG = {
    'toc': {'permalink': True},
    'pymdownx.highlight': {
        'anchor_linenums': True,
        'line_spans': '__span',
        'pygments_lang_class': True,
    },
    'pymdownx.superfences': {
        'custom_fences': [
            {
                'name': 'mermaid',
                'class': 'mermaid',
                'format': superfences.fence_code_format,
            }
        ]
    },
    'pymdownx.tabbed': {'alternate_style': True},
}
# What those extensions make of the page; anything else came from data.
ALLOWED_TAGS = frozenset(
    'a blockquote br code details div em h1 h2 h3 h4 h5 h6 hr input label '
    'li ol p pre span strong summary sup table tbody td th thead tr '
    'ul'.split()
)
_URL_ATTRIBUTES = frozenset(
    'action formaction href poster src srcdoc srcset xlink:href'.split()
)
_SAFE_LINK = re.compile(r'#|https://docs\.openstack\.org/')


def _require_tools(test):
    missing = [
        path for path in (CHROMIUM, MERMAID_JS) if not os.path.exists(path)
    ]
    if not missing:
        return
    message = 'rendering tools missing: %s (run tools/install-render-deps.sh)'
    if os.environ.get('IMAGEX_REQUIRE_RENDER') == '1':
        test.fail(message % ', '.join(missing) + '; IMAGEX_REQUIRE_RENDER=1')
    test.skipTest(message % ', '.join(missing))


def render_mermaid(test, source):
    """What tools/render/mermaid.html reports for the diagram source

    A dict: status 'ok' with messageTexts, messages and actors, or
    status 'error' with error, the message mermaid gave.
    """
    workdir = test.useFixture(fixtures.TempDir()).path
    diagram = pathlib.Path(workdir, 'diagram.mmd')
    diagram.write_text(source, encoding='utf-8')
    url = '%s?%s' % (
        pathlib.Path(RENDER_PAGE).as_uri(),
        parse.urlencode({'diagram': diagram.as_uri()}),
    )
    started = time.monotonic()
    completed = subprocess.run(
        [
            CHROMIUM,
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--user-data-dir=' + os.path.join(workdir, 'profile'),
            # The page reads the diagram file with an XMLHttpRequest.
            '--allow-file-access-from-files',
            # Virtual time only runs while the page is idle, so the dump
            # waits for the asynchronous render, however slow the machine.
            '--virtual-time-budget=15000',
            '--dump-dom',
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    test.addDetail(
        'chromium-seconds',
        content.text_content('%.2f' % (time.monotonic() - started)),
    )
    test.assertEqual(0, completed.returncode, completed.stderr[-2000:])
    match = _RESULT.search(completed.stdout)
    test.assertIsNotNone(match, completed.stdout[-2000:])
    outcome = json.loads(html.unescape(match.group(1)))
    test.assertNotEqual('pending', outcome['status'], 'render never ended')
    return outcome


def expected_messages(record_set):
    """Each arrow's text as the reader must see it: two per exchange"""
    messages = []
    for record in common.exchanges(record_set):
        messages.append(
            common.one_line('%s %s' % (record['method'], record['path']))
        )
        messages.append(common.one_line(common.status_line(record)))
    return messages


def expected_actors(record_set):
    named = common.exchanges(common.name_services(record_set))
    return sorted(
        {'openstack'} | {common.one_line(common.participant(r)) for r in named}
    )


def expected_tab_blocks(record_set):
    """The code blocks of the exchanges' tabs as the page means them"""
    blocks = []
    for record in common.exchanges(record_set):
        parts = [(markdown_export._request_text(record), record['request'])]
        if record.get('response') is not None:
            parts.append(
                (markdown_export._response_head(record), record['response'])
            )
        for head, part in parts:
            blocks.append(head)
            if common.body_text(part):
                blocks.append(common.printable(common.body_text(part)))
    # Pygments drops a block's leading and trailing newlines.
    return [block.strip('\n') for block in blocks]


def render_markdown(page):
    return markdown.markdown(
        page,
        extensions=MARKDOWN_EXTENSIONS,
        extension_configs=MARKDOWN_CONFIG,
    )


class PageStructure(parser.HTMLParser):
    """The parts of a rendered page the tests look at

    Text is collected with entities decoded, as a browser shows it.
    """

    _COLLECTED = ('h1', 'h2', 'h3', 'label', 'summary', 'p', 'pre')

    def __init__(self, page_html):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.others = []
        self.tab_sets = []
        self.texts = {tag: [] for tag in self._COLLECTED}
        self.mermaid_blocks = []
        self._open = []
        self.feed(page_html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        classes = (dict(attrs).get('class') or '').split()
        if tag == 'div' and 'tabbed-set' in classes:
            self.tab_sets.append([])
        if tag in self._COLLECTED or 'mermaid' in classes:
            self._open.append((tag, 'mermaid' in classes, []))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag):
        if not self._open or self._open[-1][0] != tag:
            return
        tag, is_mermaid, parts = self._open.pop()
        text = ''.join(parts)
        self.texts.setdefault(tag, []).append(text)
        if is_mermaid:
            self.mermaid_blocks.append(text)
        if tag == 'label' and self.tab_sets:
            self.tab_sets[-1].append(text)

    def handle_data(self, data):
        for _, _, parts in self._open:
            parts.append(data)

    def handle_comment(self, data):
        self.others.append('<!--%s-->' % data)

    def handle_decl(self, decl):
        self.others.append('<!%s>' % decl)

    def handle_pi(self, data):
        self.others.append('<?%s>' % data)

    def unknown_decl(self, data):
        self.others.append('<![%s]>' % data)


class RenderTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        _require_tools(self)

    def assert_diagram_renders(self, source, record_set):
        outcome = render_mermaid(self, source)

        self.assertEqual('ok', outcome['status'], outcome.get('error'))
        self.assertEqual('sequence', outcome['diagramType'])
        exchanges = common.exchanges(record_set)
        self.assertEqual(2 * len(exchanges), outcome['messageTexts'])
        self.assertEqual(expected_messages(record_set), outcome['messages'])
        self.assertEqual(expected_actors(record_set), outcome['actors'])

    def assert_page(self, page, record_set):
        """The page as MkDocs Material shows it; returns its structure"""
        exchanges = common.exchanges(record_set)
        page_html = render_markdown(page)
        structure = PageStructure(page_html)

        # The diagram, once, as mermaid will read it from the page.
        self.assertEqual(
            [mermaid.render_diagram(record_set).rstrip('\n')],
            structure.mermaid_blocks,
        )
        # Every head and body whole: no backtick run closed its fence.
        blocks = [text.strip('\n') for text in structure.texts['pre']]
        expected = expected_tab_blocks(record_set)
        start = blocks.index(expected[0]) if expected[0] in blocks else 0
        self.assertEqual(expected, blocks[start : start + len(expected)])
        # One tab set per exchange: Request, and Response if there was one.
        self.assertEqual(
            [
                ['Request']
                + (['Response'] if e.get('response') is not None else [])
                for e in exchanges
            ],
            structure.tab_sets,
        )
        numbers = [
            re.match(r'(\d+)-(\d+)\. ', text).groups()
            for text in structure.texts['h3']
        ]
        self.assertEqual(
            [
                (str(2 * n - 1), str(2 * n))
                for n in range(1, len(exchanges) + 1)
            ],
            numbers,
        )
        environment = common.first_of(record_set, 'run').get('environment')
        self.assertEqual(
            ['Environment'] if environment else [], structure.texts['summary']
        )
        # No tab or details syntax was left over as text.
        for text in structure.texts['p']:
            self.assertIsNone(re.match(r'(===|\?\?\?) ', text), text)

        # Nothing from the wire became markup.
        self.assertEqual([], structure.others)
        for tag, attributes in structure.tags:
            self.assertIn(tag, ALLOWED_TAGS)
            for name, value in attributes:
                self.assertFalse(name.startswith('on'), (tag, name, value))
                self.assertNotEqual('style', name, (tag, value))
                if name in _URL_ATTRIBUTES:
                    self.assertIsNotNone(
                        _SAFE_LINK.match(value or ''), (tag, name, value)
                    )
        lowered = page_html.lower()
        for raw in ('<script', '<img', '<iframe', '<svg', '<object', '<embed'):
            self.assertNotIn(raw, lowered)
        self.assertIsNone(re.search(r'<[^>]*\son[a-z]+\s*=', lowered))
        # Note: with pymdownx.snippets enabled, a line of a text body that
        # reads --8<-- "file" would pull that file into the page.
        return structure


class TestMermaidRenders(RenderTestCase):
    def test_a_normal_run(self):
        record_set = records.normal_records()

        self.assert_diagram_renders(
            mermaid.render_diagram(record_set), record_set
        )

    def test_hostile_wire_data(self):
        record_set = records.hostile_records()

        self.assert_diagram_renders(
            mermaid.render_diagram(record_set), record_set
        )

    def test_the_harness_reports_a_bare_end(self):
        broken = 'sequenceDiagram\n    A->>B: one\n    end\n'

        outcome = render_mermaid(self, broken)

        self.assertEqual('error', outcome['status'], outcome)
        self.assertIn('Parse error on line 3', outcome['error'])

    def test_the_harness_reports_an_unescaped_semicolon(self):
        broken = 'sequenceDiagram\n    A->>B: GET /?a=1;b=2\n'

        outcome = render_mermaid(self, broken)

        self.assertEqual('error', outcome['status'], outcome)
        self.assertIn('Parse error on line 2', outcome['error'])


class TestMarkdownRenders(RenderTestCase):
    def test_a_normal_run(self):
        record_set = records.normal_records()

        self.assert_page(
            markdown_export.render_document(record_set, 'osc-imagex test'),
            record_set,
        )

    def test_hostile_wire_data(self):
        record_set = records.hostile_records()

        structure = self.assert_page(
            markdown_export.render_document(record_set, 'osc-imagex test'),
            record_set,
        )

        # Shown as text, whole.
        self.assertIn("<script>alert('x')</script>", structure.texts['h1'][0])


class TestRealRun(RenderTestCase, base.FunctionalTestCase):
    def test_diagram_and_page_of_a_real_run(self):
        diagram, page, log = (
            self.path(name) for name in ('run.mmd', 'run.md', 'run.jsonl')
        )
        # --max-items: a cloud seeded with extra images still gives one
        # page of five.
        result = self.assert_ok(
            self.openstack(
                'imagex',
                'list',
                '--all',
                '--limit',
                '5',
                '--max-items',
                '5',
                '--http-log',
                diagram,
                '--http-log',
                page,
                '--http-log',
                log,
            )
        )
        record_set = self.read_jsonl(log)

        self.assert_diagram_renders(self.read(diagram), record_set)
        structure = self.assert_page(self.read(page), record_set)
        # The page ends with the command's output, as it was printed.
        self.assertEqual(
            result.out.rstrip('\n'), structure.texts['pre'][-1].rstrip('\n')
        )
        self.assertIn('GET /v2/images?', structure.texts['h3'][-1])

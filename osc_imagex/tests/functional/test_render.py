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

Mermaid runs in headless Chromium (Debian's package) from the npm package
in tools/render; the Markdown page goes through Python-Markdown with the
extensions MkDocs Material uses. tools/install-render-deps.sh installs
both; without them these tests skip, unless IMAGEX_REQUIRE_RENDER=1 (CI).
"""

import json
import os
import re
import subprocess

import fixtures
import markdown
from pymdownx import superfences
import testtools

from osc_imagex.export import common
from osc_imagex.export import markdown as markdown_export
from osc_imagex.export import mermaid
from osc_imagex.tests.functional import base
from osc_imagex.tests.unit import records

CHROMIUM = '/usr/bin/chromium'
MERMAID_JS = os.path.join(
    base.REPO,
    'tools',
    'render',
    'node_modules',
    'mermaid',
    'dist',
    'mermaid.min.js',
)
_RESULT = re.compile(r'<pre id="result">([^<]*)</pre>')

_PAGE = '''<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body>
<pre id="result">pending</pre>
<script src="file://%(mermaid)s"></script>
<script>
mermaid.initialize({startOnLoad: false, securityLevel: 'strict'});
mermaid.render('diagram', %(source)s).then(function (result) {
  var holder = document.createElement('div');
  holder.innerHTML = result.svg;
  document.getElementById('result').textContent =
    'ok ' + holder.querySelectorAll('.messageText').length;
}, function (error) {
  document.getElementById('result').textContent =
    'error ' + ((error && error.message) || error);
});
</script>
</body></html>
'''


def _require_tools(test):
    missing = [
        path for path in (CHROMIUM, MERMAID_JS) if not os.path.exists(path)
    ]
    if not missing:
        return
    message = 'rendering tools missing: %s (tools/install-render-deps.sh)'
    if os.environ.get('IMAGEX_REQUIRE_RENDER') == '1':
        test.fail(message % ', '.join(missing))
    test.skipTest(message % ', '.join(missing))


def render_mermaid(test, source):
    """('ok', message count) or ('error', message) from real mermaid"""
    workdir = test.useFixture(fixtures.TempDir()).path
    page = os.path.join(workdir, 'diagram.html')
    with open(page, 'w', encoding='utf-8') as stream:
        stream.write(
            _PAGE
            % {
                'mermaid': MERMAID_JS,
                # Inside a script element only "</" can end it early.
                'source': json.dumps(source).replace('</', '<\\/'),
            }
        )
    dom = subprocess.run(
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
            '--virtual-time-budget=15000',
            '--dump-dom',
            'file://' + page,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    match = _RESULT.search(dom)
    test.assertIsNotNone(match, dom[-2000:])
    status, _, detail = match.group(1).partition(' ')
    return status, detail


def render_markdown(page):
    return markdown.markdown(
        page,
        extensions=[
            'admonition',
            'attr_list',
            'pymdownx.details',
            'pymdownx.superfences',
            'pymdownx.tabbed',
        ],
        extension_configs={
            'pymdownx.superfences': {
                'custom_fences': [
                    {
                        'name': 'mermaid',
                        'class': 'mermaid',
                        'format': superfences.fence_div_format,
                    }
                ]
            },
            'pymdownx.tabbed': {'alternate_style': True},
        },
    )


class RenderTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        _require_tools(self)


class TestMermaidRenders(RenderTestCase):
    def assert_renders(self, record_set):
        exchanges = common.exchanges(record_set)

        status, detail = render_mermaid(
            self, mermaid.render_diagram(record_set)
        )

        self.assertEqual('ok', status, detail)
        self.assertEqual(str(2 * len(exchanges)), detail)

    def test_a_normal_run(self):
        self.assert_renders(records.normal_records())

    def test_hostile_wire_data(self):
        self.assert_renders(records.hostile_records())

    def test_the_harness_reports_a_broken_diagram(self):
        broken = 'sequenceDiagram\n    A->>B: one\n    end\n'

        status, detail = render_mermaid(self, broken)

        self.assertEqual('error', status, detail)


class TestMarkdownRenders(RenderTestCase):
    def assert_page(self, record_set):
        exchanges = common.exchanges(record_set)
        responses = [e for e in exchanges if e.get('response') is not None]

        html = render_markdown(
            markdown_export.render_document(record_set, 'osc-imagex test')
        )

        self.assertEqual(1, html.count('<div class="mermaid">'))
        self.assertEqual(len(exchanges), html.count('class="tabbed-set'))
        self.assertEqual(
            len(exchanges),
            len(re.findall(r'<label[^>]*>Request</label>', html)),
        )
        self.assertEqual(
            len(responses),
            len(re.findall(r'<label[^>]*>Response</label>', html)),
        )
        numbers = re.findall(r'<h3[^>]*>(\d+)-(\d+)\. ', html)
        self.assertEqual(
            [
                (str(2 * n - 1), str(2 * n))
                for n in range(1, len(exchanges) + 1)
            ],
            numbers,
        )
        for tag in ('<script', '<img', '<iframe'):
            self.assertNotIn(tag, html.lower())
        self.assertIsNone(re.search(r'<[^>]+\son\w+\s*=', html))
        return html

    def test_a_normal_run(self):
        self.assert_page(records.normal_records())

    def test_hostile_wire_data(self):
        html = self.assert_page(records.hostile_records())

        self.assertIn('&lt;script&gt;', html)


class TestRealRun(RenderTestCase, base.FunctionalTestCase):
    def test_diagram_and_page_of_a_real_run(self):
        diagram = self.path('run.mmd')
        page = self.path('run.md')
        self.assert_ok(
            self.openstack(
                'imagex',
                'list',
                '--all',
                '--limit',
                '5',
                '--http-log',
                diagram,
                '--http-log',
                page,
            )
        )

        status, detail = render_mermaid(self, self.read(diagram))
        html = render_markdown(self.read(page))

        self.assertEqual(('ok', '8'), (status, detail))
        self.assertEqual(4, html.count('class="tabbed-set'))
        self.assertIn('cirros-0.5.2-x86_64-disk', html)

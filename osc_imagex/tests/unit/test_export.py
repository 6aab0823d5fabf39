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

"""What each log format makes of a fixed set of records.

The rendered output of the normal and the hostile run is compared with the
files under ``golden/``. After a deliberate change to a format, rewrite
them with ``OSC_IMAGEX_REGENERATE_GOLDEN=1 stestr run test_export`` and
read the difference before committing it.
"""

import base64
import copy
import functools
import json
import os
import re
import time

import jsonschema
import testtools

from osc_imagex import export
from osc_imagex.export import common
from osc_imagex.tests.unit import records

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.join(HERE, 'golden')
HAR_SCHEMA = os.path.join(HERE, 'har-1.2.schema.json')
REGENERATE = os.environ.get('OSC_IMAGEX_REGENERATE_GOLDEN') == '1'
CREATOR = 'osc-imagex 1.0.0'
EXTENSIONS = {
    'jsonl': 'jsonl',
    'text': 'txt',
    'har': 'har',
    'mermaid': 'mmd',
    'markdown': 'md',
}
# Generous: each format renders the 5 MB page in well under a second; a
# quadratic slip would take minutes.
LARGE_BODY_SECONDS = 10


def render(format_name, record_list):
    """A whole log, as ``imagex log convert`` writes it"""
    log_format = export.FORMATS[format_name]
    if log_format.render_record is not None:
        return ''.join(log_format.render_record(r) for r in record_list)
    return log_format.render_document(record_list, CREATOR)


@functools.cache
def _large():
    return records.large_records()


def large_records():
    return copy.deepcopy(_large())


def exchanges(record_list):
    return [r for r in record_list if r['record'] == 'exchange']


class TestGoldenFiles(testtools.TestCase):
    def assert_golden(self, name, format_name, record_list):
        rendered = render(format_name, record_list)
        path = os.path.join(
            GOLDEN_DIR, '%s.%s' % (name, EXTENSIONS[format_name])
        )
        if REGENERATE:
            os.makedirs(GOLDEN_DIR, exist_ok=True)
            # Strict UTF-8: a lone surrogate reaching the output fails here.
            with open(path, 'w', encoding='utf-8', newline='') as stream:
                stream.write(rendered)
            self.skipTest('rewrote %s: read it before committing' % path)
        with open(path, encoding='utf-8', newline='') as stream:
            expected = stream.read()
        self.assertEqual(expected, rendered)

    def test_normal_jsonl(self):
        self.assert_golden('normal', 'jsonl', records.normal_records())

    def test_normal_text(self):
        self.assert_golden('normal', 'text', records.normal_records())

    def test_normal_har(self):
        self.assert_golden('normal', 'har', records.normal_records())

    def test_normal_mermaid(self):
        self.assert_golden('normal', 'mermaid', records.normal_records())

    def test_normal_markdown(self):
        self.assert_golden('normal', 'markdown', records.normal_records())

    def test_hostile_jsonl(self):
        self.assert_golden('hostile', 'jsonl', records.hostile_records())

    def test_hostile_text(self):
        self.assert_golden('hostile', 'text', records.hostile_records())

    def test_hostile_har(self):
        self.assert_golden('hostile', 'har', records.hostile_records())

    def test_hostile_mermaid(self):
        self.assert_golden('hostile', 'mermaid', records.hostile_records())

    def test_hostile_markdown(self):
        self.assert_golden('hostile', 'markdown', records.hostile_records())


class TestRenderingLeavesRecordsAlone(testtools.TestCase):
    def test_no_format_changes_the_records_it_renders(self):
        record_list = records.hostile_records()

        for format_name in export.FORMATS:
            render(format_name, record_list)

        self.assertEqual(records.hostile_records(), record_list)


class TestEveryFormatIsValidUnicode(testtools.TestCase):
    # Lone surrogates from JSON bodies cannot be written as UTF-8; every
    # format must have escaped them by the time it returns.
    def test_hostile_output_encodes_as_strict_utf8(self):
        record_list = records.hostile_records()

        for format_name in export.FORMATS:
            render(format_name, record_list).encode('utf-8')


# -- Mermaid ---------------------------------------------------------------

# Message and label text: anything but the characters that end a
# statement, open a comment or an entity, reach the renderer as HTML or
# split the message, and entity codes made from them.
_MERMAID_TEXT = r'(?:[^\s;#%<>"\'`{}&\\:,]|[ ](?! )|#\d+;)+(?<! )'
_MERMAID_STATEMENT = re.compile(
    r'sequenceDiagram'
    r'|    autonumber'
    r'|    participant CLI as openstack'
    r'|    participant S\d+ as (?P<label>%(text)s)'
    r'|    CLI->>S\d+: (?P<request>%(text)s)'
    r'|    S\d+(?:-->>|--x)CLI: (?P<response>%(text)s)'
    % {'text': _MERMAID_TEXT}
)
_MERMAID_MESSAGE = re.compile(r'    (?:CLI->>S\d+|S\d+(?:-->>|--x)CLI): ')
_ENTITY = re.compile(r'#(\d+);')


def _mermaid_unescape(text):
    return _ENTITY.sub(lambda match: chr(int(match.group(1))), text)


class TestMermaidHostile(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.records = records.hostile_records()
        self.lines = render('mermaid', self.records).splitlines()

    def messages(self):
        return [line for line in self.lines if _MERMAID_MESSAGE.match(line)]

    def test_every_line_is_one_statement_of_the_grammar(self):
        for line in self.lines:
            self.assertIsNotNone(
                _MERMAID_STATEMENT.fullmatch(line),
                'not a statement: %r' % line,
            )

    def test_two_message_lines_per_exchange(self):
        self.assertEqual(
            2 * len(exchanges(self.records)), len(self.messages())
        )

    def test_no_semicolon_outside_entity_codes(self):
        for line in self.lines:
            self.assertNotIn(';', _ENTITY.sub('', line), line)

    def test_hash_only_opens_entity_codes(self):
        for line in self.lines:
            self.assertNotIn('#', _ENTITY.sub('', line), line)

    def test_no_comment_marker(self):
        for line in self.lines:
            self.assertNotIn('%%', line)

    def test_no_angle_brackets(self):
        for line in self.lines:
            self.assertNotIn('<', line)
            self.assertNotIn('>', line.split(': ', 1)[-1])

    def test_no_bare_word_end(self):
        for line in self.lines:
            self.assertIsNone(re.search(r'\bend\b', line, re.IGNORECASE))

    def test_no_raw_escape_or_bidi_characters(self):
        text = '\n'.join(self.lines)

        self.assertEqual(common.printable(text), text)

    def test_request_messages_read_back_as_method_and_path(self):
        requests = [
            _mermaid_unescape(line.split(': ', 1)[1])
            for line in self.messages()
            if line.startswith('    CLI->>')
        ]

        self.assertEqual(
            [
                common.one_line('%s %s' % (r['method'], r['path']))
                for r in exchanges(self.records)
            ],
            requests,
        )

    def test_hostile_service_name_reads_back_as_one_line(self):
        label = _MERMAID_STATEMENT.fullmatch(self.lines[4])['label']

        self.assertEqual(
            'glance <b>end</b>; #2; %%x `y` \\u001b[31m\\u202eecnalg',
            _mermaid_unescape(label),
        )

    def test_failed_exchange_is_a_lost_message(self):
        failed = self.messages()[9]

        self.assertTrue(failed.startswith('    S2--xCLI: no response ('))
        self.assertIn('ConnectFailure#58; Unable to establish', failed)

    def test_reason_phrase_is_escaped(self):
        self.assertEqual(
            '    S1-->>CLI: 201 Created #92;u001b[31m#60;b#62;#35;1#59; '
            '#101;nd#92;u202e',
            self.messages()[3],
        )


class TestMermaidEscape(testtools.TestCase):
    def test_wire_data_cannot_forge_an_entity_code(self):
        self.assertEqual('#35;59#59;', export.mermaid.escape('#59;'))

    def test_end_is_escaped_in_any_case(self):
        self.assertEqual(
            '#101;nd #69;ND #69;nd', export.mermaid.escape('end END End')
        )

    def test_end_inside_a_word_is_left_alone(self):
        self.assertEqual(
            'endpoint legend', export.mermaid.escape('endpoint legend')
        )

    def test_newlines_and_runs_of_space_become_one_space(self):
        self.assertEqual('a b c', export.mermaid.escape(' a\n\n b \t c '))


# -- Markdown --------------------------------------------------------------

_FENCE_OPENING = re.compile(r'^(?P<indent> *)(?P<ticks>`{3,})(?P<info>.*)$')
_CODE_SPAN = re.compile(r'`[^`]*`')


def _fences(document):
    """The code fences of a Markdown document, and the lines outside them

    Returns ([(info, content lines)], outside lines). A fence is closed
    by the first line that holds nothing but at least as many backticks,
    whatever its indentation: more generous than CommonMark, so content
    that survives this cannot close its fence early anywhere.
    """
    fences, outside = [], []
    lines = document.split('\n')
    position = 0
    while position < len(lines):
        opening = _FENCE_OPENING.match(lines[position])
        position += 1
        if opening is None:
            outside.append(lines[position - 1])
            continue
        indent, ticks = opening['indent'], opening['ticks']
        closing = re.compile(r'^ *`{%d,} *$' % len(ticks))
        content = []
        while position < len(lines) and not closing.match(lines[position]):
            line = lines[position]
            content.append(line[len(indent) :] if line else line)
            position += 1
        if position == len(lines):
            raise AssertionError('fence %r is never closed' % ticks)
        position += 1
        fences.append((opening['info'].strip(), content))
    return fences, outside


class TestMarkdownHostile(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.records = records.hostile_records()
        self.document = render('markdown', self.records)
        self.fences, self.outside = _fences(self.document)

    def expected_fence_count(self):
        # Command, environment, diagram, the error and the output; a
        # request head for each exchange, a response head for each
        # response, and one for each body.
        count = 5
        for record in exchanges(self.records):
            count += 1 + (record['request']['body'] is not None)
            if record['response'] is not None:
                count += 1 + (record['response']['body'] is not None)
        return count

    def test_every_fence_closes_where_it_should(self):
        self.assertEqual(self.expected_fence_count(), len(self.fences))

    def test_fence_openings_have_no_backtick_in_their_info(self):
        # CommonMark: such a line is not a fence opening at all.
        for info, _ in self.fences:
            self.assertNotIn('`', info)

    def test_text_body_is_one_fence_whatever_its_backticks(self):
        self.assertIn(
            ('text', common.printable(records.HOSTILE_TEXT_BODY).split('\n')),
            self.fences,
        )

    def test_text_body_fence_is_longer_than_its_longest_backtick_run(self):
        lines = self.document.split('\n')
        first = common.printable(records.HOSTILE_TEXT_BODY).split('\n')[0]
        opening = lines.index('    ' + first) - 1

        self.assertEqual('    `````` text', lines[opening])
        self.assertEqual('    ``````', lines[opening + 9])

    def test_json_body_with_backticks_is_one_fence(self):
        page = exchanges(self.records)[3]['response']
        body = common.printable(common.body_text(page))

        self.assertIn(('json', body.split('\n')), self.fences)

    def test_output_is_one_fence(self):
        output = records.hostile_records()[-2]['text']

        self.assertEqual(
            common.printable(output).rstrip('\n').split('\n'),
            self.fences[-1][1],
        )

    def test_no_html_outside_code(self):
        for line in self.outside:
            self.assertNotIn('<', _CODE_SPAN.sub('', line), line)

    def test_code_span_of_a_hostile_path_holds_no_backtick(self):
        title = [line for line in self.outside if line.startswith('### 9-10')]

        self.assertEqual(
            [
                '### 9-10. GET `/v2/images?name=<script>;"\'{x}\'end\'%%'
                '\\u001b[31m\\u202e\U0001f600&limit=1`'
            ],
            title,
        )

    def test_no_raw_escape_or_bidi_characters(self):
        self.assertNotIn('\x1b', self.document)
        self.assertNotIn('\u202e', self.document)

    def test_failed_exchange_has_a_request_tab_only(self):
        section = self.document.split('### 9-10.')[1].split('### 11-12.')[0]

        self.assertIn('=== "Request"', section)
        self.assertNotIn('=== "Response"', section)

    def test_failure_is_stated_in_the_facts(self):
        facts = [line for line in self.outside if '&rarr;' in line][4]

        self.assertIn(' · `no response (ConnectFailure: Unable', facts)


class TestMarkdownFence(testtools.TestCase):
    def test_fence_is_three_backticks_by_default(self):
        self.assertEqual('```\nx\n```', export.markdown._fence('x'))

    def test_fence_outlasts_the_longest_backtick_run(self):
        self.assertEqual(
            '`````\n``` `` ````\n`````',
            export.markdown._fence('``` `` ````'),
        )

    def test_inline_code_cannot_contain_its_delimiter(self):
        self.assertEqual("`a'b''c`", export.markdown._inline('a`b``c'))


# -- Text ------------------------------------------------------------------


class TestTextHostile(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.records = records.hostile_records()
        self.text = render('text', self.records)

    def test_no_raw_escape_character(self):
        self.assertNotIn('\x1b', self.text)

    def test_no_raw_right_to_left_override(self):
        self.assertNotIn('\u202e', self.text)

    def test_no_raw_control_characters_but_newline_and_tab(self):
        self.assertIsNone(
            re.search('[\x00-\x08\x0b-\x1f\x7f-\x9f]', self.text)
        )

    def test_escapes_are_shown_not_dropped(self):
        self.assertIn('request ID req-\\u001b[2J\\u001b[31m\\u202e', self.text)

    def test_each_exchange_starts_with_one_request_line(self):
        starts = [
            line.split(':', 1)[0]
            for line in self.text.splitlines()
            if line.startswith('>>> ')
        ]

        self.assertEqual(
            [
                '>>> [1] openstack -> identity (identity)',
                '>>> [2] openstack -> keystone (identity)',
            ]
            + [
                '>>> [%d] openstack -> glance <b>end</b>; #2; %%%%x `y` '
                '\\u001b[31m\\u202eecnalg (image)' % seq
                for seq in range(3, 7)
            ],
            starts,
        )

    def test_a_body_cannot_forge_a_heading(self):
        record_set = records.normal_records()
        exchange = common.exchanges(record_set)[-1]
        forged = '>>> [9] openstack -> keystone (identity): GET /\n'
        exchange['response'] = dict(
            exchange['response'],
            body=forged
            + '<<< [9] x\n#### done\n\\>>> [9] y\n\\ kept\nplain >>> [9]\n',
            body_encoding='text',
        )

        text = render('text', record_set)

        self.assertNotIn('\n' + forged, text)
        self.assertIn(
            '\n\\' + forged + '\\<<< [9] x\n\\#### done\n'
            '\\\\>>> [9] y\n\\ kept\nplain >>> [9]\n',
            text,
        )

    def test_failed_exchange_says_there_was_no_response(self):
        lines = self.text.splitlines()
        response = [line for line in lines if line.startswith('<<< [5]')]

        self.assertEqual(1, len(response))
        self.assertIn(
            '(image) -> openstack: no response (ConnectFailure: ', response[0]
        )
        self.assertEqual(
            '    3004.2 ms, request ID -', lines[lines.index(response[0]) + 1]
        )

    def test_binary_body_is_described_not_dumped(self):
        self.assertIn(
            '\n<21 bytes of binary data, base64 in the JSON-lines log>\n',
            self.text,
        )

    def test_output_record_is_not_part_of_the_text_log(self):
        self.assertNotIn('| ID ', self.text)

    def test_error_record_is_one_line(self):
        self.assertEqual(
            '#### failed: Service Unavailable <script>`end`</script> '
            '(HTTP 503) (global request ID %s; request ID req-\\u001b[2J'
            '\\u001b[31m\\u202e<i>;end from image GET /v2/images?name='
            '<script>;"\'{x}`end`%%%% \\u001b[31m\\u202e\U0001f600&limit=1'
            '#frag;end)\n\n' % records.GLOBAL_REQUEST_ID,
            self.text[self.text.index('#### failed') :],
        )


# -- HAR -------------------------------------------------------------------


@functools.cache
def _har_validator():
    with open(HAR_SCHEMA, encoding='utf-8') as stream:
        schema = json.load(stream)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def har_of(record_list):
    return json.loads(render('har', record_list))


class TestHarSchema(testtools.TestCase):
    """The schema rejects what HAR 1.2 rejects, so passing it means a lot"""

    def setUp(self):
        super().setUp()
        self.har = har_of(records.normal_records())
        self.entry = self.har['log']['entries'][0]

    def assert_invalid(self):
        self.assertFalse(_har_validator().is_valid(self.har))

    def test_rejects_an_entry_without_timings(self):
        del self.entry['timings']

        self.assert_invalid()

    def test_rejects_a_field_the_spec_does_not_name(self):
        self.entry['request']['body'] = ''

        self.assert_invalid()

    def test_accepts_custom_fields_with_an_underscore(self):
        self.entry['request']['_body'] = ''

        _har_validator().validate(self.har)

    def test_rejects_a_negative_wait(self):
        self.entry['timings']['wait'] = -1

        self.assert_invalid()

    def test_rejects_a_dns_time_below_minus_one(self):
        self.entry['timings']['dns'] = -2

        self.assert_invalid()

    def test_rejects_a_response_without_content_mime_type(self):
        del self.entry['response']['content']['mimeType']

        self.assert_invalid()

    def test_rejects_post_data_without_text(self):
        del self.har['log']['entries'][1]['request']['postData']['text']

        self.assert_invalid()

    def test_rejects_a_log_without_creator(self):
        del self.har['log']['creator']

        self.assert_invalid()

    def test_rejects_a_start_time_without_time_zone(self):
        self.entry['startedDateTime'] = '2026-03-02T09:15:00.125'

        self.assert_invalid()


class TestHar(testtools.TestCase):
    def entries(self, record_list):
        return har_of(record_list)['log']['entries']

    def test_normal_run_is_valid_har_1_2(self):
        _har_validator().validate(har_of(records.normal_records()))

    def test_hostile_run_is_valid_har_1_2(self):
        _har_validator().validate(har_of(records.hostile_records()))

    def test_output_is_ascii(self):
        self.assertTrue(render('har', records.hostile_records()).isascii())

    def test_one_entry_per_exchange_in_order(self):
        entries = self.entries(records.hostile_records())

        self.assertEqual([1, 2, 3, 4, 5, 6], [e['_seq'] for e in entries])

    def test_creator_is_split_into_name_and_version(self):
        creator = har_of(records.normal_records())['log']['creator']

        self.assertEqual({'name': 'osc-imagex', 'version': '1.0.0'}, creator)

    def test_failed_exchange_is_status_0_with_the_error(self):
        entry = self.entries(records.hostile_records())[4]

        self.assertEqual(0, entry['response']['status'])
        self.assertEqual(
            exchanges(records.hostile_records())[4]['error'],
            entry['response']['_error'],
        )
        self.assertEqual(entry['response']['_error'], entry['_error'])

    def test_time_is_the_sum_of_the_timings_that_apply(self):
        for entry in self.entries(records.hostile_records()):
            self.assertEqual(
                entry['time'],
                sum(t for t in entry['timings'].values() if t >= 0),
            )

    def test_receive_is_the_time_after_the_headers(self):
        timings = self.entries(records.normal_records())[1]['timings']

        self.assertEqual(
            {'send': 0, 'wait': 186.625, 'receive': 0.75},
            {k: timings[k] for k in ('send', 'wait', 'receive')},
        )

    def test_a_log_without_receive_times_counts_all_as_waiting(self):
        record_set = records.normal_records()
        for record in exchanges(record_set):
            del record['receive_ms']

        for entry in self.entries(record_set):
            self.assertEqual(0, entry['timings']['receive'])
            self.assertEqual(entry['time'], entry['timings']['wait'])

    def test_json_content_parses_back_to_the_body(self):
        page = exchanges(records.hostile_records())[3]['response']['body']
        content = self.entries(records.hostile_records())[3]['response'][
            'content'
        ]

        self.assertEqual(page, json.loads(content['text']))

    def test_binary_response_is_base64(self):
        content = self.entries(records.hostile_records())[2]['response'][
            'content'
        ]

        self.assertEqual('base64', content['encoding'])
        self.assertEqual(
            records.BINARY_BODY, base64.b64decode(content['text'])
        )

    def test_binary_request_body_keeps_every_byte(self):
        builder = records.RunBuilder()
        builder.exchange(
            'PUT',
            records.GLANCE_URL + '/v2/images/x/file',
            204,
            service='image',
            service_name='glance',
            request_body=records.BINARY_BODY,
        )
        entry = self.entries(builder.records)[0]

        _har_validator().validate(har_of(builder.records))
        self.assertEqual(
            records.BINARY_BODY,
            entry['request']['postData']['text'].encode('latin-1'),
        )

    def test_text_body_is_kept_verbatim(self):
        content = self.entries(records.hostile_records())[5]['response'][
            'content'
        ]

        self.assertEqual(
            {
                'size': len(records.HOSTILE_TEXT_BODY.encode('utf-8')),
                'mimeType': 'text/html',
                'text': records.HOSTILE_TEXT_BODY,
            },
            content,
        )

    def test_empty_body_has_no_content_text(self):
        content = self.entries(records.hostile_records())[0]['response'][
            'content'
        ]

        self.assertEqual({'size': 0, 'mimeType': 'application/json'}, content)

    def test_request_without_body_has_no_post_data(self):
        request = self.entries(records.normal_records())[0]['request']

        self.assertNotIn('postData', request)

    def test_query_string_is_decoded(self):
        request = self.entries(records.hostile_records())[3]['request']

        self.assertEqual(
            [
                {'name': 'name', 'value': records.HOSTILE},
                {'name': 'limit', 'value': '1'},
            ],
            request['queryString'],
        )

    def test_early_identity_exchange_is_named_from_the_catalog(self):
        entry = self.entries(records.normal_records())[0]

        self.assertEqual('keystone', entry['_serviceName'])


# -- JSON lines ------------------------------------------------------------


class TestJsonLines(testtools.TestCase):
    def lines(self, record_list):
        return render('jsonl', record_list).split('\n')

    def test_each_record_is_exactly_one_line(self):
        for record_list in (
            records.normal_records(),
            records.hostile_records(),
        ):
            lines = self.lines(record_list)

            self.assertEqual(len(record_list), len(lines) - 1)
            self.assertEqual('', lines[-1])

    def test_each_line_parses_back_to_its_record(self):
        for record_list in (
            records.normal_records(),
            records.hostile_records(),
        ):
            parsed = [
                json.loads(line) for line in self.lines(record_list)[:-1]
            ]

            self.assertEqual(record_list, parsed)

    def test_output_is_pure_ascii(self):
        self.assertTrue(render('jsonl', records.hostile_records()).isascii())

    def test_lone_surrogates_survive_the_round_trip(self):
        record = records.hostile_records()[4]

        parsed = json.loads(export.jsonl.render_record(record))

        image = parsed['response']['body']['images'][0]
        self.assertTrue(image['description'].endswith(records.LONE_SURROGATES))
        self.assertIn('x_\udfff', image)


# -- A very large body -----------------------------------------------------


class TestLargeBody(testtools.TestCase):
    """A 5 MB image page renders quickly and whole in every format"""

    def setUp(self):
        super().setUp()
        self.records = large_records()
        self.exchange = self.records[1]
        self.page = self.exchange['response']['body']

    def timed_render(self, format_name):
        began = time.perf_counter()
        rendered = render(format_name, self.records)
        self.assertLess(time.perf_counter() - began, LARGE_BODY_SECONDS)
        return rendered

    def test_page_is_at_least_5_mb(self):
        self.assertGreaterEqual(
            self.exchange['response']['body_size'], 5 * 1024 * 1024
        )

    def test_jsonl_holds_the_whole_page(self):
        lines = self.timed_render('jsonl').split('\n')

        self.assertEqual(self.exchange, json.loads(lines[1]))

    def test_text_holds_the_whole_page(self):
        rendered = self.timed_render('text')

        self.assertIn(
            '\n\n' + common.body_text(self.exchange['response']) + '\n\n',
            rendered,
        )

    def test_har_holds_the_whole_page(self):
        entry = json.loads(self.timed_render('har'))['log']['entries'][0]

        self.assertEqual(
            self.page, json.loads(entry['response']['content']['text'])
        )

    def test_markdown_holds_the_whole_page_in_one_fence(self):
        fences, _ = _fences(self.timed_render('markdown'))

        self.assertEqual(
            ('json', common.body_text(self.exchange['response']).split('\n')),
            fences[-1],
        )

    def test_mermaid_has_its_two_messages(self):
        rendered = self.timed_render('mermaid')

        self.assertEqual(
            [
                '    CLI->>S1: GET /v2/images?limit=100000',
                '    S1-->>CLI: 200 OK',
            ],
            rendered.splitlines()[-2:],
        )


class TestMarkdownSnippets(testtools.TestCase):
    def test_a_snippet_line_in_a_body_cannot_include_a_file(self):
        record_set = records.normal_records()
        exchange = common.exchanges(record_set)[-1]
        exchange['response'] = dict(
            exchange['response'],
            body='ok\n--8<-- "/etc/passwd"\n  ---8<--- "x"\n',
            body_encoding='text',
        )

        page = export.FORMATS['markdown'].render_document(
            record_set, 'osc-imagex test'
        )

        self.assertNotRegex(page, r'(?m)^\s*-+8<')
        self.assertIn('\\u002d-8<-- "/etc/passwd"', page)

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

"""Keep secrets out of everything osc-imagex writes.

Two layers. The first knows where OpenStack puts secrets: token headers,
the password, application-credential and TOTP parts of an auth request,
query parameters and command-line options with telling names. The second
remembers every secret value the first one met, and the credentials the
command was given, and scrubs any copy of them that turns up anywhere
else (an error body echoing a token, a URL, free text), as it is or in the
escaped and encoded spellings a server would echo it in.

Tokens become a SHA-256 digest, as keystoneauth's ``--debug`` output does,
so one token can be followed from the response that issued it to every
request that used it. Passwords and other secrets become ``***``.
"""

import hashlib
import html
import json
import re
from typing import Any, TypeVar, cast
from urllib import parse

from requests import utils as requests_utils

MASK = '***'

_T = TypeVar('_T')

TOKEN_HEADERS = frozenset(
    (
        'x-auth-token',
        'x-subject-token',
        'x-service-token',
        'authorization',
        'proxy-authorization',
        'cookie',
        'set-cookie',
    )
)

# Body keys whose string value is a bearer token rather than a password;
# ``id`` counts too when it sits directly under a ``token`` object, which is
# how token authentication spells it.
_TOKEN_KEYS = frozenset(
    (
        'token',
        'auth_token',
        'access_token',
        'id_token',
        'refresh_token',
        'subject_token',
        'service_token',
    )
)

_SECRET_WORDS = (
    'password',
    'secret',
    'passcode',
    'passphrase',
    'private_key',
    'admin_pass',
    'adminpass',
    'api_key',
    'credential_blob',
)

# OSC's options that carry secrets. argparse accepts any unambiguous
# abbreviation (--os-passw), so an option counts when it is the start of
# one of these as well as when its name says secret.
_SECRET_OPTIONS = (
    '--os-password',
    '--os-token',
    '--os-passcode',
    '--os-application-credential-secret',
    '--os-client-secret',
    '--os-access-token',
    '--os-access-secret',
    '--os-consumer-secret',
    '--os-oauth2-client-secret',
    '--os-idp-otp-key',
    '--os-code',
)

# The OS_* variables OSC reads those options from (OS_CODE, OS_IDP_OTP_KEY).
_SECRET_VARIABLES = frozenset(
    'OS_' + option[len('--os-') :].upper().replace('-', '_')
    for option in _SECRET_OPTIONS
)

# A JSON text can hold a key the structural layer masks only if one of
# these words occurs in it somewhere; when none does (an image page, as a
# rule) the walk is skipped. An escape (\\u0070assword) could hide a word,
# so any \\u escape means walking anyway.
_SENSITIVE_WORD = re.compile(
    '|'.join(_SECRET_WORDS + ('token',)), re.IGNORECASE
)

# Literal scrubbing of very short values would mangle unrelated text; the
# structural layer still masks them wherever they are expected.
_MIN_LITERAL_LENGTH = 4


def _spellings(value: str) -> set[str]:
    """The ways a value can be written where a server echoes it back

    As is; in a JSON string; in a URL, a path or a form; in an HTML page;
    and an HTML page or a JSON string quoting a JSON string (an error page
    showing the request body).

    Known shortcoming: other encodings (base64, a cut or case-changed
    echo) are not recognised; and a value full of special characters has
    hundreds of spellings, which about doubles the scrub of a large page.
    """
    in_json = _in_json(value)
    nested = set()
    for text in in_json:
        nested |= _in_html(text) | _in_json(text)
    in_url = _in_url(value)
    # A URL echoed in a URL (a Location header, a redirect parameter).
    nested |= {parse.quote(text, safe='') for text in in_url}
    spelled = {value} | in_json | in_url | _in_html(value) | nested
    # UTF-8 read as Latin-1, as HTTP headers are.
    spelled.add(value.encode('utf-8').decode('latin-1'))
    return spelled


def _in_json(value: str) -> set[str]:
    # ASCII-only as keystoneauth writes it (hex digits in either case) or
    # not; "/" escaped or not.
    spelled = {
        json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        for ascii_only in (True, False)
    }
    spelled |= {_UNICODE_ESCAPE.sub(_upper, text) for text in spelled}
    spelled |= {text.replace('/', '\\/') for text in spelled}
    # Go's encoding/json and Jinja's tojson escape these for HTML too.
    return spelled | {text.translate(_HTML_SAFE_JSON) for text in spelled}


def _in_url(value: str) -> set[str]:
    # Python's quote and quote_plus, JavaScript's encodeURIComponent, and
    # requests' own quoting of a URL or path (what goes on the wire), with
    # hex digits in either case.
    spelled = {
        encode(value, safe=safe)
        for encode in (parse.quote, parse.quote_plus)
        for safe in ('', '/', "!'()*")
    }
    spelled.add(requests_utils.requote_uri(value))
    # Go's url.PathEscape; URLSearchParams, which keeps "*" but not "~".
    spelled.add(parse.quote(value, safe="$&+,:;=@"))
    spelled.add(parse.quote_plus(value, safe='*').replace('~', '%7E'))
    return spelled | {_PERCENT_ESCAPE.sub(_lower, text) for text in spelled}


def _in_html(value: str) -> set[str]:
    # Quotes left alone, or escaped by name or by number, as the many
    # HTML and XML escaping functions about do.
    bare = html.escape(value, quote=False)
    spelled = {bare} | {
        bare.replace('"', double).replace("'", single)
        for double in ('&quot;', '&#34;')
        for single in ('&#x27;', '&#39;', '&#039;', '&apos;')
    }
    # Go's html/template (+ too), OWASP's encoder (/ too), and non-ASCII
    # as numeric references (xmlcharrefreplace).
    spelled |= {text.replace('+', '&#43;') for text in spelled}
    spelled |= {text.replace('/', '&#x2F;') for text in spelled}
    return spelled | {
        text.encode('ascii', 'xmlcharrefreplace').decode('ascii')
        for text in spelled
    }


_HTML_SAFE_JSON = str.maketrans(
    {'&': '\\u0026', '<': '\\u003c', '>': '\\u003e', "'": '\\u0027'}
)
_PERCENT_ESCAPE = re.compile('%[0-9A-F]{2}')
_UNICODE_ESCAPE = re.compile(r'\\u[0-9a-f]{4}')


def _lower(match: re.Match[str]) -> str:
    return match.group(0).lower()


def _upper(match: re.Match[str]) -> str:
    return '\\u' + match.group(0)[2:].upper()


def may_name_secrets(json_text: str) -> bool:
    """Whether a JSON document could have keys that :meth:`json` masks"""
    return '\\u' in json_text or _SENSITIVE_WORD.search(json_text) is not None


def _abbreviates_secret_option(name: str) -> bool:
    return len(name) > len('--os-') and any(
        option.startswith(name) for option in _SECRET_OPTIONS
    )


def digest(value: str) -> str:
    return '{SHA256}' + hashlib.sha256(value.encode('utf-8')).hexdigest()


def is_secret_name(name: str) -> bool:
    lowered = name.lower().replace('-', '_')
    return any(word in lowered for word in _SECRET_WORDS)


def is_token_name(name: str) -> bool:
    lowered = name.lower().replace('-', '_')
    return lowered in _TOKEN_KEYS or lowered.endswith('_token')


class Redactor:
    """Masks secrets; remembers each one it masks."""

    def __init__(self) -> None:
        self._learned: set[str] = set()
        # Every spelling of every learned value, to what replaces it.
        self._replacements: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._json_pattern: re.Pattern[str] | None = None

    def learn_secret(self, value: Any) -> None:
        self._learn(value, MASK)

    def learn_token(self, value: Any) -> None:
        if isinstance(value, str):
            self._learn(value, digest(value))

    def _learn(self, value: Any, replacement: str) -> None:
        if not isinstance(value, str) or not value:
            return
        if value in self._learned or value == replacement:
            return
        self._learned.add(value)
        for spelling in _spellings(value):
            self._replacements.setdefault(spelling, replacement)
        self._pattern = None
        self._json_pattern = None

    def _mask_secret(self, value: Any) -> str:
        self.learn_secret(value if isinstance(value, str) else str(value))
        return MASK

    def _mask_token(self, value: Any) -> str:
        if not isinstance(value, str):
            return self._mask_secret(value)
        self.learn_token(value)
        return digest(value)

    def header_value(self, name: str, value: str) -> str:
        if name.lower() in TOKEN_HEADERS or is_token_name(name):
            return self._mask_token(value)
        if is_secret_name(name):
            return self._mask_secret(value)
        return value

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        return {
            name: self.header_value(name, value)
            for name, value in headers.items()
        }

    def json(self, data: Any, parent_key: str = '') -> Any:
        """Mask secrets in parsed JSON, by key, at any depth"""
        if isinstance(data, dict):
            return {
                key: self._json_member(key, value, parent_key)
                for key, value in data.items()
            }
        if isinstance(data, list):
            return [self.json(item, parent_key) for item in data]
        return data

    def _json_member(self, key: str, value: Any, parent_key: str) -> Any:
        if isinstance(value, (dict, list)):
            return self.json(value, key)
        if value is None or isinstance(value, bool):
            return value
        if is_secret_name(key):
            return self._mask_secret(value)
        if is_token_name(key) or (key == 'id' and is_token_name(parent_key)):
            return self._mask_token(value)
        return value

    def query(self, query: str) -> str:
        """Mask sensitive parameters, leaving the rest byte for byte"""
        if not query:
            return query
        parts = []
        for part in query.split('&'):
            name, sep, value = part.partition('=')
            decoded = parse.unquote_plus(name)
            if sep and is_secret_name(decoded):
                value = self._mask_secret(parse.unquote_plus(value))
            elif sep and is_token_name(decoded):
                value = self._mask_token(parse.unquote_plus(value))
            parts.append(name + sep + value)
        return '&'.join(parts)

    def url(self, url: str) -> str:
        split = parse.urlsplit(url)
        netloc = split.netloc
        if split.password is not None:
            self.learn_secret(parse.unquote(split.password))
            netloc = netloc.replace(':' + split.password + '@', ':***@', 1)
        return parse.urlunsplit(
            split._replace(netloc=netloc, query=self.query(split.query))
        )

    def argv(self, argv: list[str]) -> list[str]:
        """Mask the values of secret-looking command-line options"""
        masked = []
        mask_next = False
        for arg in argv:
            if mask_next:
                masked.append(self._mask_secret(arg))
                mask_next = False
                continue
            name, sep, value = arg.partition('=')
            sensitive = name.startswith('--') and (
                is_secret_name(name)
                or is_token_name(name)
                or _abbreviates_secret_option(name)
            )
            if sensitive and sep:
                masked.append(name + '=' + self._mask_secret(value))
            elif sep and '://' in value:
                # --os-auth-url=http://user:password@host/v3
                masked.append(name + '=' + self.url(value))
            elif sensitive:
                masked.append(arg)
                mask_next = True
            elif '://' in arg:
                masked.append(self.url(arg))
            else:
                masked.append(arg)
        return masked

    def environment(self, environ: dict[str, str]) -> dict[str, str]:
        return {
            name: (
                self._mask_secret(value)
                if is_secret_name(name)
                or is_token_name(name)
                or name.upper().endswith('_TOKEN')
                or name.upper() in _SECRET_VARIABLES
                else self.url(value)
                if '://' in value
                else value
            )
            for name, value in environ.items()
        }

    def scrub_bytes(self, data: bytes) -> bytes:
        """Replace every remembered secret in a body that is not UTF-8

        The secrets are looked for as UTF-8 and as Latin-1, the charset
        such bodies are most often in.
        """
        found: list[tuple[bytes, bytes]] = []
        for spelling, replacement in self._replacements.items():
            if len(spelling) < _MIN_LITERAL_LENGTH:
                continue
            for charset in ('utf-8', 'latin-1'):
                try:
                    encoded = spelling.encode(charset)
                except UnicodeEncodeError:
                    continue
                if encoded in data:
                    found.append((encoded, replacement.encode('ascii')))
        for encoded, masked in sorted(found, key=lambda f: -len(f[0])):
            data = data.replace(encoded, masked)
        return data

    def scrub(self, data: _T) -> _T:
        """Replace every remembered secret wherever it appears as text"""
        patterns = self._literal_patterns()
        if patterns is None:
            return data
        pattern, json_pattern = patterns
        # Most records hold no secret: one search over their JSON text, at
        # C speed, spares walking every string of a large image page.
        text = json.dumps(data, ensure_ascii=False, default=str)
        if json_pattern.search(text) is None:
            return data
        return cast(_T, self._scrub(data, pattern))

    def _scrub(self, data: Any, pattern: re.Pattern[str]) -> Any:
        if isinstance(data, str):
            return pattern.sub(self._replace, data)
        if isinstance(data, dict):
            return {
                self._scrub(key, pattern): self._scrub(value, pattern)
                for key, value in data.items()
            }
        if isinstance(data, list):
            return [self._scrub(item, pattern) for item in data]
        return data

    def _replace(self, match: re.Match[str]) -> str:
        return self._replacements[match.group(0)]

    def _literal_patterns(
        self,
    ) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
        """Patterns of the secrets as text, and as text inside JSON"""
        if self._pattern is None or self._json_pattern is None:
            secrets = sorted(
                (
                    value
                    for value in self._replacements
                    if len(value) >= _MIN_LITERAL_LENGTH
                ),
                key=len,
                reverse=True,
            )
            if not secrets:
                return None
            self._pattern = re.compile('|'.join(map(re.escape, secrets)))
            # The same values as they appear inside a JSON string.
            escaped = {
                json.dumps(s, ensure_ascii=False)[1:-1] for s in secrets
            }
            self._json_pattern = re.compile(
                '|'.join(map(re.escape, sorted(escaped | set(secrets))))
            )
        return self._pattern, self._json_pattern

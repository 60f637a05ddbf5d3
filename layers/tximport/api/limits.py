"""Limits on a JSON request body, checked before anything parses it.

Python's JSON parser and what runs after it fail in ways that are no client's fault: a number of more
than 4,300 digits raises inside `json.loads` (Python's integer-digit limit), an array nested 50,000 deep
exhausts the recursion limit, `1e309` parses as infinity and `1e-400` silently as zero, an escaped lone
UTF-16 surrogate (`"\\ud800"`) parses into a string no encoder can write, and a 10 MB string reaches
the models and the tables. Each of those is the client's mistake and gets a 400 here, naming the field:

| limit | value | code |
| --- | --- | --- |
| body size | 1 MiB; 6 MB for a new reconciliation (up to 20,000 entries) | `RequestTooLarge` (413) |
| nesting of arrays and objects | 32 levels | `NestingTooDeep` |
| one string | 100,000 characters (fields have lower limits of their own) | `StringTooLong` |
| one number | 100 characters | `NumberTooLong` |
| a number's magnitude | zero, or between 1e-300 and 1e300 | `NumberOutOfRange` |
| strings | no lone UTF-16 surrogate escape | `InvalidString` |

The check is a scan with regular expressions (linear, no recursion); only a body that breaks a limit
is walked token by token, to name the field at fault the way validation errors name it (`data.source`,
`transactions.0.text`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import accumulate

MAX_BODY_BYTES = 1024 * 1024
#: the most any route takes (a reconciliation's 20,000 entries): Lambda's synchronous payload limit is 6 MB
LARGEST_BODY_BYTES = 6 * 1000 * 1000
MAX_DEPTH = 32
MAX_STRING_CHARS = 100_000
MAX_NUMBER_CHARS = 100
#: the largest decimal exponent of a number's magnitude (floats end at 1.8e308, and underflow to zero
#: from 1e-324 on)
MAX_EXPONENT = 300

# a complete string literal (unrolled, so a long string is one fast match)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NUMBER = re.compile(r"-?\d[\d.eE+-]*")
_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_TOKEN = re.compile(r'(?P<s>"[^"\\]*(?:\\.[^"\\]*)*")|(?P<open>[\[{])|(?P<close>[\]}])|(?P<colon>:)|(?P<comma>,)'
                    r"|(?P<n>-?\d[\d.eE+-]*)", re.DOTALL)


@dataclass(frozen=True)
class Violation:
    """A limit the body breaks: the answer's status, code and message, and the field at fault."""

    status: int
    code: str
    message: str
    target: str
    #: the field's path in the document (keys and indexes), for a dialect that names fields its own way
    path: tuple[str | int, ...] = ()


#: the longest object key (every field name of every document is far shorter)
MAX_KEY_CHARS = 256
#: a string longer than a key may be, followed by a colon: a key to look at
_LONG_KEY = re.compile(r'"(?:[^"\\]|\\.){' + str(MAX_KEY_CHARS + 1) + r',}"\s*:')


def check_body(text: str, size: int, max_bytes: int = MAX_BODY_BYTES) -> Violation | None:
    """None when the JSON text `text` (of `size` bytes) keeps every limit, else the first it breaks.
    `max_bytes` is the route's body limit (MAX_BODY_BYTES but for the few that take more)."""
    if size > max_bytes:  # whatever its shape: a body over the route's limit is too large, not wrong
        return Violation(413, "RequestTooLarge", f"a request body has at most {max_bytes} bytes", "body")
    longest = max(map(len, _STRING.findall(text)), default=0) - 2
    bare = _STRING.sub('""', text)
    depth = max(accumulate(_STEP[c] for c in _BRACKETS.sub("", bare)), default=0)
    suspicious = (longest > MAX_STRING_CHARS or depth > MAX_DEPTH
                  or any(len(n) > MAX_NUMBER_CHARS or "e" in n or "E" in n for n in _NUMBER.findall(bare))
                  or _SURROGATE_ESCAPE.search(text) is not None
                  or (longest > MAX_KEY_CHARS and _LONG_KEY.search(text) is not None))
    return _walk(text) if suspicious else None


def _walk(text: str) -> Violation | None:
    """Go through the tokens keeping the path; answer the first violation (None: there was none)."""
    path: list[str | int] = []
    frames: list[str] = []  # "object" or "array", one per open bracket
    expect_key = False
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "open":
            frames.append("object" if token == "{" else "array")
            if len(frames) > MAX_DEPTH:
                return Violation(400, "NestingTooDeep", f"arrays and objects nest at most {MAX_DEPTH} deep",
                                 _render(path), tuple(path))
            path.append(0)
            expect_key = token == "{"
        elif kind == "close":
            if frames:
                frames.pop()
                path.pop()
        elif kind == "comma" and frames:
            if frames[-1] == "array":
                path[-1] = int(path[-1]) + 1
            else:
                expect_key = True
        elif kind == "colon":
            expect_key = False
        elif kind == "s" and expect_key and frames and frames[-1] == "object":
            if len(token) - 2 > MAX_KEY_CHARS:  # a key is a name: never echoed back at any length
                return Violation(400, "StringTooLong", f"an object key has at most {MAX_KEY_CHARS} characters",
                                 _render(path[:-1]) if len(path) > 1 else "body", tuple(path[:-1]))
            path[-1] = _decoded(token) or token[1:-1]
        elif kind in ("s", "n"):
            problem = _string_problem(token) if kind == "s" else _number_problem(token)
            if problem is not None:
                return Violation(400, problem[0], problem[1], _render(path), tuple(path))
    return None


def _decoded(token: str) -> str | None:
    try:
        value = json.loads(token)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _string_problem(token: str) -> tuple[str, str] | None:
    if len(token) - 2 > MAX_STRING_CHARS:
        value = _decoded(token)
        if value is None or len(value) > MAX_STRING_CHARS:
            return "StringTooLong", f"a string has at most {MAX_STRING_CHARS} characters"
    if "\\u" in token:
        value = _decoded(token)
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:
            return "InvalidString", "the string holds a lone UTF-16 surrogate (\\ud800-\\udfff): not a character"
    return None


def _number_problem(token: str) -> tuple[str, str] | None:
    if len(token) > MAX_NUMBER_CHARS:
        return "NumberTooLong", f"a number has at most {MAX_NUMBER_CHARS} characters"
    try:
        value = Decimal(token)
    except InvalidOperation:
        return None  # not a JSON number: the parser will say so
    if value != 0 and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        return "NumberOutOfRange", f"{token} is out of range: a number other than zero has a magnitude from " \
                                   f"1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT}"
    return None


def _render(path: list[str | int]) -> str:
    """The path as validation errors write a field: `data.bankAccounts.0.id`; the whole body is `body`."""
    return ".".join(str(p) for p in path) or "body"

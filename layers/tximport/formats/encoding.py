"""Reading statement files as text: encoding detection, streaming decoding, and the parser guard.

The encoding is decided once, from a leading sample (never the whole file):

1. a byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE);
2. UTF-16 without a mark is recognised by its zero bytes;
3. a sample that is valid UTF-8 is UTF-8;
4. a sample in a DOS code page (cp852 Central European, cp850/cp437 Western) that every Windows or
   ISO reading garbles is read in it (`dos_code_page`); a Lithuanian one in cp1257 (`baltic_code_page`);
5. otherwise charset-normalizer chooses among the single-byte encodings banks use (cp1252,
   ISO-8859-1/15, cp1250, ...).

The file is then decoded as a stream. A UTF-8 file that turns out to hold a stray cp1252 byte past
the sample keeps going (that byte is read as cp1252) instead of failing the import. A sample that is
binary or that no candidate decodes raises `FileError` `UnsupportedEncoding`. Text is normalised to
NFC by the parsers (`nfc`) on the fields they keep.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from tximport.formats.base import (
    INVALID_SOURCE_DATA,
    PROCESSING_ERROR,
    UNSUPPORTED_ENCODING,
    FileError,
    ParseEvent,
    ParseOptions,
    Source,
)

SAMPLE_SIZE = 64 * 1024

#: the single-byte encodings charset-normalizer may choose from (banks' exports in practice)
CANDIDATES = ("cp1252", "iso8859_1", "iso8859_15", "cp1250", "iso8859_2")
#: the DOS code pages a sample may be read in (`dos_code_page`), first preferred where they read it alike
DOS_CODE_PAGES = ("cp852", "cp850", "cp437")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: read an undecodable byte as cp1252 (latin-1 where cp1252 has a hole)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    byte = exc.object[exc.start : exc.start + 1]
    try:
        text = byte.decode("cp1252")
    except UnicodeDecodeError:
        text = byte.decode("latin-1")
    return text, exc.start + 1


codecs.register_error("tximport-cp1252", _cp1252_fallback)


def read_sample(source: Source, size: int = SAMPLE_SIZE) -> bytes:
    """The first `size` bytes of the source."""
    with source.open() as raw:
        chunks: list[bytes] = []
        remaining = size
        while remaining > 0:
            chunk = raw.read(remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    return b"".join(chunks)


def detect_encoding(sample: bytes, complete: bool = False) -> str:
    """The Python codec name for a file that starts with `sample` (`complete`: it is the whole file).

    Raises FileError UnsupportedEncoding when the sample is binary or no candidate reads it.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if not sample:
        return "utf-8"
    zero_even = sample[0::2].count(0)
    zero_odd = sample[1::2].count(0)
    half = max(1, len(sample) // 2)
    if zero_odd > half * 0.3 and zero_even < half * 0.05:
        return "utf-16-le"
    if zero_even > half * 0.3 and zero_odd < half * 0.05:
        return "utf-16-be"
    if 0 in sample:
        raise FileError(UNSUPPORTED_ENCODING, "The file is binary, not text in a supported encoding.")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    dos = dos_code_page(sample) or baltic_code_page(sample)
    if dos is not None:
        return dos
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample, cp_isolation=list(CANDIDATES)))
    if not matches:
        # charset-normalizer finds short or irregular text too chaotic to name; text that is clean
        # cp1252 (no undefined bytes, hardly any control characters) is still read as cp1252.
        if _plain_cp1252(sample):
            return "cp1252"
        raise FileError(UNSUPPORTED_ENCODING, "The file's encoding is not supported "
                        "(expected UTF-8, UTF-16, cp1252 or ISO-8859-1).")
    best_chaos = min(match.chaos for match in matches)
    for match in matches:
        # Western files read identically in several code pages (cp1250 shares the German letters):
        # cp1252 wins any tie, as it is what Western banks export.
        if match.chaos <= best_chaos and "cp1252" in (match.encoding, *match.could_be_from_charset):
            return "cp1252"
    return codecs.lookup(matches[0].encoding).name


def _letters(encoding: str) -> frozenset[int]:
    """The bytes from 0x80 up that `encoding` reads as a letter (not a modifier such as cp1252's `ˆ`)."""
    return frozenset(byte for byte in range(0x80, 0x100)
                     if (char := bytes([byte]).decode(encoding, errors="replace")).isalpha()
                     and unicodedata.category(char) != "Lm")


_DOS_LETTERS = {page: _letters(page) for page in DOS_CODE_PAGES}
_WINDOWS_LETTERS = {encoding: _letters(encoding) for encoding in CANDIDATES}
#: ‘ ’ – — no-break space, soft hyphen, middle dot: Windows text puts them inside words (`l’été`,
#: `Baden–Württemberg`, `col·lecció`), so they tell nothing
_NEUTRAL = frozenset(b"\x91\x92\x96\x97\xa0\xad\xb7")
#: a byte from 0x80 up between two letters (ASCII, or bytes from 0x80 up: letters in a DOS reading)
_INSIDE_WORD = re.compile(rb"(?<=[A-Za-z\x80-\xff])[\x80-\xff](?=[A-Za-z\x80-\xff])")
_ASCII = bytes(range(0x80))


def dos_code_page(sample: bytes) -> str | None:
    """The DOS code page (cp852, cp850, cp437) a sample that is not UTF-8 is written in, or None.

    charset-normalizer cannot tell a DOS file from a Windows one: Hungarian cp852 `összevont utánvét`
    reads in cp1252 as `”sszevont ut nv‚t`, in ISO-8859-2 with control characters, each "clean" enough.
    A narrow rule does: the sample is read in a DOS code page where (1) every byte from 0x80 up is a
    letter in it, and (2) inside words (such a byte between two letters), every Windows or ISO reading
    (`CANDIDATES`) gives more punctuation, symbols, controls or holes than letters (`_NEUTRAL` not
    counted). A Windows file's accents are letters in its own reading, and German ö and ß, Spanish ñ,
    French ô are no letters in cp852: no Windows or ISO file of the samples meets both. Where several DOS
    code pages qualify, charset-normalizer picks the least chaotic reading, `DOS_CODE_PAGES` order
    breaking ties (German reads alike in all three). A file that does not meet both (Czech or Slovak
    cp852, whose letters are letters in cp1250 too; a short Polish one) is left to charset-normalizer.
    """
    high = frozenset(sample.translate(None, _ASCII))
    pages = [page for page in DOS_CODE_PAGES if high and high <= _DOS_LETTERS[page]]
    if not pages:
        return None
    inside = [m.group()[0] for m in _INSIDE_WORD.finditer(sample)]
    inside = [byte for byte in inside if byte not in _NEUTRAL]
    for letters in _WINDOWS_LETTERS.values():
        read_as_letters = sum(1 for byte in inside if byte in letters)
        if len(inside) - read_as_letters <= read_as_letters:
            return None
    if len(pages) == 1:
        return pages[0]
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample, cp_isolation=pages))
    if not matches:
        return pages[0]
    best_chaos = min(match.chaos for match in matches)
    readings = {name for match in matches if match.chaos <= best_chaos
                for name in (match.encoding, *match.could_be_from_charset)}
    return next((page for page in pages if page in readings), pages[0])


#: in cp1257, Lithuanian ų Ų (cp1252 ø Ø) and ž Ž (cp1252 þ Þ): no Western language writes ø and þ both
_BALTIC_O_SLASH = frozenset(b"\xf8\xd8")
_BALTIC_THORN = frozenset(b"\xfe\xde")
#: Lithuanian's own letters in cp1257 (ą č ę ė į š ų ū ž, each in both cases), and the punctuation a Lithuanian text
#: may hold beside them („ “ ” – — and the no-break space)
_LITHUANIAN = frozenset("ąčęėįšųūžĄČĘĖĮŠŲŪŽ".encode("cp1257"))
_BALTIC_LETTERS = _LITHUANIAN | frozenset(b"\x84\x93\x94\x96\x97\xa0")
#: the fewest of Lithuanian's nine letters (either case) a sample read as cp1257 must hold
_LITHUANIAN_KINDS = 4
#: a byte from 0x80 up after an ASCII letter and before a letter, a space or the end of a cell (`už`, `Paslaugų`)
_AFTER_LETTER = re.compile(rb"(?<=[A-Za-z])[\x80-\xff](?=[A-Za-z\x80-\xff\s,;\"]|$)")


def baltic_code_page(sample: bytes) -> str | None:
    """cp1257 (Baltic) for a sample that is not UTF-8 and is Lithuanian in it, else None.

    charset-normalizer reads Lithuanian cp1257 as clean cp1252 (`Paslaugø`, `uþ` for `Paslaugų`, `už`: every byte a
    letter in both). A narrow rule tells it: every byte from 0x80 up is one of Lithuanian's own letters in cp1257 (or
    its quotes and dashes), at least four of the nine of them are there, and after letters the sample holds both
    cp1252's ø (cp1257 ų) and þ (cp1257 ž), which no Western language writes together (Danish and Norwegian ø,
    Icelandic þ: a Norwegian text with an Icelandic name, `Bjørn Ingiþórsson`, holds ó, no Lithuanian letter). A
    Baltic file that is not so is left to charset-normalizer.
    """
    high = frozenset(sample.translate(None, _ASCII))
    if not high or not high <= _BALTIC_LETTERS:
        return None
    if len({bytes([b]).decode("cp1257").lower() for b in high & _LITHUANIAN}) < _LITHUANIAN_KINDS:
        return None
    after = {m.group()[0] for m in _AFTER_LETTER.finditer(sample)}
    return "cp1257" if after & _BALTIC_O_SLASH and after & _BALTIC_THORN else None


def fallback_code_page(sample: bytes) -> str:
    """The code page in which a reader that decodes part by part (MT940, message by message) reads a part
    that is not UTF-8, in a file that starts with `sample`: the DOS code page of a sample that is not
    UTF-8 (`dos_code_page`), else cp1252."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return dos_code_page(sample) or "cp1252"
    return "cp1252"


_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}


def _plain_cp1252(sample: bytes) -> bool:
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return False
    controls = sum(1 for byte in sample if byte in _CONTROL)
    return controls <= len(sample) * 0.01


class _ReadAdapter(io.RawIOBase):
    """Gives any object with read() the raw-stream interface TextIOWrapper needs."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def errors_for(encoding: str) -> str:
    """The decode error handler for a detected encoding: UTF-8 reads a stray byte as cp1252."""
    if encoding in ("utf-8", "utf-8-sig"):
        return "tximport-cp1252"
    return "replace"


_errors_for = errors_for


@contextmanager
def open_text(source: Source, encoding: str, newline: str | None = "") -> Iterator[IO[str]]:
    """Open the source as a text stream in `encoding` with universal newlines kept for csv (or, with
    `newline=None`, each of `\\r\\n`, `\\r` and `\\n` read as `\\n`)."""
    text = text_stream(source.open(), encoding, newline)
    try:
        yield text
    finally:
        text.close()


def text_stream(raw: Any, encoding: str, newline: str | None = "") -> IO[str]:
    """A byte stream (anything with read()) as text in `encoding`, newlines kept for csv; closing
    the text stream closes `raw`."""
    if not (hasattr(raw, "read1") and hasattr(raw, "readable")):
        raw = io.BufferedReader(_ReadAdapter(raw), buffer_size=256 * 1024)
    return io.TextIOWrapper(raw, encoding=encoding, errors=_errors_for(encoding), newline=newline)


def decode_sample(sample: bytes, encoding: str) -> str:
    """The sample as text (a multi-byte character cut at its end is dropped)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors=_errors_for(encoding))
    return decoder.decode(sample, final=False)


def nfc(text: str) -> str:
    """NFC-normalised text (ASCII is returned as is, cheaply)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", text)


def file_error_for(exc: Exception) -> Exception:
    """What an exception raised while reading a file becomes: FileError for the file's faults (a
    decode error, a csv error, a bug met by odd data), the exception itself for the store's or the
    machine's (OSError, MemoryError, botocore): those are not the file's fault and may be retried."""
    if isinstance(exc, FileError | OSError | MemoryError):
        return exc
    if isinstance(exc, UnicodeError | LookupError):
        return FileError(UNSUPPORTED_ENCODING, f"The file cannot be decoded: {exc}")
    if isinstance(exc, ValueError | TypeError | IndexError | KeyError | ArithmeticError | csv.Error):
        return FileError(INVALID_SOURCE_DATA, f"The file cannot be read: {exc}")
    if type(exc).__module__.startswith(("botocore", "urllib3")):
        return exc
    return FileError(PROCESSING_ERROR, f"The file could not be processed: {exc}")


class GuardedChain(itertools.chain):  # type: ignore[type-arg]
    """Events chained from blocks whose reading already turns errors into FileError (`file_error_for`):
    `guarded` returns them as they are, without a generator frame per event around them."""


def guard(events: Iterable[ParseEvent]) -> Iterator[ParseEvent]:
    """The events, with any error raised while they are read turned by `file_error_for`."""
    try:
        yield from events
    except Exception as exc:
        mapped = file_error_for(exc)
        if mapped is exc:
            raise
        raise mapped from exc


def guarded(parser: Callable[[Source, ParseOptions], Iterator[ParseEvent]]
            ) -> Callable[[Source, ParseOptions], Iterator[ParseEvent]]:
    """Wrap a parser so broken input only ever surfaces as FileError (or the LineErrors it yields).

    Anything else a parser raises on unexpected bytes (a decode error, a csv error, a bug met by odd
    data) becomes FileError ProcessingError/InvalidSourceData with the cause in its message. Errors
    of the storage (OSError, botocore) pass through: they are not the file's fault and may be retried.
    The parser is called at once (a generator parser does nothing until read anyway); a parser that
    returns a `GuardedChain` has its events returned as they are.
    """

    @functools.wraps(parser)
    def run(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
        try:
            events = parser(source, options)
        except Exception as exc:
            mapped = file_error_for(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        return events if isinstance(events, GuardedChain) else guard(events)

    return run

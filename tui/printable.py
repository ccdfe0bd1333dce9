"""Names from outside shown safely: control and bidi characters become visible escapes.

A file name may hold a newline (it would split a row of `swapdeck jobs` in two), a tab, an
escape sequence the terminal obeys, or a right-to-left override (U+202E) that shows
`gpj.exe` as `exe.jpg`. Every plain-text row of the CLI and every name the TUI shows goes
through `printable`; `--json` keeps the exact text.
"""
from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
# Control, format (bidi marks and overrides, zero-width characters), line and paragraph
# separators, and the lone surrogates a file name that is not UTF-8 decodes to.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# The zero-width joiner only glues emoji together; it moves nothing.
_KEPT = frozenset({"\u200d"})


def printable(text: str) -> str:
    """`text` with each invisible or layout-changing character as an escape like `\\n`,
    `\\x1b` or `\\u202e`; everything else, accents and emoji included, unchanged."""
    if text.isprintable():
        return text
    return "".join(_escape(char) for char in text)


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if char in _KEPT or unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"

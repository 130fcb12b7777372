"""File names as text that can always be printed, stored and serialised.

On POSIX a file name is bytes. Python turns the bytes that are not UTF-8 into lone surrogates (``"caf\\udce9.jpg"``
for the Latin-1 ``café.jpg``), which cannot be written to a UTF-8 terminal, a SQLite or PostgreSQL ``TEXT``
column, or a JSON document that strict parsers accept. :func:`display_path` is the one conversion facerec uses at
each of those edges: valid names come back unchanged, and each byte that is not UTF-8 becomes the four characters
``\\xNN`` (``"caf\\xe9.jpg"``), so the name stays readable, distinct and ASCII-safe. The file itself is always opened
by its real ``Path``.
"""

from __future__ import annotations

import os

__all__ = ["display_path", "display_text"]


def display_path(path: str | os.PathLike[str] | bytes) -> str:
    """``path`` as printable text: undecodable bytes become ``\\xNN``.

    Examples:
        >>> display_path("photos/obama.jpg")
        'photos/obama.jpg'
        >>> display_path(b"caf\\xe9.jpg")
        'caf\\\\xe9.jpg'
        >>> display_path(os.fsdecode(b"caf\\xe9.jpg")) == display_path(b"caf\\xe9.jpg")
        True
    """
    raw = path if isinstance(path, bytes) else os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace")


def display_text(text: str) -> str:
    """``text`` with every lone surrogate (an undecodable byte of a file name) written as ``\\xNN``; other text
    unchanged."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") \
            if _only_escapes(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _only_escapes(text: str) -> bool:
    """Whether every surrogate in ``text`` is one ``surrogateescape`` makes (U+DC80..U+DCFF)."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)

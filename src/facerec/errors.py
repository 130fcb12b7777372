"""The facerec exception tree.

Every error that facerec raises on purpose derives from :class:`FacerecError`, so callers can catch one type::

    FacerecError
    ├── ImageError            an input could not be read as an image (names the file and the reason)
    ├── ModelError            model weights are missing or malformed
    │   ├── ModelNotFoundError    a weights file could not be located (says what was tried and the fix)
    │   └── ModelFormatError      a model file is corrupt, truncated or of an unknown version (names the offset)
    ├── UnknownNameError      a registry name (detector, embedder, ...) is not known; suggests close matches
    ├── FaceNotFoundError     an operation that needs a face found none
    ├── ConfigurationError    an option value is out of range or inconsistent
    └── VideoError            a video, camera or stream could not be opened or stopped early (names the source)

The CLI turns these into a one-line message and a non-zero exit code; library code never prints or exits.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigurationError",
    "FaceNotFoundError",
    "FacerecError",
    "ImageError",
    "ModelError",
    "ModelFormatError",
    "ModelNotFoundError",
    "UnknownNameError",
    "VideoError",
]


class FacerecError(Exception):
    """Root of every error that facerec raises on purpose."""


class ImageError(FacerecError):
    """An input could not be used as an image.

    Attributes:
        source: a printable name of the input (a path, or a description such as ``"<bytes>"``).
        reason: why it was refused, in words.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class ModelError(FacerecError):
    """Model weights are missing or malformed."""


class ModelNotFoundError(ModelError):
    """A weights file could not be located."""


class ModelFormatError(ModelError):
    """A model file is corrupt, truncated, or of a version facerec does not read.

    Attributes:
        path: the file.
        offset: byte offset where reading failed, or ``None`` when not applicable.
    """

    def __init__(self, path: str, reason: str, offset: int | None = None) -> None:
        self.path = path
        self.offset = offset
        where = f" at byte offset {offset}" if offset is not None else ""
        super().__init__(f"{path}: {reason}{where}")


class UnknownNameError(FacerecError, KeyError):
    """A name looked up in a registry does not exist."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        self.kind = kind
        self.name = name
        self.known = known
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}; choose one of {', '.join(known)}.{hint}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class FaceNotFoundError(FacerecError):
    """An operation that needs a face found none."""


class ConfigurationError(FacerecError, ValueError):
    """An option value is out of range or inconsistent with another."""


class VideoError(FacerecError):
    """A video file, camera or stream could not be opened, or stopped before its end.

    Attributes:
        source: a printable name of the source (a path, ``camera 0``, or a URL).
        reason: what went wrong, in words.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")

"""What kind of file is this? Images are recognised by their first bytes, not only by their name.

A folder of face photos may hold GIFs named ``subject01.happy`` (as in a classic lighting data set) or JPEGs
without an ending; a folder of photos may also hold a video or a text file. :func:`file_kind` reads the first bytes
of a file and says ``"image"``, ``"video"`` or ``"other"``, so that folder searches take every picture and can say
what they left out (:func:`describe_skipped`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

__all__ = ["VIDEO_EXTENSIONS", "FileKind", "describe_skipped", "file_kind", "sniff_kind"]

FileKind = Literal["image", "video", "other"]

#: Endings taken as video when the first bytes do not tell (lower case, with the dot).
VIDEO_EXTENSIONS: frozenset[str] = frozenset({
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv",
    ".3gp", ".ogv",
})

#: Bytes read to recognise a file.
HEADER_BYTES = 32

_IMAGE_PREFIXES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",  # PNG
    b"GIF87a", b"GIF89a",  # GIF
    b"II*\x00", b"MM\x00*",  # TIFF
    b"BM",  # BMP
)
_VIDEO_PREFIXES = (
    b"\x1a\x45\xdf\xa3",  # Matroska / WebM
    b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3",  # MPEG program stream / video
    b"FLV\x01",  # Flash video
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",  # ASF / WMV
)
#: ISO base media ``ftyp`` brands that are still pictures (the rest are taken as video).
_IMAGE_BRANDS = (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1")


def sniff_kind(header: bytes) -> FileKind | None:
    """The kind of file whose first bytes are ``header``, or ``None`` when they do not tell."""
    if header.startswith(_IMAGE_PREFIXES):
        return "image"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "image"
    if len(header) >= 3 and header[:1] == b"P" and header[1:2] in b"123456" and header[2:3].isspace():
        return "image"  # PBM/PGM/PPM
    if header.startswith(_VIDEO_PREFIXES):
        return "video"
    if header[:4] == b"RIFF" and header[8:12] == b"AVI ":
        return "video"
    if header[4:8] == b"ftyp":
        return "image" if header[8:12] in _IMAGE_BRANDS else "video"
    return None  # e.g. an MPEG transport stream, which 32 bytes cannot tell: the ending decides


def file_kind(path: str | os.PathLike[str]) -> FileKind:
    """``"image"``, ``"video"`` or ``"other"`` for the file at ``path``, from its first bytes (then its ending
    for videos); a file that cannot be read is ``"other"``."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(HEADER_BYTES)
    except OSError:
        return "other"
    kind = sniff_kind(header)
    if kind is not None:
        return kind
    return "video" if os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS else "other"


def describe_skipped(skipped: Sequence[tuple[Path, FileKind]], *, names: int = 3) -> str | None:
    """One line naming the files a folder search left out, or ``None`` when there are none.

    Examples:
        >>> describe_skipped([(Path("a/clip.mp4"), "video")])
        'skipped 1 video file (a/clip.mp4): see facerec video'
        >>> describe_skipped([(Path("notes.txt"), "other"), (Path("b.csv"), "other")])
        'skipped 2 files that are not images (notes.txt, b.csv)'
    """
    if not skipped:
        return None
    parts = []
    for kind, what in (("video", "video file"), ("other", "file")):
        files = [str(path) for path, k in skipped if k == kind]
        if not files:
            continue
        shown = ", ".join(files[:names]) + (f" and {len(files) - names} more" if len(files) > names else "")
        plural = "s" if len(files) > 1 else ""
        if kind == "video":
            parts.append(f"{len(files)} {what}{plural} ({shown}): see facerec video")
        else:
            parts.append(f"{len(files)} {what}{plural} that {'are not images' if plural else 'is not an image'}"
                         f" ({shown})")
    return "skipped " + "; ".join(parts)

"""Files on disk, said once: which endings are images, finding the images under folders, listing a folder of
people (one sub-folder of photos per person) and hashing a file.

Every surface and library module that walks folders goes through these, so a photo counts as an image (or a
hidden file as skipped) the same way everywhere.

Examples:
    >>> ".jpg" in IMAGE_SUFFIXES and ".JPG".lower() in IMAGE_SUFFIXES
    True
    >>> is_hidden(Path("photos/._shadow.jpg")), is_hidden(Path("photos/ann.jpg"))
    (True, False)
    >>> bytes_sha256(b"abc")[:16]
    'ba7816bf8f01cfea'
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from facerec.filetypes import FileKind, file_kind

__all__ = [
    "IMAGE_SUFFIXES",
    "bytes_sha256",
    "file_sha256",
    "find_images",
    "image_files",
    "is_hidden",
    "people_folders",
]

#: File name endings (lower case) taken as images when a folder is searched. Files named explicitly are always
#: tried, whatever their ending.
IMAGE_SUFFIXES: frozenset[str] = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".pgm", ".ppm", ".pbm", ".pnm",
})


def is_hidden(path: Path) -> bool:
    """Whether a file or folder is hidden (its name starts with ``.``: ``.DS_Store``, macOS ``._photo.jpg``)."""
    return path.name.startswith(".")


def _is_image_name(name: str, suffixes: Iterable[str] = IMAGE_SUFFIXES) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in suffixes


def find_images(paths: Iterable[str | os.PathLike[str]], *,
                extensions: Iterable[str] = IMAGE_SUFFIXES,
                skipped: list[tuple[Path, FileKind]] | None = None) -> list[Path]:
    """The image files named by ``paths``, with folders searched recursively.

    A path that names a file (or names nothing at all) is kept as given, whatever its ending, so that a missing or
    unreadable file is reported by whoever processes it rather than silently dropped. A folder contributes every
    file below it whose ending is in ``extensions`` (case-insensitive) or whose first bytes are an image's (a GIF
    named ``subject01.happy``: :func:`facerec.filetypes.file_kind`), in sorted order; hidden files and folders
    (names starting with ``.``, such as ``.DS_Store`` or macOS ``._photo.jpg`` shadows) are skipped. A file reached
    twice is listed once.

    Args:
        paths: files and folders.
        extensions: endings, with the dot, that count as images inside folders without looking inside.
        skipped: if given, each file of a folder that is not an image is appended to it with its kind
            (``"video"`` or ``"other"``; see :func:`facerec.filetypes.describe_skipped`).

    Returns:
        The files, in the order of ``paths`` (each folder's files sorted).
    """
    endings = {e.lower() for e in extensions}
    found: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve() if path.exists() else path
        if key not in seen:
            seen.add(key)
            found.append(path)

    for item in paths:
        path = Path(item)
        if not path.is_dir():
            add(path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                kind = "image" if _is_image_name(name, endings) else file_kind(Path(root) / name)
                if kind == "image":
                    add(Path(root) / name)
                elif skipped is not None:
                    skipped.append((Path(root) / name, kind))
    return found


def image_files(folder: Path) -> list[Path]:
    """The images directly inside ``folder`` (not below it), sorted; hidden files and other endings left out."""
    return sorted(p for p in folder.iterdir() if p.is_file() and _is_image_name(p.name))


def people_folders(root: Path) -> dict[str, list[Path]]:
    """``{person: photos}`` of a folder of people: every sub-folder that is not hidden, by name, with its
    :func:`image_files` (possibly none). Callers apply their own minimum and say what they expected."""
    return {folder.name: image_files(folder)
            for folder in sorted(p for p in root.iterdir() if p.is_dir() and not is_hidden(p))}


def bytes_sha256(data: bytes) -> str:
    """The hex SHA-256 of some bytes (a photo already read, a model file in memory)."""
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB pieces (cached per path, size and modification time)."""
    stat = os.stat(path)
    return _sha256_cached(os.fspath(path), stat.st_size, stat.st_mtime_ns)

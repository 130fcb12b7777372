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
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from facerec.filetypes import FileKind, file_kind

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageScan",
    "bytes_sha256",
    "file_sha256",
    "find_images",
    "image_files",
    "is_hidden",
    "people_folders",
    "scan_images",
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


@dataclass(frozen=True)
class ImageScan:
    """What :func:`scan_images` found.

    Attributes:
        files: the image files, each once (see :func:`find_images`).
        duplicates: ``(path, first)`` for each path left out because it is the same file as ``first`` (given
            twice, or reached again through a symbolic link).
        loops: folders not entered again because a symbolic link led back to a folder already being searched.
        skipped: each file of a folder that is not an image, with its kind (``"video"`` or ``"other"``; see
            :func:`facerec.filetypes.describe_skipped`).
    """

    files: list[Path]
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)
    loops: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, FileKind]] = field(default_factory=list)


def find_images(paths: Iterable[str | os.PathLike[str]], *,
                extensions: Iterable[str] = IMAGE_SUFFIXES,
                skipped: list[tuple[Path, FileKind]] | None = None) -> list[Path]:
    """The image files named by ``paths``, with folders searched recursively.

    A path that names a file (or names nothing at all) is kept as given, whatever its ending, so that a missing or
    unreadable file is reported by whoever processes it rather than silently dropped. A folder contributes every
    file below it whose ending is in ``extensions`` (case-insensitive) or whose first bytes are an image's (a GIF
    named ``subject01.happy``: :func:`facerec.filetypes.file_kind`), in sorted order; hidden files and folders
    (names starting with ``.``, such as ``.DS_Store`` or macOS ``._photo.jpg`` shadows) are skipped. Symbolic
    links to files and folders are followed, except a link that leads back into a folder being searched (a loop).
    A file reached twice is listed once (:func:`scan_images` says which were left out).

    Args:
        paths: files and folders.
        extensions: endings, with the dot, that count as images inside folders without looking inside.
        skipped: if given, each file of a folder that is not an image is appended to it with its kind
            (``"video"`` or ``"other"``; see :func:`facerec.filetypes.describe_skipped`).

    Returns:
        The files, in the order of ``paths`` (each folder's files sorted).
    """
    scan = scan_images(paths, extensions=extensions)
    if skipped is not None:
        skipped.extend(scan.skipped)
    return scan.files


def scan_images(paths: Iterable[str | os.PathLike[str]], *,
                extensions: Iterable[str] = IMAGE_SUFFIXES) -> ImageScan:
    """:func:`find_images`, also reporting the duplicates, the symbolic-link loops and the files that are not
    images it left out."""
    endings = {e.lower() for e in extensions}
    found: list[Path] = []
    seen: dict[Path, Path] = {}
    duplicates: list[tuple[Path, Path]] = []
    loops: list[Path] = []
    skipped: list[tuple[Path, FileKind]] = []

    def add(path: Path) -> None:
        key = path.resolve() if path.exists() else path
        if key in seen:
            duplicates.append((path, seen[key]))
        else:
            seen[key] = path
            found.append(path)

    def walk(folder: Path, ancestors: frozenset[Path]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return  # an unreadable folder holds nothing we can process
        folders: list[Path] = []
        for entry in entries:  # a folder's own files first, then its sub-folders (as os.walk goes)
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            try:
                is_dir = entry.is_dir()  # follows symbolic links
            except OSError:
                is_dir = False
            if is_dir:
                folders.append(path)
                continue
            kind = "image" if _is_image_name(entry.name, endings) else file_kind(path)
            if kind == "image":
                add(path)
            else:
                skipped.append((path, kind))
        for path in folders:
            real = path.resolve()
            if real in ancestors:
                loops.append(path)
                continue
            walk(path, ancestors | {real})

    for item in paths:
        path = Path(item)
        if not path.is_dir():
            add(path)
            continue
        walk(path, frozenset({path.resolve()}))
    return ImageScan(found, duplicates, loops, skipped)


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

"""Opening a gallery by where it lives: :func:`open_gallery` picks the backend from a path or a ``postgresql://``
DSN. The top floor of the gallery's storage: it stands on the backends, which stand on the interface.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from facerec.gallery.base import Gallery
from facerec.gallery.sqlite import SQLiteGallery

__all__ = ["default_gallery_path", "is_postgres_dsn", "open_gallery"]


def default_gallery_path() -> Path:
    """Where the gallery lives when none is named.

    ``$FACEREC_GALLERY`` if set, else ``$XDG_DATA_HOME/facerec/gallery.sqlite``, else
    ``~/.local/share/facerec/gallery.sqlite``.
    """
    env = os.environ.get("FACEREC_GALLERY")
    if env:
        return Path(env).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data_home) / "facerec" / "gallery.sqlite"


def is_postgres_dsn(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_gallery(location: str | os.PathLike[str] | None = None, *, create: bool = True,
                 **options: Any) -> Gallery:
    """Open a gallery: a SQLite file, or PostgreSQL when ``location`` is a ``postgresql://`` DSN.

    Args:
        location: a file path or a DSN; ``None`` for :func:`default_gallery_path`.
        create: create the gallery if it does not exist (otherwise :class:`GalleryError`).
        options: passed on to the backend (e.g. ``schema`` for PostgreSQL).

    Raises:
        GalleryError: it cannot be opened (missing with ``create=False``, not a gallery, unreachable server, ...).
    """
    if location is None:
        location = default_gallery_path()
    if is_postgres_dsn(location):
        from facerec.gallery.postgres import PostgresGallery

        return PostgresGallery(str(location), create=create, **options)
    return SQLiteGallery(location, create=create, **options)

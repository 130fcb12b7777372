"""Opening a photo library: the factory above the store interface (:mod:`facerec.library.store`) and its two
backends, so that the interface never imports its own implementations."""

from __future__ import annotations

import os
from typing import Any

from facerec.library.postgres import PostgresPhotoStore
from facerec.library.sqlite import SQLitePhotoStore
from facerec.library.store import PhotoStore

__all__ = ["open_store"]


def open_store(location: str | os.PathLike[str] | None = None, **options: Any) -> PhotoStore:
    """Open (creating when missing) the photo library beside the gallery at ``location``.

    The gallery is opened first, so its own tables exist before the library's are added (a SQLite file that holds
    only library tables would not be a gallery).

    Args:
        location: a SQLite file or a ``postgresql://`` DSN; ``None`` for the default gallery.
        options: for PostgreSQL, ``schema`` (default ``facerec``, the gallery's).

    Raises:
        GalleryError: the gallery cannot be opened.
        LibraryError: the library's tables cannot be created or are of a newer layout.
    """
    from facerec.gallery import open_gallery
    from facerec.gallery.factory import default_gallery_path, is_postgres_dsn

    place = default_gallery_path() if location is None else location
    with open_gallery(place, create=True, **options):
        pass
    if is_postgres_dsn(place):
        return PostgresPhotoStore(str(place), **options)
    return SQLitePhotoStore(place)

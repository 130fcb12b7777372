"""Photo libraries: every face of every photo, indexed into the gallery's database, and the people found in them.

Quick start::

    from facerec.library import index_photos, open_store

    with open_store("photos.sqlite") as store:          # or a postgresql:// DSN (the gallery's database)
        report = index_photos(store, ["~/Pictures"], workers=2)
        stored, faces = report.progress.stored, report.progress.faces   # photos and faces indexed

The pieces: :class:`PhotoStore` (the library's tables, SQLite or PostgreSQL, beside a gallery's);
:func:`index_photos` (resumable, batched, failures recorded) with a :class:`LocalPool` of worker processes or a
:class:`~facerec.library.ray_pool.RayPool` of Ray actors; :mod:`facerec.library.people` (clusters of faces,
naming, splitting, rejecting, the photos of a person).

Why a package of its own rather than more gallery tables: a gallery holds *enrolled people*; a library holds
*every face*, most of them of nobody named yet. The library sits above the gallery (it enrolls a named cluster
through the gallery's own ``add_samples``) and never changes the gallery's tables.
"""

from facerec.library.factory import open_store
from facerec.library.index import (
    DEFAULT_BATCH_SIZE,
    AnalyzerPool,
    IndexProgress,
    IndexReport,
    LocalPool,
    analyze_batch,
    analyze_photo,
    index_photos,
)
from facerec.library.records import (
    ClusterSummary,
    IndexedFace,
    LibraryError,
    PhotoResult,
    PhotoTask,
    StoredFace,
)
from facerec.library.store import BatchOutcome, FaceTable, PhotoStore

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "AnalyzerPool",
    "BatchOutcome",
    "ClusterSummary",
    "FaceTable",
    "IndexProgress",
    "IndexReport",
    "IndexedFace",
    "LibraryError",
    "LocalPool",
    "PhotoResult",
    "PhotoStore",
    "PhotoTask",
    "StoredFace",
    "analyze_batch",
    "analyze_photo",
    "index_photos",
    "open_store",
]

"""Galleries of people for 1:N identification: enroll people from photos, then name the faces of new photos.

Quick start::

    from facerec.gallery import enroll, identify, open_gallery

    with open_gallery("people.sqlite") as gallery:          # or a postgresql:// DSN
        enroll(gallery, "photos/people")                    # people/<name>/*.jpg, one face per photo
        answers = identify(gallery, "party.jpg")            # one answer per face
        names = [(who.name, who.distance) for who in answers]   # "unknown" beyond the threshold

The pieces: :class:`Gallery` (the interface) with :class:`SQLiteGallery` (one file, the default) and
:class:`PostgresGallery` (PostgreSQL + pgvector); :func:`enroll` (a folder of people -> samples, one commit per
photo); :func:`identify` (faces -> nearest person or ``"unknown"``); :mod:`facerec.gallery.search` (exact and HNSW
nearest-person search). A gallery is bound to the embedding model of its first samples (:func:`model_id_for`).
"""

from facerec.gallery.base import Gallery, model_id_for
from facerec.gallery.enroll import EnrollOutcome, EnrollReport, enroll
from facerec.gallery.errors import GalleryError, ModelMismatchError, PersonNotFoundError
from facerec.gallery.factory import default_gallery_path, open_gallery
from facerec.gallery.identify import UNKNOWN, Identification, identify
from facerec.gallery.records import EmbeddingTable, Match, NewSample, Person, PersonRef, Sample
from facerec.gallery.search import GallerySearcher
from facerec.gallery.sqlite import SQLiteGallery

__all__ = [
    "UNKNOWN",
    "EmbeddingTable",
    "EnrollOutcome",
    "EnrollReport",
    "Gallery",
    "GalleryError",
    "GallerySearcher",
    "Identification",
    "Match",
    "ModelMismatchError",
    "NewSample",
    "Person",
    "PersonNotFoundError",
    "PersonRef",
    "PostgresGallery",
    "SQLiteGallery",
    "Sample",
    "default_gallery_path",
    "enroll",
    "identify",
    "model_id_for",
    "open_gallery",
]


def __getattr__(name: str) -> object:
    # the PostgreSQL backend imports lazily: psycopg is an optional extra
    if name == "PostgresGallery":
        from facerec.gallery.postgres import PostgresGallery

        return PostgresGallery
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The gallery's errors, all under :class:`facerec.errors.FacerecError`::

    FacerecError
    └── GalleryError              a gallery cannot be opened, read or changed as asked (names the gallery and why)
        ├── PersonNotFoundError       no person with that name or id
        ├── SampleNotFoundError       no face sample with that id
        ├── ApiKeyNotFoundError       no API key with that name or id
        ├── NameTakenError            a person (or API key) of that name exists already
        └── ModelMismatchError        embeddings from one model were added to or searched in a gallery of another
"""

from __future__ import annotations

from facerec.errors import FacerecError

__all__ = ["ApiKeyNotFoundError", "GalleryError", "ModelMismatchError", "NameTakenError", "PersonNotFoundError",
           "SampleNotFoundError"]


class GalleryError(FacerecError):
    """A gallery cannot be opened, read or changed as asked."""


class PersonNotFoundError(GalleryError, KeyError):
    """No person with that name or id is in the gallery."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SampleNotFoundError(GalleryError, KeyError):
    """No face sample with that id is in the gallery."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ApiKeyNotFoundError(GalleryError, KeyError):
    """No API key with that name or id is in the gallery."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NameTakenError(GalleryError):
    """A person (or an API key) of that name is in the gallery already."""


class ModelMismatchError(GalleryError):
    """Embeddings of one model met a gallery bound to another.

    Distances between embeddings of different models (or of one model under different alignments) mean nothing, so
    a gallery records the model id of its first sample and refuses any other.

    Attributes:
        gallery_model: the model id the gallery is bound to.
        given_model: the model id that was offered.
    """

    def __init__(self, gallery_model: str, given_model: str, *, where: str = "") -> None:
        self.gallery_model = gallery_model
        self.given_model = given_model
        place = f"{where}: " if where else ""
        super().__init__(
            f"{place}this gallery holds embeddings of model {gallery_model!r}, but these come from {given_model!r}; "
            f"use the same embedder and alignment as at enrollment, or enroll the people again into a new gallery")

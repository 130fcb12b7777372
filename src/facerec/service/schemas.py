"""The request and response bodies of the API, as pydantic models (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApiKeyOut", "BoxOut", "CandidateOut", "ClusterFaceOut", "ClusterNameIn", "ClusterOut",
    "ClusteringOut", "EmbeddedFaceOut", "EnrollFileOut", "EnrollOut", "ErrorBody", "ErrorOut", "FaceOut",
    "FacesOut", "FileError", "HealthOut", "IdentifiedFaceOut", "IdentifyImageOut", "IdentifyOut",
    "ImageFacesOut", "ImagesOut", "KeyCreateIn", "KeyCreatedOut", "KeysOut", "MeOut", "MergeIn",
    "PeopleOut", "PersonCreateIn", "PersonOut", "PersonUpdateIn", "SampleOut", "VerifyOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- errors ---------------------------------------------------------------------------------------------------------
class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. not_an_image, forbidden, name_taken")
    message: str = Field(description="what went wrong and what to do, in words")
    model_config = ConfigDict(extra="allow")


class ErrorOut(BaseModel):
    error: ErrorBody


# -- health ---------------------------------------------------------------------------------------------------------
class HealthOut(_Out):
    status: Literal["ok"]
    models: dict[str, Any] = Field(description="detector, fallback detector, embedder, landmarks and model id")
    people: int
    samples: int
    version: str


# -- faces of photos ------------------------------------------------------------------------------------------------
class BoxOut(_Out):
    left: int
    top: int
    right: int
    bottom: int


class FaceOut(_Out):
    box: BoxOut
    score: float = Field(description="detector score; higher is more confident")
    detector: str
    landmarks: list[list[int]] | None = Field(default=None, description="[x, y] points")


class EmbeddedFaceOut(FaceOut):
    embedding: list[float] = Field(description="128-d embedding (Euclidean distance < 0.6 is typically the same "
                                               "person)")


class ImageFacesOut(_Out):
    file: str
    width: int
    height: int
    faces: list[EmbeddedFaceOut] | list[FaceOut]


class ImagesOut(_Out):
    images: list[ImageFacesOut]


class VerifyOut(_Out):
    distance: float = Field(description="Euclidean distance between the two faces; lower is more alike")
    threshold: float = Field(description="largest distance still called the same person; lower is stricter")
    same: bool
    probability: float | None = Field(description="calibrated P(same person | distance); null without a "
                                                  "calibration (facerec serve --calibration)")


class CandidateOut(_Out):
    person_id: int
    name: str
    distance: float
    sample_id: int
    probability: float | None


class IdentifiedFaceOut(_Out):
    box: BoxOut
    score: float
    name: str = Field(description='the nearest person within the threshold, else "unknown"')
    person_id: int | None
    distance: float | None = Field(description="to the nearest person, known or not; null for an empty gallery")
    probability: float | None
    candidates: list[CandidateOut]


class IdentifyImageOut(_Out):
    file: str
    width: int
    height: int
    faces: list[IdentifiedFaceOut]


class IdentifyOut(_Out):
    threshold: float
    images: list[IdentifyImageOut]


# -- people and their faces -----------------------------------------------------------------------------------------
class PersonCreateIn(_In):
    name: str = Field(min_length=1, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)


class PersonUpdateIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200, description="a new name")
    metadata: dict[str, Any] | None = Field(default=None, description="replaces the metadata")


class MergeIn(_In):
    into: str = Field(min_length=1, description="the person who keeps the samples; the merged one is removed")


class PersonOut(_Out):
    id: int
    name: str
    metadata: dict[str, Any]
    created: str
    samples: int
    thumbnail: int | None = Field(default=None, description="a face id whose crop shows the person")


class PeopleOut(_Out):
    total: int
    offset: int
    limit: int
    people: list[PersonOut]


class SampleOut(_Out):
    id: int
    person_id: int
    source: str | None
    box: BoxOut | None
    score: float | None
    created: str
    has_crop: bool


class FacesOut(_Out):
    person: PersonOut
    faces: list[SampleOut]


class EnrollFileOut(_Out):
    file: str
    status: str = Field(description="enrolled, unchanged, no_face, several_faces or unreadable")
    sample_id: int | None
    faces: int | None
    message: str


class EnrollOut(_Out):
    person: PersonOut
    counts: dict[str, int]
    files: list[EnrollFileOut]


# -- clustering -----------------------------------------------------------------------------------------------------
class FileError(_Out):
    file: str
    code: str
    message: str


class ClusterFaceOut(_Out):
    file: str
    box: BoxOut
    crop: str | None = Field(description="base64 JPEG of the face")


class ClusterOut(_Out):
    label: int
    size: int
    faces: list[ClusterFaceOut]


class ClusteringOut(_Out):
    id: str = Field(description="name a cluster with POST /api/v1/clusters/{id}/{label}/name")
    clusters: list[ClusterOut]
    errors: list[FileError]


class ClusterNameIn(_In):
    name: str = Field(min_length=1, max_length=200)


# -- keys -----------------------------------------------------------------------------------------------------------
class KeyCreateIn(_In):
    name: str = Field(min_length=1, max_length=200)
    role: Literal["read", "write", "admin"]


class ApiKeyOut(_Out):
    id: int
    name: str
    role: str
    prefix: str
    created: str


class KeyCreatedOut(ApiKeyOut):
    key: str = Field(description="the key itself: shown this once, stored only as a hash")


class KeysOut(_Out):
    keys: list[ApiKeyOut]


class MeOut(_Out):
    name: str | None
    role: str
    auth: bool = Field(description="false when the server runs with --no-auth")

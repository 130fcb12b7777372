"""People: list (paged), add, show, rename or change metadata, merge, delete; enroll photos and list faces.

Each route is one call of the gallery (:class:`~facerec.gallery.Gallery`) or of :func:`~facerec.gallery.enroll.
enroll_photo` (through the inference threads), as the ``facerec people`` and ``facerec enroll`` verbs make.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from facerec.gallery import Gallery, Person
from facerec.service.deps import Files, ReadKey, Service, WriteKey, image_body
from facerec.service.errors import ServiceError
from facerec.service.schemas import (
    BoxOut,
    EnrollFileOut,
    EnrollOut,
    ErrorOut,
    FacesOut,
    MergeIn,
    PeopleOut,
    PersonCreateIn,
    PersonOut,
    PersonUpdateIn,
    SampleOut,
)

__all__ = [
    "add_person",
    "delete_person",
    "enroll",
    "get_person",
    "list_faces",
    "list_people",
    "merge_person",
    "person_out",
    "router",
    "sample_out",
    "update_person",
]

router = APIRouter(tags=["people"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422, 503)}


def person_out(gallery: Gallery, person: Person, *, thumbnail: bool = True) -> PersonOut:
    """A person as the API shows them, with a face id to show as their thumbnail."""
    face = None
    if thumbnail and person.sample_count:
        face = next((s.id for s in gallery.samples_of(person) if s.has_crop), None)
    return PersonOut(id=person.id, name=person.name, metadata=person.metadata, created=person.created.isoformat(),
                     samples=person.sample_count, thumbnail=face)


def sample_out(sample: Any) -> SampleOut:
    return SampleOut(id=sample.id, person_id=sample.person_id, source=sample.source, score=sample.score,
                     box=BoxOut(**sample.box.to_dict()) if sample.box else None, created=sample.created.isoformat(),
                     has_crop=sample.has_crop)


@router.get("/people", response_model=PeopleOut, responses=_ERRORS, summary="The people, by name, a page at a time")
def list_people(service: Service, _: ReadKey,
                offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                q: Annotated[str | None, Query(description="only names containing this (case-insensitive)")] = None
                ) -> PeopleOut:
    gallery = service.gallery
    everyone = gallery.list_people()
    if q:
        everyone = [p for p in everyone if q.lower() in p.name.lower()]
    page = everyone[offset:offset + limit]
    return PeopleOut(total=len(everyone), offset=offset, limit=limit,
                     people=[person_out(gallery, p) for p in page])


@router.post("/people", response_model=PersonOut, status_code=201, responses=_ERRORS, summary="Add a person")
def add_person(body: PersonCreateIn, service: Service,
               _: WriteKey) -> PersonOut:
    gallery = service.gallery
    return person_out(gallery, gallery.add_person(body.name, body.metadata), thumbnail=False)


@router.get("/people/{name}", response_model=PersonOut, responses=_ERRORS, summary="One person")
def get_person(name: str, service: Service,
               _: ReadKey) -> PersonOut:
    gallery = service.gallery
    return person_out(gallery, gallery.get_person(name))


@router.patch("/people/{name}", response_model=PersonOut, responses=_ERRORS,
              summary="Rename a person and/or replace their metadata")
def update_person(name: str, body: PersonUpdateIn, service: Service,
                  _: WriteKey) -> PersonOut:
    gallery = service.gallery
    person = gallery.get_person(name)
    if body.name is None and body.metadata is None:
        raise ServiceError(422, "bad_field", "give a new name and/or metadata")
    if body.metadata is not None:
        person = gallery.set_metadata(person, body.metadata)
    if body.name is not None and body.name != person.name:
        person = gallery.rename_person(person, body.name)
    return person_out(gallery, person)


@router.delete("/people/{name}", responses=_ERRORS, summary="Delete a person with all their faces")
def delete_person(name: str, service: Service,
                  _: WriteKey) -> dict[str, Any]:
    gallery = service.gallery
    person = gallery.get_person(name)
    return {"name": person.name, "removed_samples": gallery.remove_person(person)}


@router.post("/people/{name}/merge", response_model=PersonOut, responses=_ERRORS,
             summary="Move every face of this person to another and remove this one")
def merge_person(name: str, body: MergeIn, service: Service,
                 _: WriteKey) -> PersonOut:
    gallery = service.gallery
    return person_out(gallery, gallery.merge_people(name, body.into))


@router.get("/people/{name}/faces", response_model=FacesOut, responses=_ERRORS, summary="A person's faces")
def list_faces(name: str, service: Service,
               _: ReadKey) -> FacesOut:
    gallery = service.gallery
    person = gallery.get_person(name)
    return FacesOut(person=person_out(gallery, person, thumbnail=False),
                    faces=[sample_out(s) for s in gallery.samples_of(person)])


@router.post("/people/{name}/faces", response_model=EnrollOut, status_code=201,
             responses={**_ERRORS, 200: {"model": EnrollOut, "description": "every photo was stored already"},
                        400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
             openapi_extra=image_body(),
             summary="Enroll photos of a person (created when new): one face per photo, an outcome per photo")
async def enroll(name: str, response: Response, service: Service,
                 _: WriteKey, files: Files
                 ) -> EnrollOut:
    if not name.strip():
        raise ServiceError(422, "bad_field", "a person's name must not be empty")
    results = await service.run(service.enroll, name.strip(), files["file"])
    entries = [EnrollFileOut(file=str(o.path), status=o.status, sample_id=o.sample_id,
                             faces=o.faces, message=o.message) for o, _, _ in results]
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    if not any(o.ok for o, _, _ in results):
        outcome, status, code = results[0]
        if status is None:
            status, code = 422, "no_usable_face"
        raise ServiceError(status, code, f"{outcome.path}: {outcome.message or outcome.status}",
                           details={"files": [e.model_dump() for e in entries]})
    if not any(o.status == "enrolled" for o, _, _ in results):
        response.status_code = 200
    gallery = service.gallery
    return EnrollOut(person=person_out(gallery, gallery.get_person(name.strip())), counts=counts, files=entries)

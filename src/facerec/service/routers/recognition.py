"""Photos in, faces out: detect, embed, verify, identify (``?draw=true`` for the annotated picture) and cluster.

Each route reads the photos, hands one blocking job to the inference threads and translates its answer; the work
is the library's (:class:`~facerec.analyzer.FaceAnalyzer`, :func:`facerec.verify`,
:func:`facerec.gallery.identify`, :func:`facerec.recognition.cluster_faces`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from facerec.service.deps import FilePair, Files, ReadKey, Service, WriteKey, image_body
from facerec.service.errors import ServiceError
from facerec.service.runtime import crop_base64
from facerec.service.schemas import (
    BoxOut,
    CandidateOut,
    ClusterFaceOut,
    ClusteringOut,
    ClusterNameIn,
    ClusterOut,
    EmbeddedFaceOut,
    ErrorOut,
    FaceOut,
    FileError,
    IdentifiedFaceOut,
    IdentifyImageOut,
    IdentifyOut,
    ImageFacesOut,
    ImagesOut,
    VerifyOut,
)

__all__ = ["cluster", "detect", "embed", "identify", "name_cluster", "router", "verify"]

router = APIRouter(tags=["recognition"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 401, 403, 413, 415, 422, 503)}


def _face(face: Any, *, embedding: bool) -> FaceOut:
    fields = face.to_dict(with_embedding=embedding)
    return EmbeddedFaceOut(**fields) if embedding else FaceOut(**fields)


@router.post("/detect", response_model=ImagesOut, responses=_ERRORS, openapi_extra=image_body(),
             summary="Faces in each photo: box, score, landmarks")
async def detect(service: Service, _: ReadKey,
                 files: Files,
                 landmarks: Annotated[int, Query(description="landmark points per face: 5 or 68")] = 5) -> ImagesOut:
    if landmarks not in (5, 68):
        raise ServiceError(422, "bad_field", f"landmarks must be 5 or 68, got {landmarks}")
    found = await service.run(service.detect, files["file"], landmarks)
    return ImagesOut(images=[ImageFacesOut(file=p.name, width=p.size[0], height=p.size[1],
                                           faces=[_face(f, embedding=False) for f in faces]) for p, faces in found])


@router.post("/embed", response_model=ImagesOut, responses=_ERRORS, openapi_extra=image_body(),
             summary="Faces in each photo with their 128-d embeddings")
async def embed(service: Service, _: ReadKey,
                files: Files) -> ImagesOut:
    found = await service.run(service.embed, files["file"])
    return ImagesOut(images=[ImageFacesOut(file=p.name, width=p.size[0], height=p.size[1],
                                           faces=[_face(f, embedding=True) for f in faces]) for p, faces in found])


@router.post("/verify", response_model=VerifyOut, responses=_ERRORS,
             openapi_extra=image_body(("file1", "file2"), several=False),
             summary="Are the largest faces of two photos the same person?")
async def verify(service: Service, _: ReadKey,
                 files: FilePair,
                 threshold: Annotated[float | None, Query(gt=0, description="largest distance called the same person; "
                                                                       "lower is stricter")] = None) -> VerifyOut:
    result = await service.run(service.verify, files["file1"][0], files["file2"][0], threshold or service.threshold)
    return VerifyOut(distance=result.distance, threshold=result.threshold, same=result.same,
                     probability=service.probability(result.distance))


@router.post("/identify", response_model=IdentifyOut, responses={
    **_ERRORS, 200: {"content": {"image/jpeg": {}}, "description": "JSON, or with draw=true the annotated photo"}},
    openapi_extra=image_body(), summary="Name every face of each photo from the gallery")
async def identify(service: Service, _: ReadKey,
                   files: Files,
                   threshold: Annotated[float | None, Query(gt=0, description="largest distance called a match; "
                                                                         "lower is stricter")] = None,
                   top_k: Annotated[int | None, Query(ge=1, le=100, description="candidates listed per face")] = None,
                   draw: Annotated[bool, Query(description="answer with the photo, boxes and names drawn on it "
                                                         "(JPEG; one photo only)")] = False) -> Any:
    if draw and len(files["file"]) != 1:
        raise ServiceError(422, "bad_field", "draw=true takes exactly one photo")
    limit = threshold or service.threshold
    found = await service.run(service.identify, files["file"], distance_threshold=limit,
                              top_k=top_k or service.config.top_k)
    if draw:
        photo, answers = found[0]
        return Response(await service.run(service.draw, photo, answers), media_type="image/jpeg")
    images = []
    for photo, answers in found:
        faces = []
        for who in answers:
            if who.face is None:  # only for bare embeddings, never for photos
                continue
            faces.append(IdentifiedFaceOut(
                box=BoxOut(**who.face.box.to_dict()), score=float(who.face.score), name=who.name,
                person_id=who.person_id, distance=who.distance, probability=service.probability(who.distance),
                candidates=[CandidateOut(person_id=c.person_id, name=c.name, distance=c.distance,
                                         sample_id=c.sample_id, probability=service.probability(c.distance))
                            for c in who.candidates]))
        images.append(IdentifyImageOut(file=photo.name, width=photo.size[0], height=photo.size[1], faces=faces))
    return IdentifyOut(threshold=limit, images=images)


@router.post("/cluster", response_model=ClusteringOut, responses=_ERRORS, openapi_extra=image_body(),
             summary="Group the faces of a batch of photos by person")
async def cluster(service: Service, _: ReadKey,
                  files: Files,
                  threshold: Annotated[float | None, Query(gt=0, description="how close faces must be to join; lower "
                                                                        "is stricter (default 0.55)")] = None
                  ) -> ClusteringOut:
    token, clusters, _alone, failures = await service.run(service.cluster, files["file"], threshold)
    if not clusters and failures:
        _name, status, code, message = failures[0]
        raise ServiceError(status, code, message, details={
            "files": [{"file": f, "code": c, "message": m} for f, _, c, m in failures]})
    return ClusteringOut(id=token, errors=[FileError(file=f, code=c, message=m) for f, _, c, m in failures],
                         clusters=[ClusterOut(label=c.label, size=len(c.samples), faces=[
                             ClusterFaceOut(file=file, box=BoxOut(**s.box.to_dict()) if s.box else BoxOut(
                                 left=0, top=0, right=0, bottom=0), crop=crop_base64(s))
                             for s, file in zip(c.samples, c.files)]) for c in clusters.values()])


@router.post("/clusters/{clustering}/{label}/name", status_code=201, responses=_ERRORS,
             summary="Enroll every face of one cluster as a person (created when new)")
def name_cluster(clustering: str, label: int, body: ClusterNameIn, service: Service,
                 _: WriteKey) -> dict[str, Any]:
    ids = service.name_cluster(clustering, label, body.name)
    person = service.gallery.get_person(body.name)
    return {"person": person.to_dict(), "sample_ids": ids}

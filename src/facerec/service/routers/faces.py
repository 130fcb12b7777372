"""Faces (the gallery's samples) by id: show, delete, and the small JPEG crop (the thumbnail)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from facerec.gallery.errors import SampleNotFoundError
from facerec.service.deps import ReadKey, Service, WriteKey
from facerec.service.schemas import ErrorOut

__all__ = ["delete_face", "face_crop", "router"]

router = APIRouter(tags=["faces"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 403, 404, 503)}


@router.delete("/faces/{face_id}", responses=_ERRORS, summary="Delete one face")
def delete_face(face_id: int, service: Service,
                _: WriteKey) -> dict[str, Any]:
    service.gallery.remove_sample(face_id)
    return {"removed": face_id}


@router.get("/faces/{face_id}/crop", responses={**_ERRORS, 200: {"content": {"image/jpeg": {}}}},
            response_class=Response, summary="The face's thumbnail (JPEG)")
def face_crop(face_id: int, service: Service,
              _: ReadKey) -> Response:
    crop = service.gallery.get_crop(face_id)
    if crop is None:
        raise SampleNotFoundError(f"no stored crop for face {face_id} (no such face, or enrolled without crops)")
    return Response(crop, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

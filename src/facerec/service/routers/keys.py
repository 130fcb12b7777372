"""API keys, for admins: create (the key is shown once), list, revoke (:mod:`facerec.gallery.keys`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from facerec.gallery.keys import ApiKey, create_key, list_keys, revoke_key
from facerec.service.deps import AdminKey, ReadKey, Service
from facerec.service.schemas import ApiKeyOut, ErrorOut, KeyCreatedOut, KeyCreateIn, KeysOut, MeOut

__all__ = ["delete_key", "keys", "make_key", "me", "router"]

router = APIRouter(tags=["keys"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422, 503)}


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(**key.to_dict())


@router.get("/me", response_model=MeOut, responses=_ERRORS, summary="The caller's key: its name and role")
def me(key: ReadKey) -> MeOut:
    if key is None:  # --no-auth: everything is allowed
        return MeOut(name=None, role="admin", auth=False)
    return MeOut(name=key.name, role=key.role, auth=True)


@router.get("/keys", response_model=KeysOut, responses=_ERRORS, summary="Every API key (never the keys themselves)")
def keys(service: Service, _: AdminKey) -> KeysOut:
    return KeysOut(keys=[_out(k) for k in list_keys(service.gallery)])


@router.post("/keys", response_model=KeyCreatedOut, status_code=201, responses=_ERRORS,
             summary="Make a key; the answer holds the key, shown this once")
def make_key(body: KeyCreateIn, service: Service,
             _: AdminKey) -> KeyCreatedOut:
    key, token = create_key(service.gallery, body.name, body.role)
    return KeyCreatedOut(**key.to_dict(), key=token)


@router.delete("/keys/{name}", response_model=ApiKeyOut, responses=_ERRORS, summary="Revoke a key")
def delete_key(name: str, service: Service,
               _: AdminKey) -> ApiKeyOut:
    return _out(revoke_key(service.gallery, name))

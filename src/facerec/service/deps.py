"""The routes' dependencies: the running service, the caller's key and role, and the photos of a request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from facerec.gallery.keys import ApiKey, find_key, role_allows
from facerec.service.errors import ServiceError
from facerec.service.runtime import FaceService
from facerec.service.uploads import Upload, read_uploads

__all__ = [
    "API_KEY_HEADER",
    "AdminKey",
    "FilePair",
    "Files",
    "ReadKey",
    "Service",
    "WriteKey",
    "get_service",
    "image_body",
    "photos",
    "require",
]

#: The request header that carries the key.
API_KEY_HEADER = "X-API-Key"

_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                           description="a key made with `facerec keys create --role read|write|admin`")


def get_service(request: Request) -> FaceService:
    """The service of the app that got ``request``."""
    service: FaceService = request.app.state.service
    return service


def require(role: str) -> Callable[..., ApiKey | None]:
    """A dependency that lets the request through only with a key of ``role`` or higher (401 without a valid
    key, 403 with a key of a lower role). With ``--no-auth`` every request passes and it returns ``None``."""

    def check(token: Annotated[str | None, Depends(_key_header)],
              service: Annotated[FaceService, Depends(get_service)]) -> ApiKey | None:
        if not service.config.auth:
            return None
        if not token:
            raise ServiceError(401, "missing_key", f"this route needs an API key in the {API_KEY_HEADER} header "
                                                   "(make one with `facerec keys create`)",
                               headers={"WWW-Authenticate": API_KEY_HEADER})
        key = find_key(service.gallery, token)
        if key is None:
            raise ServiceError(401, "bad_key", "this API key is not known (revoked, or mistyped)",
                               headers={"WWW-Authenticate": API_KEY_HEADER})
        if not role_allows(key.role, role):
            raise ServiceError(403, "forbidden", f"key {key.name!r} has role {key.role!r}; this route needs "
                                                 f"{role!r} or higher")
        return key

    check.__name__ = f"require_{role}"
    return check


def photos(*fields: str, several: bool = True) -> Callable[[Request], Awaitable[dict[str, list[Upload]]]]:
    """A dependency that reads the photos of a request (multipart ``fields`` or JSON base64)."""
    names = fields or ("file",)

    async def read(request: Request) -> dict[str, list[Upload]]:
        return await read_uploads(request, names, several=several)

    return read


def image_body(fields: tuple[str, ...] = ("file",), *, several: bool = True) -> dict[str, Any]:
    """``openapi_extra`` describing a photo body: multipart files or JSON base64."""
    properties: dict[str, Any] = {}
    json_properties: dict[str, Any] = {}
    for field in fields:
        file_schema = {"type": "string", "format": "binary"}
        properties[field] = {"type": "array", "items": file_schema} if several else file_schema
        single = "image" + field[len("file"):]
        json_properties[single] = {"type": "string", "format": "byte", "description": "base64 of the photo file"}
        if several:
            json_properties[single + "s"] = {"type": "array", "items": {"type": "string", "format": "byte"}}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": properties, "required": list(fields)}},
        "application/json": {"schema": {"type": "object", "properties": json_properties}},
    }}}


#: The running service, as a route parameter.
Service = Annotated[FaceService, Depends(get_service)]
#: The caller's key, at least of role read / write / admin (``None`` with ``--no-auth``).
ReadKey = Annotated["ApiKey | None", Depends(require("read"))]
WriteKey = Annotated["ApiKey | None", Depends(require("write"))]
AdminKey = Annotated["ApiKey | None", Depends(require("admin"))]
#: The photos of field ``file`` (one or several).
Files = Annotated[dict[str, list[Upload]], Depends(photos("file"))]
#: One photo in each of ``file1`` and ``file2``.
FilePair = Annotated[dict[str, list[Upload]], Depends(photos("file1", "file2", several=False))]

"""Every error the service answers with, in one place: ``{"error": {"code": ..., "message": ...}}``.

:func:`error_for` maps facerec's exception tree (and the web framework's own errors) onto an HTTP status and a
stable ``code``; :func:`install_handlers` installs the one handler that applies it. Unexpected exceptions become a
500 whose body says only that, never a traceback (the traceback goes to the server's log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from facerec.errors import ConfigurationError, FaceNotFoundError, FacerecError, ImageError, UnknownNameError
from facerec.gallery.errors import (
    ApiKeyNotFoundError,
    GalleryError,
    ModelMismatchError,
    NameTakenError,
    PersonNotFoundError,
    SampleNotFoundError,
)

__all__ = ["ServiceError", "error_body", "error_for", "image_error_status", "install_handlers"]

log = logging.getLogger("facerec.service")


class ServiceError(Exception):
    """An answer other than success, raised anywhere in a request.

    Args:
        status: the HTTP status.
        code: a stable machine-readable code (``"not_an_image"``, ``"forbidden"``, ...).
        message: what went wrong and what to do, in words.
        headers: extra response headers (``Retry-After`` for 503).
        details: extra JSON-ready data put beside code and message.
    """

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details or {}


@dataclass(frozen=True)
class _Answer:
    status: int
    code: str
    message: str
    headers: dict[str, str]
    details: dict[str, Any]


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The JSON body of an error answer."""
    return {"error": {"code": code, "message": message, **details}}


def image_error_status(exc: ImageError) -> tuple[int, str]:
    """``(status, code)`` for a photo that could not be used: 415 not an image, 413 too many pixels, else 400."""
    cause = exc.__cause__
    if isinstance(cause, UnidentifiedImageError):
        return 415, "not_an_image"
    if isinstance(cause, Image.DecompressionBombError) or "above the limit" in exc.reason:
        return 413, "image_too_large"
    return 400, "bad_image"


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "too_large",
               415: "unsupported_media_type", 422: "bad_field", 429: "too_many_requests", 503: "unavailable"}


def error_for(exc: BaseException) -> _Answer:
    """The status, code and message for ``exc``."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    if isinstance(exc, ServiceError):
        return _Answer(exc.status, exc.code, exc.message, exc.headers, exc.details)
    if isinstance(exc, RequestValidationError):
        parts = []
        for problem in exc.errors():
            where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body",)) or "request"
            parts.append(f"{where}: {problem.get('msg', 'invalid')}")
        return _Answer(422, "bad_field", "; ".join(parts) or "invalid request", {}, {})
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return _Answer(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), detail,
                       dict(exc.headers or {}), {})
    if isinstance(exc, ImageError):
        status, code = image_error_status(exc)
        return _Answer(status, code, str(exc), {}, {})
    if isinstance(exc, (PersonNotFoundError, SampleNotFoundError, ApiKeyNotFoundError)):
        return _Answer(404, "not_found", str(exc), {}, {})
    if isinstance(exc, NameTakenError):
        return _Answer(409, "name_taken", str(exc), {}, {})
    if isinstance(exc, ModelMismatchError):
        return _Answer(409, "model_mismatch", str(exc), {}, {})
    if isinstance(exc, FaceNotFoundError):
        return _Answer(422, "no_face", str(exc), {}, {})
    if isinstance(exc, (ConfigurationError, UnknownNameError)):
        return _Answer(422, "bad_value", str(exc), {}, {})
    if isinstance(exc, GalleryError):
        log.warning("gallery error: %s", exc)
        return _Answer(503, "gallery_unavailable", str(exc), {"Retry-After": "1"}, {})
    if isinstance(exc, FacerecError):
        log.error("facerec error: %s", exc)
        return _Answer(503, "unavailable", str(exc), {}, {})
    log.error("unexpected error", exc_info=exc)
    return _Answer(500, "internal_error", "the server failed on this request (see its log)", {}, {})


def install_handlers(app: Any) -> None:
    """Answer every error of ``app`` with :func:`error_body` (one handler for all)."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    async def handle(request: Any, exc: Exception) -> JSONResponse:
        answer = error_for(exc)
        return JSONResponse(error_body(answer.code, answer.message, **answer.details), status_code=answer.status,
                            headers=answer.headers)

    for kind in (ServiceError, RequestValidationError, HTTPException, FacerecError, Exception):
        app.add_exception_handler(kind, handle)

"""Photos in requests: a body-size limit enforced while reading, and the two ways to send a photo.

A photo comes as a multipart form field (``file``; several files under the same name where a route takes
several) or as base64 in a JSON body (``{"image": "..."}``, ``{"images": [...]}``). Never as a server path or a URL:
the service reads nothing but the request.

:class:`BodyLimit` counts the bytes of every request body as they arrive and answers 413 as soon as the limit is
passed (or at once, from ``Content-Length``), so a huge upload never sits in memory; the multipart parser spools
files above 1 MB to a temporary file.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from facerec.service.errors import ServiceError, error_body

__all__ = ["MAX_FILES", "BodyLimit", "TooLarge", "Upload", "read_uploads"]

#: The most photos one request may carry.
MAX_FILES = 100

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class TooLarge(ServiceError):
    """The request body passed the upload limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "too_large", f"the request body is larger than the limit of {limit / 2**20:g} MB "
                                           "(facerec serve --max-upload-mb)")


class BodyLimit:
    """ASGI middleware: refuse request bodies above ``max_bytes`` with 413, counting while they arrive."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise TooLarge(self.max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        error = TooLarge(self.max_bytes)
        body = json.dumps(error_body(error.code, error.message)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class Upload:
    """One photo of a request: a name for reports (the file name, or ``image``/``images[i]``) and its bytes."""

    name: str
    data: bytes


def _decode_base64(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise ServiceError(422, "bad_field", f"{where} must be a base64 string, got {type(text).__name__}")
    if text.startswith("data:") and "," in text:  # a data: URL as browsers make them
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ServiceError(400, "bad_base64", f"{where} is not valid base64 ({exc})") from None


async def read_uploads(request: Any, fields: tuple[str, ...] = ("file",), *, several: bool = True
                       ) -> dict[str, list[Upload]]:
    """The photos of ``request`` under each of ``fields``.

    Multipart: the files of each field (a text value is a 422). JSON: for field ``file``, ``image`` (one base64
    string) and ``images`` (a list); for other fields ``fileN``, ``imageN``. Each field must carry at least one
    photo, and only one unless ``several``.

    Raises:
        ServiceError: 415 for another content type, 400 for malformed JSON or base64, 422 for missing photos.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    found: dict[str, list[Upload]] = {f: [] for f in fields}
    if content_type == "multipart/form-data":
        try:
            form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
        except ServiceError:
            raise
        except Exception as exc:
            raise ServiceError(400, "bad_request", f"cannot parse the multipart body ({exc})") from None
        try:
            for field in fields:
                for item in form.getlist(field):
                    if isinstance(item, str):
                        raise ServiceError(422, "bad_field", f"form field {field!r} must be a file upload, not text")
                    found[field].append(Upload(item.filename or field, await item.read()))
        finally:
            await form.close()  # every spooled file, also those of other fields
    elif content_type == "application/json":
        try:
            document = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ServiceError(400, "bad_json", f"the body is not valid JSON ({exc})") from None
        if not isinstance(document, dict):
            raise ServiceError(422, "bad_field", "the JSON body must be an object such as {\"image\": \"<base64>\"}")
        for field in fields:
            single = "image" + field[len("file"):]
            if single in document:
                found[field].append(Upload(single, _decode_base64(document[single], single)))
            plural = single + "s"
            if plural in document:
                items = document[plural]
                if not isinstance(items, list) or len(items) > MAX_FILES:
                    raise ServiceError(422, "bad_field", f"{plural} must be a list of at most {MAX_FILES} "
                                                         "base64 strings")
                found[field].extend(Upload(f"{plural}[{i}]", _decode_base64(v, f"{plural}[{i}]"))
                                    for i, v in enumerate(items))
    else:
        raise ServiceError(415, "unsupported_media_type",
                           "send photos as multipart/form-data (field 'file') or as JSON {\"image\": \"<base64>\"}; "
                           f"got content type {content_type or 'none'!r}")
    for field in fields:
        if not found[field]:
            json_name = "image" + field[len("file"):]
            raise ServiceError(422, "missing_file", f"no photo given: send a file in form field {field!r} or "
                                                    f"base64 in JSON field {json_name!r}")
        if not several and len(found[field]) > 1:
            raise ServiceError(422, "bad_field", f"field {field!r} takes one photo, got {len(found[field])}")
    return found

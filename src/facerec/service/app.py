""":func:`create_app`: the FastAPI application of ``facerec serve``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from facerec import __version__
from facerec.service.config import API_PREFIX, ServiceConfig
from facerec.service.errors import install_handlers
from facerec.service.runtime import FaceService
from facerec.service.uploads import BodyLimit

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer
    from facerec.gallery import Gallery

__all__ = ["API_PREFIX", "create_app"]

#: Where the API's routes live.

_DESCRIPTION = """Face detection, embedding, verification and identification against a gallery of people.

Send photos as multipart form field `file` (several files where a route takes several) or as JSON
`{"image": "<base64>"}`; the service never reads a server path or a URL. Every route but `/api/v1/health` needs
a key in the `X-API-Key` header: `read` keys detect, embed, verify, identify, cluster and view; `write` keys also
enroll, rename, merge and delete; `admin` keys also manage keys. Errors are JSON
`{"error": {"code": ..., "message": ...}}`.
"""


def create_app(config: ServiceConfig | None = None, *, gallery: Gallery | str | os.PathLike[str] | None = None,
               analyzer: FaceAnalyzer | None = None, **settings: Any) -> FastAPI:
    """The service as an ASGI application (run it with uvicorn, or ``facerec serve``).

    The models load and the gallery opens when the application starts (its lifespan), before the first request.

    Args:
        config: the settings (default: :class:`ServiceConfig` from ``settings``).
        gallery: an open gallery to serve (the caller closes it), or where one is (a file or a DSN, opened at
            start-up); default: ``config.gallery``.
        analyzer: the analyzer to share instead of one built from ``config.analyzer``.
        settings: :class:`ServiceConfig` fields, when ``config`` is not given.

    Examples:
        >>> app = create_app(gallery="people.sqlite", workers=2)          # doctest: +SKIP
        >>> import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    from facerec.gallery import Gallery
    from facerec.service.routers import faces, health, keys, people, recognition, web

    if gallery is not None and not isinstance(gallery, Gallery):
        settings["gallery"] = os.fspath(gallery)
        gallery = None
    config = config or ServiceConfig(**settings)
    service = FaceService(config, gallery=gallery, analyzer=analyzer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(title="facerec", version=__version__, description=_DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", openapi_url="/openapi.json", redoc_url=None)
    app.state.service = service
    install_handlers(app)
    for router in (health.router, recognition.router, people.router, faces.router, keys.router):
        app.include_router(router, prefix=API_PREFIX)
    web.mount(app)
    app.add_middleware(BodyLimit, max_bytes=config.max_upload_bytes)
    return app

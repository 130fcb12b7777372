"""The web page at ``/``: Jinja2 templates and a little plain JavaScript that calls the API with the signed-in key.

The page itself needs no key (it holds no data); everything it shows comes from the API, with the key the user
typed in (kept in the browser's session storage).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from facerec import __version__
from facerec.service.config import API_PREFIX

__all__ = ["mount", "page", "router", "templates"]

_HERE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def page(request: Request) -> Any:
    return templates.TemplateResponse(request, "index.html", {"version": __version__, "api": API_PREFIX})


def mount(app: FastAPI) -> None:
    """Add the page and its static files to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

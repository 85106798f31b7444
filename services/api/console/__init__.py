"""The web console: one static page (HTML, vanilla JS, CSS) served at `/`, its files under `/console/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
_NO_CACHE = {"Cache-Control": "no-cache"}


async def _index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=_NO_CACHE)


def install(app: FastAPI) -> None:
    """Serve the console page at `/` and its script and styles under `/console/` (kept out of the OpenAPI)."""
    app.mount("/console", StaticFiles(directory=STATIC), name="console")
    app.add_api_route("/", _index, include_in_schema=False)

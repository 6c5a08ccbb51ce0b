"""The browser console: static pages served by the API process under ``/ui/``.

Everything the console needs ships in ``levante/web/static`` (plain JS
modules and CSS, no build step, nothing fetched from the network). The pages
talk to the server only through the public REST API v2 and its event
streams, with same-origin requests; this module only serves the files.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/ui"

# Only our own files may run or load; no framing (clickjacking), no referrer
# leaking execution ids to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def wants_html(request: Request) -> bool:
    """True for a browser's page request (``Accept: text/html``), not for API clients."""
    return "text/html" in request.headers.get("accept", "")


class _Assets(StaticFiles):
    """The console's files, with the security headers (the API's own routes
    are left alone: no middleware wraps them or their event streams)."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(SECURITY_HEADERS)
        # Revalidate (cheap, with the ETag) so that an upgraded server's pages
        # never run with the previous version's modules.
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_console(app: FastAPI) -> None:
    """Serve the console: ``/ui/assets/*`` are files, every other ``/ui/...`` path is the page."""
    app.mount(f"{PREFIX}/assets", _Assets(directory=STATIC), name="console-assets")

    @app.get(PREFIX, include_in_schema=False)
    def console_redirect():
        return RedirectResponse(f"{PREFIX}/", status_code=302)

    @app.get(PREFIX + "/{page:path}", include_in_schema=False)
    def console_page(page: str):
        # The pages route themselves in the browser (history API), so that each
        # one has its own URL that can be linked and reloaded.
        if page.startswith("assets/"):
            return Response(status_code=404, headers=SECURITY_HEADERS)
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})

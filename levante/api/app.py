"""The ASGI application: Mistral's REST API v2 over a :class:`Runtime`."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

import levante
from levante.api import code_sources, definitions, executions, maintenance, queues, report
from levante.api import members as members_api
from levante.api import tokens as tokens_api
from levante.api import triggers as triggers_api
from levante.api.body import RequestLimits
from levante.api.schema import add_request_shapes
from levante.api.errors import ApiError, fault
from levante.api.stream import router as events_stream_router
from levante.errors import LevanteError
from levante.web import mount_console, wants_html

log = logging.getLogger("levante.api")


def create_app(runtime, auth=None, listen_host: str | None = None) -> FastAPI:
    app = FastAPI(title="Levante", version=levante.__version__,
                  description="Mistral-compatible workflow service (REST API v2)",
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.runtime = runtime
    app.state.creates = executions.create_pool()
    app.state.listen_host = listen_host     # decides allow_code_sources: auto
    app.add_middleware(RequestLimits)
    generated = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            add_request_shapes(generated())     # fills app.openapi_schema in place
        return app.openapi_schema

    app.openapi = openapi
    # A request is matched against the routes in this order, one by one (about
    # 10 microseconds each): the busiest ones come first.
    # The busiest write is served by a plain Starlette route: FastAPI's handling
    # around an endpoint with nothing to solve or validate costs about a tenth
    # of the request. Its FastAPI route (executions.router) documents it in
    # /openapi.json; requests never get that far.
    app.router.routes.append(Route("/v2/executions", executions.create_execution, methods=["POST"],
                                   include_in_schema=False))
    @app.get("/")
    async def versions(request: Request):
        if wants_html(request):     # a browser: the console; API clients get the versions
            return RedirectResponse("/ui/", status_code=302)
        base = _base(request)
        return {"versions": [{"id": "v2.0", "status": "CURRENT",
                              "links": [{"href": f"{base}/v2", "target": "v2", "rel": "self"}]}]}

    @app.get("/v2", include_in_schema=False)
    async def v2_redirect(request: Request):
        return RedirectResponse(f"{_base(request)}/v2/", status_code=302)

    @app.get("/v2/")
    async def v2_root(request: Request):
        return {"uri": f"{_base(request)}/v2"}

    app.include_router(executions.router)
    app.include_router(definitions.router)
    app.include_router(code_sources.router)
    app.include_router(maintenance.router)
    maintenance.install_gate(app)
    # Added last, so outermost: who is calling is known before any other check.
    app.state.auth = auth
    if auth is not None:
        from levante.auth.middleware import AuthMiddleware

        app.add_middleware(AuthMiddleware, auth=auth)
    app.include_router(report.router)
    app.include_router(events_stream_router)
    app.include_router(queues.router)
    app.include_router(triggers_api.router)
    app.include_router(tokens_api.router)
    app.include_router(members_api.router)
    mount_console(app)


    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return fault(exc.status, str(exc), exc.yaml_endpoint)

    @app.exception_handler(LevanteError)
    async def _runtime_error(request: Request, exc: LevanteError):
        return fault(exc.status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        return fault(400, f"Invalid request: {exc.errors()}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        msg = "The resource could not be found." if exc.status_code == 404 else str(exc.detail)
        return fault(exc.status_code, msg)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("role=api %s %s failed", request.method, request.url.path)
        return JSONResponse({"faultcode": "Server", "faultstring": f"Internal error: {type(exc).__name__}: {exc}",
                             "debuginfo": None}, status_code=500)

    return app


def _base(request: Request) -> str:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"

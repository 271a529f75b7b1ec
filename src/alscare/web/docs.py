"""The API documentation at ``/docs`` (Swagger UI), served entirely from the package.

FastAPI's own documentation page loads Swagger UI from a CDN: without internet it is blank, and
with it every reader of the clinic's API documentation is announced to a third party. This page
is FastAPI's, with Swagger UI's assets (from the ``fastapi-offline`` package, which vendors
Swagger UI 5) served at ``/docs/assets`` and Swagger UI's online validator turned off, so no
request leaves the machine. The assets carry Swagger UI's Apache 2.0 licence.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

__all__ = ["ASSETS", "DOCS", "install_docs"]

DOCS: Final = "/docs"
ASSETS: Final = f"{DOCS}/assets"
_OAUTH2_REDIRECT: Final = f"{DOCS}/oauth2-redirect"
# Swagger UI sends the OpenAPI document to validator.swagger.io unless told not to.
_PARAMETERS: Final = {"validatorUrl": None, "persistAuthorization": False}


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets on ``app`` (built with ``docs_url=None``)."""
    assets = resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title}: API documentation",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url=_OAUTH2_REDIRECT,
            swagger_ui_parameters=_PARAMETERS,
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route(DOCS, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(_OAUTH2_REDIRECT, oauth2_redirect, methods=["GET"], include_in_schema=False)

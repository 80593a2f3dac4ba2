"""Mount the UI on the API application: pages under /ui, vendored assets under /ui/static."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from headwater.ui import accounts, auth, dataflows, datasets, monitoring, sources
from headwater.ui.web import HERE, PREFIX


def install(app: FastAPI) -> None:
    for module in (auth, sources, accounts, dataflows, monitoring, datasets):
        app.include_router(module.router)
    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="ui-static")

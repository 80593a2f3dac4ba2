"""The application factory: the composition root of the HTTP service."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware import Middleware

from headwater import __version__, ui
from headwater.api import errors, openapi
from headwater.api.middleware import RequestContextMiddleware
from headwater.api.routes import (
    connections,
    dataflows,
    dataprep,
    datasets,
    export,
    health,
    ims,
    metrics,
    schemaregistry,
    specs,
    webhooks,
)
from headwater.domain.paths import (
    CATALOG_PATH,
    DATA_PREP_PATH,
    EXPORT_PATH,
    FLOW_SERVICE_PATH,
    SCHEMA_REGISTRY_PATH,
)
from headwater.services.context import ServiceContext
from headwater.services.identity import Gateway
from headwater.services.metrics import HttpMetrics


def create_app(ctx: ServiceContext, *, max_body: int = 1024 * 1024) -> FastAPI:
    """Build the API over an already-migrated database."""
    gateway = Gateway(ctx)
    http_metrics = HttpMetrics()
    app = FastAPI(
        title="Headwater Flow Service API",
        version=__version__,
        description=(
            "Adobe Experience Platform Flow Service API (sources), served by Headwater. "
            "Every /data/foundation route needs Authorization, x-api-key and x-gw-ims-org-id."
        ),
        middleware=[
            Middleware(
                RequestContextMiddleware,
                gateway=gateway,
                max_body=max_body,
                observe=http_metrics.observe,
            ),
        ],
    )
    app.state.ctx = ctx
    app.state.http_metrics = http_metrics
    app.state.gateway = gateway
    errors.install(app)
    openapi.install(app)
    app.include_router(ims.router)
    app.include_router(health.router)
    app.include_router(specs.router, prefix=FLOW_SERVICE_PATH)
    app.include_router(connections.router, prefix=FLOW_SERVICE_PATH)
    app.include_router(dataflows.router, prefix=FLOW_SERVICE_PATH)
    app.include_router(datasets.router, prefix=CATALOG_PATH)
    app.include_router(export.router, prefix=EXPORT_PATH)
    app.include_router(schemaregistry.router, prefix=SCHEMA_REGISTRY_PATH)
    app.include_router(dataprep.router, prefix=DATA_PREP_PATH)
    app.include_router(webhooks.router, prefix=FLOW_SERVICE_PATH)
    app.include_router(metrics.router)
    ui.install(app)  # the web UI at /ui, over the same services
    return app

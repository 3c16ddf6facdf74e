"""The Litestar application: `uvicorn app.main:create_app --factory`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.pydantic import PydanticPlugin

from app.domain.api_keys.controllers import ApiKeyController
from app.domain.cards.controllers import CardController
from app.domain.dependencies import APP_DEPENDENCIES
from app.domain.fulfillment.controllers import (
    FulfillmentOrderController,
    PrinterEventController,
    ShippingConfigController,
)
from app.domain.fulfillment.providers import accepted_methods
from app.domain.fulfillment.schemas import PrinterEvent
from app.domain.health.controllers import HealthController
from app.domain.issuance.controllers import IssuanceController
from app.domain.merchants.controllers import TokenController, WebhookSecretController
from app.domain.merchants.rate_limits import merchant_rate_limit
from app.domain.metrics.controllers import MetricsController
from app.domain.notifications.controllers import NotificationController
from app.domain.programs.controllers import ProgramController
from app.domain.tasks.controllers import TaskController
from app.domain.urls import FULFILLMENT_EVENTS, TOKEN
from app.domain.webhooks.controllers import WebhookDeliveryController
from app.lib import request_ids
from app.lib.auth import jwt_auth
from app.lib.exception_handlers import EXCEPTION_HANDLERS
from app.lib.gc_tuning import tune_gc
from app.lib.idempotency import idempotency_middleware
from app.lib.logging import configure_logging, structlog_plugin
from app.lib.metrics import http_metrics
from app.lib.openapi import OPENAPI_COMPONENTS
from app.lib.openapi_document import finish as finish_document
from app.lib.rate_limits import rate_limit_middleware
from app.lib.schema import request_models
from app.lib.settings import Settings, get_settings
from app.storage.resources import Resources

# bodies read raw (the printer's, for its HMAC), declared in /schema from their model
RAW_BODIES = {(FULFILLMENT_EVENTS, "post"): PrinterEvent}


def _check_start_settings(settings: Settings) -> None:
    """A misspelt PRINTER_SHIPPING_METHODS stops the start: one JSON log line that names it
    and exit code 1 (a traceback on stderr would be the only non-JSON output we write)."""
    try:
        accepted_methods(settings)
    except ValueError as exc:
        logging.getLogger(__name__).critical("cannot start: %s", exc)
        raise SystemExit(1) from None


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    _check_start_settings(settings)
    auth = jwt_auth(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.resources = await Resources.open(settings)
        await app.state.resources.store.keep_exports_for(settings.export_retention_days)
        tune_gc()
        try:
            yield
        finally:
            await app.state.resources.close()

    app = Litestar(
        route_handlers=[
            HealthController,
            MetricsController,
            TokenController,
            ApiKeyController,
            ProgramController,
            IssuanceController,
            CardController,
            NotificationController,
            TaskController,
            ShippingConfigController,
            FulfillmentOrderController,
            PrinterEventController,
            WebhookSecretController,
            WebhookDeliveryController,
        ],
        lifespan=[lifespan],
        dependencies=APP_DEPENDENCIES,
        # bodies and /schema use the models' camelCase aliases (app/lib/schema.py)
        plugins=[PydanticPlugin(prefer_alias=True), structlog_plugin()],
        on_app_init=[auth.on_app_init, request_ids.install],  # the request id outermost
        # after authentication (JWTAuth puts its middleware first), before idempotency
        middleware=[
            http_metrics.middleware,  # counts 429s too, not auth's 401s
            rate_limit_middleware(settings, merchant_rate_limit, TOKEN),
            idempotency_middleware,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings, "jwt_auth": auth}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Gift-card bulk issuance",
            version="2.0.0",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=[OPENAPI_COMPONENTS],
        ),
        logging_config=None,
    )
    finish_document(app, request_models(), RAW_BODIES)
    return app

from typing import Any

from litestar import Controller, Response, get
from litestar.di import Provide

from app.domain.health.dependencies import provide_health_service
from app.domain.health.services import HealthService
from app.domain.urls import HEALTH, READY
from app.lib.openapi import documented


class HealthController(Controller):
    tags = ["Operations"]
    dependencies = {"health": Provide(provide_health_service, sync_to_thread=False)}

    @get(
        HEALTH,
        operation_id="health",
        summary="The process is up",
        exclude_from_auth=True,
        **documented(public=True, errors=False),
    )
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        READY,
        operation_id="ready",
        summary="Mongo, Redis and S3 reachable",
        exclude_from_auth=True,
        **documented(public=True),
    )
    async def ready(self, health: HealthService) -> Response[dict[str, Any]]:
        down = await health.unreachable()
        if down:
            body = {
                "detail": "Not ready: " + ", ".join(down) + " unreachable.",
                "code": "not_ready",
                "down": down,
            }
            return Response(body, status_code=503)
        return Response({"status": "ready"}, status_code=200)

import asyncio

from litestar import Controller, Response, get
from litestar.datastructures import State

from app.lib.resources import Resources
from app.urls import HEALTH, READY


async def _check(name: str, probe) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(probe, timeout=3)
        return name, None
    except Exception as exc:  # any failure means "not reachable" for readiness
        return name, type(exc).__name__


class HealthController(Controller):
    tags = ["Operations"]

    @get(HEALTH, operation_id="health", summary="The process is up", exclude_from_auth=True)
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        READY, operation_id="ready", summary="Mongo, Redis and S3 reachable", exclude_from_auth=True
    )
    async def ready(self, state: State) -> Response[dict]:
        res: Resources = state.resources
        results = await asyncio.gather(
            _check("mongo", res.mongo.admin.command("ping")),
            _check("redis", res.redis.ping()),
            _check("objectStore", res.store.ping()),
        )
        down = {name: error for name, error in results if error}
        if down:
            body = {
                "detail": "Not ready: " + ", ".join(sorted(down)) + " unreachable.",
                "code": "not_ready",
                "down": sorted(down),
            }
            return Response(body, status_code=503)
        return Response({"status": "ready"}, status_code=200)

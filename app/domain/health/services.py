import asyncio
from collections.abc import Awaitable
from typing import Any

from app.storage.resources import Resources


async def _check(name: str, probe: Awaitable[Any]) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(probe, timeout=3)
        return name, None
    except Exception as exc:  # any failure means "not reachable" for readiness
        return name, type(exc).__name__


class HealthService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def unreachable(self) -> list[str]:
        """The stores that do not answer (empty when ready)."""
        results = await asyncio.gather(
            _check("mongo", self.res.mongo.admin.command("ping")),
            _check("redis", self.res.redis.ping()),
            _check("objectStore", self.res.store.ping()),
        )
        return sorted(name for name, error in results if error)

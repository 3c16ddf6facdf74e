"""The worker's metrics port and its `/health`, which answers 200 while the worker's event loop
turns (a beat every second) and 503 once it has been stuck for STALE_SECONDS.

`python -m workers.health` is the container's health check: it asks this worker's `/health`
on WORKER_METRICS_PORT and exits 0 (healthy) or 1.
"""

import asyncio
import contextlib
import sys
import time
import urllib.request
from http.server import ThreadingHTTPServer

from app.lib import metrics
from app.lib.settings import get_settings

STALE_SECONDS = 15.0


class Heartbeat:
    def __init__(self) -> None:
        self.last = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._server: ThreadingHTTPServer | None = None

    def healthy(self) -> bool:
        return time.monotonic() - self.last < STALE_SECONDS

    async def _beat(self) -> None:
        while True:
            self.last = time.monotonic()
            await asyncio.sleep(1)

    def start(self, port: int) -> None:
        """Serves metrics and /health on `port` (0: neither, the default in tests)."""
        if port:
            self._task = asyncio.get_running_loop().create_task(self._beat())
            self._server = metrics.serve(port, self.healthy)

    def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._server:
            self._server.shutdown()
            self._server.server_close()


def check(port: int, timeout: float = 3.0) -> bool:
    url = f"http://127.0.0.1:{port}/health"
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=timeout) as answer:
        return bool(answer.status == 200)
    return False


if __name__ == "__main__":
    sys.exit(0 if check(get_settings().worker_metrics_port) else 1)

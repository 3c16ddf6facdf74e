"""`python -m workers`: one arq worker that outlives Redis outages.

arq's own CLI exits when Redis drops mid-run (the worker's main loop raises ConnectionError),
which would take every worker of a deployment down with one Redis blip. Here the worker is
built again and restarted with backoff; only a stop signal (SIGTERM/SIGINT, which arq handles
itself, letting running jobs finish for `job_completion_wait`) ends the process.
"""

import asyncio
import logging

from arq.worker import create_worker
from redis.exceptions import RedisError

from app.lib.logging import configure_logging
from app.lib.settings import get_settings
from workers.settings import WorkerSettings

log = logging.getLogger("workers")
MAX_RESTART_DELAY = 30.0


def main() -> None:
    configure_logging(get_settings().log_level)  # JSON lines, arq's own included
    stop_signals: list[object] = []
    delay = 1.0
    while True:
        worker = create_worker(WorkerSettings)
        worker.on_stop = stop_signals.append
        try:
            worker.run()
            return  # stopped by a signal (or a burst run ended)
        except (RedisError, OSError) as exc:
            if stop_signals:
                return
            log.warning(
                "worker lost Redis (%s); starting again in %.0f s", type(exc).__name__, delay
            )
        # sleep on the loop, where arq's signal handlers still listen
        asyncio.get_event_loop().run_until_complete(asyncio.sleep(delay))
        if stop_signals:
            return
        delay = min(delay * 2, MAX_RESTART_DELAY)


if __name__ == "__main__":
    main()

"""Every Prometheus metric of the service (HTTP ones come from Litestar's middleware), and the
small HTTP server a worker exposes them on (with a `/health` path for the container check).

Each process has its own registry: an API process serves it at `GET /metrics`, a worker on
WORKER_METRICS_PORT. Counters count what this process did; the gauges of tasks and of the
queue are read from MongoDB / Redis when the API is scraped (app/domain/metrics).
"""

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest

log = logging.getLogger(__name__)

CARDS_ISSUED = Counter("giftcards_cards_issued", "Cards issued", ["mode"])  # inline | queued
WEBHOOK_DELIVERIES = Counter(
    "giftcards_webhook_deliveries",
    "Attempts to deliver a webhook or callback, by outcome",
    ["outcome"],  # delivered | retrying | failed | gone
)
NOTIFICATIONS = Counter(
    "giftcards_notifications",
    "Tries to send a recipient's notification, by channel and outcome",
    ["channel", "outcome"],  # sent | retrying | failed
)
TASKS = Gauge("giftcards_tasks", "Queued bulk issuances (tasks) by state", ["state"])
QUEUE_DEPTH = Gauge("giftcards_queue_depth", "Jobs in the arq queue (waiting, deferred or running)")
QUEUE_OLDEST_AGE = Gauge(
    "giftcards_queue_oldest_job_age_seconds", "How long the oldest due job has been due (0: none)"
)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def serve(port: int, healthy: Callable[[], bool]) -> ThreadingHTTPServer | None:
    """Serves the metrics on `port` (all interfaces) from a thread; `GET /health` answers 200
    while `healthy()` says so, else 503. None when the port is taken (the worker runs on)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] == "/health":
                ok = healthy()
                status, body, kind = (
                    (200 if ok else 503),
                    b"ok\n" if ok else b"stalled\n",
                    "text/plain",
                )
            else:
                status, body, kind = 200, exposition(), CONTENT_TYPE_LATEST
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - scrapes: no lines
            pass

    try:
        server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - private network
    except OSError as exc:
        log.warning("metrics port %d not served: %s", port, exc)
        return None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics and /health served on port %d", server.server_address[1])
    return server


# Requests by route template (not raw path: ids would explode the label space) and status:
# giftcards_http_requests_total, giftcards_http_request_duration_seconds (histogram).
http_metrics = PrometheusConfig(
    app_name="giftcards", prefix="giftcards_http", group_path=True, exclude=["^/metrics$"]
)

"""Logging for the API and the workers: one JSON object per line on stderr, at LOG_LEVEL.

Code keeps `logging.getLogger(__name__)`; structlog's ProcessorFormatter renders every stdlib
record (ours, arq's, uvicorn's, Litestar's) as JSON, with the ids bound for the request or job
in context variables (`request_id`, `merchant_id`, `task_id`, `job_id`, ...). Only messages
and ids are logged, never a request or response body.
"""

import json
import logging
from functools import partial
from typing import Any

import structlog
from litestar.logging.config import StructLoggingConfig
from litestar.middleware.logging import LoggingMiddlewareConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin
from structlog.typing import Processor

# What every line carries besides its message (the context variables are merged in first).
_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
_render_json = structlog.processors.JSONRenderer(
    serializer=partial(json.dumps, ensure_ascii=False, default=str)
)
# Third-party loggers that install handlers of their own: their lines go through ours instead.
_OWN_HANDLERS = ("arq", "uvicorn", "uvicorn.error", "uvicorn.access", "litestar")


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.EventRenamer("message"),
                _render_json,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # PyMongo's DEBUG logs print whole commands, card documents included: keep them out.
    for noisy in ("pymongo", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    # arq's lines (its start line, one per job) at INFO whatever LOG_LEVEL, as arq's own logging
    # has them: scripts wait for "Starting worker for" to know a worker is up
    logging.getLogger("arq").setLevel(logging.INFO)
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind_ids(**ids: Any) -> None:
    """Adds ids (request, merchant, task, job...) to every line logged from here on in this
    request or job (context variables: each request and each arq job runs in its own task)."""
    structlog.contextvars.bind_contextvars(**ids)


def new_log_context(**ids: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**ids)


def structlog_plugin() -> StructlogPlugin:
    """Litestar's structlog plugin on the setup above: a line per request and per response with
    method, path and status only (no headers, query, cookies or body)."""
    config = StructLoggingConfig(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        pretty_print_tty=False,
    )
    config.standard_lib_logging_config = None  # stdlib is set up by configure_logging
    middleware = LoggingMiddlewareConfig(
        request_log_fields=["method", "path"],
        response_log_fields=["status_code"],
        exclude=["/metrics", "/health", "/ready"],
    )
    return StructlogPlugin(
        StructlogConfig(structlog_logging_config=config, middleware_logging_config=middleware)
    )

"""`X-Request-ID`: taken from the request (when it looks like an id) or made up, bound to every
log line of the request, and sent back on the response, error responses included."""

import re
import uuid
from typing import cast

from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.lib.logging import new_log_context

HEADER = "x-request-id"
_SAFE = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # never echo or log arbitrary client text


def _request_id(scope: Scope) -> str:
    state = cast(dict[str, object], scope.setdefault("state", {}))
    known = state.get("request_id")
    if isinstance(known, str):
        return known
    sent = next((v for k, v in scope.get("headers", []) if k == HEADER.encode()), b"")
    text = sent.decode("latin-1")
    request_id = text if _SAFE.fullmatch(text) else uuid.uuid4().hex
    state["request_id"] = request_id
    return request_id


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            new_log_context(request_id=_request_id(scope))
        await app(scope, receive, send)

    return middleware


def _add_header(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start" and scope["type"] == ScopeType.HTTP:
        headers = list(message.get("headers", []))
        headers.append((HEADER.encode(), _request_id(scope).encode()))
        message["headers"] = headers


def install(app_config: AppConfig) -> AppConfig:
    """on_app_init: the outermost middleware (so the auth middleware's lines carry the id too),
    and the header on every response, also those made outside the middleware (401, 404)."""
    app_config.middleware.insert(0, request_id_middleware)
    app_config.before_send.append(_add_header)
    return app_config

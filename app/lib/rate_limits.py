"""Rate limits kept in Redis (the `limits` package), so every API replica counts the same hits.

Authenticated requests are counted per merchant (RATE_LIMIT_PER_MERCHANT, or the merchant's
own limit), `POST /v2/token` per client address (RATE_LIMIT_TOKEN_PER_ADDRESS). Fixed windows:
one INCR per request. Every counted response carries `RateLimit-Limit`, `RateLimit-Remaining`
and `RateLimit-Reset` (seconds until the window resets); a refused one is a 429
`{"detail", "code": "rate_limited"}` with `Retry-After`.

When Redis cannot be reached the limiter fails open: the request goes through (without
RateLimit headers) and a warning is logged. Availability wins over strictness here: the
routes that need Redis answer their own 503, the others keep working.
"""

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from app.lib.settings import Settings

log = logging.getLogger(__name__)

# A limiter that waits seconds for a stalled Redis would slow every request: give up early.
_REDIS_TIMEOUT_SECONDS = 0.5
_WARN_EVERY_SECONDS = 10.0

# (settings, merchant id) → the merchant's limit ("1200/minute"), or None for the default
MerchantLimit = Callable[[Any, str], Awaitable[str | None]]


def parse_limit(value: str) -> RateLimitItem:
    """Reads "600/minute", "10 per second"...; ValueError for anything else."""
    return parse(value)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window resets

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_after).encode()),
        ]
        if not self.allowed:
            out.append((b"retry-after", str(self.reset_after).encode()))
        return out


class RateLimiter:
    """Counts hits per (deployment, scope, identity); the storage connects on first use."""

    def __init__(self, settings: Settings) -> None:
        self.namespace = settings.queue_name  # two deployments on one Redis never share counts
        self.redis_uri = "async+" + settings.redis_url
        self._strategy: FixedWindowRateLimiter | None = None
        self._last_warning = 0.0

    def _limiter(self) -> FixedWindowRateLimiter:
        if self._strategy is None:
            storage = RedisStorage(
                self.redis_uri,
                wrap_exceptions=True,
                implementation="redispy",
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
            self._strategy = FixedWindowRateLimiter(storage)
        return self._strategy

    async def hit(self, limit: str, scope: str, identity: str) -> Verdict | None:
        """Counts one request; None when Redis is unreachable (fail open)."""
        item = parse_limit(limit)
        limiter = self._limiter()
        try:
            allowed = await limiter.hit(item, self.namespace, scope, identity)
            stats = await limiter.get_window_stats(item, self.namespace, scope, identity)
        except StorageError as exc:
            self._warn(exc)
            return None
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed, item.amount, stats.remaining, reset_after)

    def _warn(self, exc: StorageError) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("rate limits not enforced: redis unreachable (%s)", type(exc).__name__)


async def _refuse(send: Send, verdict: Verdict) -> None:
    body = json.dumps(
        {
            "detail": f"Too many requests: the limit is {verdict.limit} per window. "
            f"Retry in {verdict.reset_after} s.",
            "code": "rate_limited",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *verdict.headers(),
    ]
    await send(HTTPResponseStartEvent(type="http.response.start", status=429, headers=headers))
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _with_headers(send: Send, verdict: Verdict) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *verdict.headers()]
        await send(message)

    return wrapped


async def _verdict(
    limiter: RateLimiter, merchant_limit: MerchantLimit, scope: Scope, token_path: str
) -> Verdict | None:
    """None for a request that is not counted (public routes but the token route)."""
    state = scope["litestar_app"].state
    settings: Settings = state.settings
    user = scope.get("user")
    if user is not None:
        merchant_id: str = user.merchant_id
        limit = await merchant_limit(state, merchant_id) or settings.rate_limit_per_merchant
        return await limiter.hit(limit, "merchant", merchant_id)
    if scope["path"] == token_path and scope.get("method") == "POST":
        client = scope.get("client")
        address = client[0] if client else "unknown"
        return await limiter.hit(settings.rate_limit_token_per_address, "token", address)
    return None


def rate_limit_middleware(
    settings: Settings, merchant_limit: MerchantLimit, token_path: str
) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware (after authentication, before idempotency: a 429 claims no key)."""
    limiter = RateLimiter(settings)

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or not settings.rate_limits_enabled:
                await app(scope, receive, send)
                return
            verdict = await _verdict(limiter, merchant_limit, scope, token_path)
            if verdict is None:
                await app(scope, receive, send)
            elif not verdict.allowed:
                await _refuse(send, verdict)
            else:
                await app(scope, receive, _with_headers(send, verdict))

        return middleware

    return wrap

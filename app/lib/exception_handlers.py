"""Every error leaves as the contract's shape; outages are 503s; nothing leaks a stack trace."""

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from msgspec import ValidationError as MsgspecValidationError
from pymongo.errors import ConnectionFailure, PyMongoError
from redis.exceptions import RedisError

from app.lib.errors import ApiError, RequestValidationError

log = logging.getLogger(__name__)
AnyRequest = Request[Any, Any, Any]

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "service_unavailable",
}


def _error(
    status: int, detail: str, code: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response({"detail": detail, "code": code}, status_code=status, headers=headers)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _from_pydantic(error: dict[str, Any], source: str) -> dict[str, Any]:
    out = {
        "loc": [source, *error.get("loc", ())],
        "msg": error.get("msg", "invalid value"),
        "type": error.get("type", "value_error"),
        "input": _jsonable(error.get("input")),
    }
    if error.get("ctx"):
        out["ctx"] = _jsonable(error["ctx"])
    return out


def _loc_from_key(key: str | None, source: str) -> list[str | int]:
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in (key or "").split(".") if p]
    return [source, *parts]


def validation_to_422(_: AnyRequest, exc: ValidationException) -> Response[Any]:
    cause = exc.__cause__
    pydantic_errors = getattr(cause, "errors", None)  # Litestar's pydantic plugin puts them here
    if isinstance(cause, MsgspecValidationError) and isinstance(pydantic_errors, list):
        detail = [_from_pydantic(e, "body") for e in pydantic_errors]
    else:
        extra = exc.extra if isinstance(exc.extra, list) else []
        detail = [
            {
                "loc": _loc_from_key(e.get("key"), e.get("source") or "body"),
                "msg": e.get("message", "invalid value"),
                "type": "value_error",
            }
            for e in extra
        ] or [{"loc": ["body"], "msg": exc.detail, "type": "value_error"}]
    return Response({"detail": detail}, status_code=422)


def request_validation(_: AnyRequest, exc: RequestValidationError) -> Response[Any]:
    return Response({"detail": [_jsonable(e) for e in exc.errors]}, status_code=422)


def api_error(_: AnyRequest, exc: ApiError) -> Response[Any]:
    return _error(exc.status_code, exc.detail, exc.code, exc.headers or None)


def http_exception(_: AnyRequest, exc: HTTPException) -> Response[Any]:
    if exc.status_code == 400:  # what is left of 400s is a body that could not be decoded
        msg = f"the body is not valid JSON: {exc.detail}"
        return Response(
            {"detail": [{"loc": ["body"], "msg": msg, "type": "json_invalid"}]}, status_code=422
        )
    status = exc.status_code
    if status >= 500:
        log.error("server error: %s", exc.detail)
        return _error(500, "Internal server error.", "internal_error")
    return _error(status, str(exc.detail), _CODES.get(status, "error"), exc.headers)


def mongo_down(_: AnyRequest, exc: PyMongoError) -> Response[Any]:
    if not isinstance(exc, ConnectionFailure):
        return unexpected(_, exc)
    log.warning("database unreachable: %s", type(exc).__name__)
    return _error(503, "The database is unreachable. Retry later.", "database_unavailable")


def redis_down(_: AnyRequest, exc: RedisError) -> Response[Any]:
    log.warning("redis unreachable: %s", type(exc).__name__)
    return _error(503, "The queue is unreachable; nothing was issued. Retry.", "redis_unavailable")


def object_store_down(_: AnyRequest, exc: Exception) -> Response[Any]:
    log.warning("object store unreachable: %s", type(exc).__name__)
    return _error(503, "The object store is unreachable. Retry later.", "object_store_unavailable")


def unexpected(_: AnyRequest, exc: Exception) -> Response[Any]:
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return _error(500, "Internal server error.", "internal_error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: validation_to_422,
    RequestValidationError: request_validation,
    ApiError: api_error,
    HTTPException: http_exception,
    PyMongoError: mongo_down,
    RedisError: redis_down,
    BotoCoreError: object_store_down,
    ClientError: object_store_down,
    Exception: unexpected,
}

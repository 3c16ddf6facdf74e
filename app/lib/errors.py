"""Errors in the contract's shapes: `{"detail", "code"}` and the 422 `{"detail": [...]}`."""

from typing import Any


class ApiError(Exception):
    """An error the client can act on: a status, a stable snake_case code and a sentence."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.headers = headers or {}


class NotFoundError(ApiError):
    status_code = 404
    code = "not_found"


class ConflictError(ApiError):
    status_code = 409
    code = "conflict"


class UnauthorizedError(ApiError):
    status_code = 401
    code = "not_authenticated"


class ServiceUnavailableError(ApiError):
    status_code = 503
    code = "service_unavailable"


class RequestValidationError(Exception):
    """A 422 in the seed's HTTPValidationError shape; `errors` are ValidationError dicts."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def error_item(
    loc: list[str | int],
    msg: str,
    *,
    type_: str = "value_error",
    input_: Any = None,
    ctx: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of a 422's `detail` list."""
    error: dict[str, Any] = {"loc": loc, "msg": msg, "type": type_, "input": input_}
    if ctx:
        error["ctx"] = ctx
    return error


def validation_error(
    loc: list[str | int],
    msg: str,
    *,
    type_: str = "value_error",
    input_: Any = None,
    ctx: dict[str, Any] | None = None,
) -> RequestValidationError:
    return RequestValidationError([error_item(loc, msg, type_=type_, input_=input_, ctx=ctx)])

"""What /schema says every operation can answer, in one place.

Routes declare their responses with `**documented(...)`: the contract's error bodies for the
statuses they really send (never Litestar's default 400, which the service does not send: an
undecodable body is a 422), `security: []` on public routes, `Idempotency-Key` on every
authenticated POST, and the response headers (`Location`, `Idempotent-Replayed`,
`Retry-After`). Add a status every authenticated operation gives to `AUTHENTICATED`.
"""

from dataclasses import dataclass
from typing import Any, ClassVar

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPIHeader,
    OpenAPIResponse,
    Operation,
    Parameter,
    SecurityScheme,
)
from litestar.openapi.spec import Schema as OpenAPISchema
from litestar.openapi.spec.enums import OpenAPIType
from pydantic import BaseModel


class ErrorBody(BaseModel):
    """The contract's error: a sentence for people and a stable snake_case code for programs."""

    detail: str
    code: str


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationErrorBody(BaseModel):
    """The 422: which input (`loc`: body/query/path/header, then the field) and why."""

    detail: list[ValidationErrorItem]


def _error(description: str, detail: str, code: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ErrorBody,
        description=description,
        generate_examples=False,
        examples=[Example(summary=code, value={"detail": detail, "code": code})],
    )


ERROR_RESPONSES: dict[int, ResponseSpec] = {
    401: _error("No valid bearer token", "Invalid or expired token.", "not_authenticated"),
    404: _error("Not found (or another merchant's)", "Program not found.", "not_found"),
    409: _error(
        "Conflicts with the resource's state, or a request with this Idempotency-Key is "
        "still running",
        "A request with this Idempotency-Key is still being processed.",
        "idempotency_key_in_progress",
    ),
    413: _error(
        "The body is larger than MAX_BODY_BYTES", "Request body is too large.", "request_too_large"
    ),
    422: ResponseSpec(
        # the idempotency middleware's `idempotency_key_reused` is a 422 in the error shape
        data_container=ValidationErrorBody | ErrorBody,  # type: ignore[arg-type]
        description="Invalid input: a body, path, query or header value (or an "
        "Idempotency-Key reused with another request: `idempotency_key_reused`)",
        generate_examples=False,
        examples=[
            Example(
                summary="validation_error",
                value={
                    "detail": [
                        {
                            "loc": ["body", "count"],
                            "msg": "Input should be greater than or equal to 1",
                            "type": "greater_than_equal",
                            "input": 0,
                        }
                    ]
                },
            )
        ],
    ),
    429: _error(
        "Over the merchant's (or, on /v2/token, the address's) rate limit; retry after "
        "Retry-After seconds",
        "Too many requests: the limit is 600 per window. Retry in 12 s.",
        "rate_limited",
    ),
    503: _error(
        "A store (MongoDB, Redis, S3) is unreachable; retry later",
        "The database is unreachable. Retry later.",
        "database_unavailable",
    ),
}

# What any operation behind the bearer token can answer besides its own statuses.
AUTHENTICATED = (401, 422, 429, 503)
PUBLIC = (503,)
# The idempotency middleware's 409 (key in use) and the body limit's 413, on every such POST.
IDEMPOTENT_POST = (409, 413)

IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in="header",
    required=False,
    description="Makes the request safely retryable for 24 h: a repeat gets the first "
    "response with `Idempotent-Replayed: true`; the same key with another body is a 422.",
    schema=OpenAPISchema(type=OpenAPIType.STRING, max_length=255),
)

_STRING = OpenAPISchema(type=OpenAPIType.STRING)
_LOCATION = OpenAPIHeader(description="Where to poll the task", schema=_STRING)
_REPLAYED = OpenAPIHeader(
    description="`true` when this is the stored answer to an earlier request with the same "
    "Idempotency-Key",
    schema=OpenAPISchema(type=OpenAPIType.STRING, enum=["true"]),
)
_RETRY_AFTER = OpenAPIHeader(
    description="Seconds to wait before retrying", schema=OpenAPISchema(type=OpenAPIType.INTEGER)
)


_POLL_AFTER = OpenAPIHeader(
    description="While the task runs: seconds until another poll is worth it",
    schema=OpenAPISchema(type=OpenAPIType.INTEGER),
)
_INTEGER = OpenAPISchema(type=OpenAPIType.INTEGER)
_RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": OpenAPIHeader(description="Requests allowed per window", schema=_INTEGER),
    "RateLimit-Remaining": OpenAPIHeader(
        description="Requests left in this window", schema=_INTEGER
    ),
    "RateLimit-Reset": OpenAPIHeader(
        description="Seconds until the window resets", schema=_INTEGER
    ),
}


def _with_headers(response: OpenAPIResponse, headers: dict[str, OpenAPIHeader]) -> None:
    response.headers = {**(response.headers or {}), **headers}


# A 202 answering with a task to poll carries `Location: /v2/giftcards/tasks/{taskId}`.
_TASK_BODIES = ("BulkIssuanceAsyncResponse", "TaskOut")


def _schema_name(schema: Any) -> str:
    """The model's name: refs are full paths here (`app_domain_tasks_schemas_TaskOut`) that
    Litestar shortens afterwards."""
    ref = str(getattr(schema, "ref", None) or "")
    return ref.rsplit("/", 1)[-1].rsplit("_", 1)[-1]


def _answers_a_task(response: OpenAPIResponse) -> bool:
    schemas = [media.schema for media in (response.content or {}).values()]
    return any(_schema_name(schema) in _TASK_BODIES for schema in schemas)


@dataclass
class ContractOperation(Operation):
    """An operation as the service answers it: Litestar's 400 (its ValidationException, which
    the exception handlers turn into a 422) dropped, and the response headers declared."""

    # counted by the rate limiter (app/lib/rate_limits.py): every answer has RateLimit-*
    rate_limited: ClassVar[bool] = True

    def __post_init__(self) -> None:
        responses = self.responses or {}
        responses.pop("400", None)
        idempotent = any(
            isinstance(p, Parameter) and p.name == IDEMPOTENCY_KEY.name
            for p in self.parameters or []
        )
        for status, response in responses.items():
            if not isinstance(response, OpenAPIResponse):
                continue
            if status == "202" and _answers_a_task(response):
                _with_headers(response, {"Location": _LOCATION, "Retry-After": _POLL_AFTER})
            if status == "200" and _answers_a_task(response):
                _with_headers(response, {"Retry-After": _POLL_AFTER})
            if self.rate_limited:
                _with_headers(response, _RATE_LIMIT_HEADERS)
            if idempotent and status.startswith("2"):
                _with_headers(response, {"Idempotent-Replayed": _REPLAYED})
            if status in ("429", "503"):
                _with_headers(response, {"Retry-After": _RETRY_AFTER})


@dataclass
class IdempotentOperation(ContractOperation):
    """An authenticated POST: the idempotency middleware honours `Idempotency-Key` on all."""

    def __post_init__(self) -> None:
        parameters = list(self.parameters or [])
        if not any(isinstance(p, Parameter) and p.name == IDEMPOTENCY_KEY.name for p in parameters):
            parameters.append(IDEMPOTENCY_KEY)
        self.parameters = parameters
        super().__post_init__()


@dataclass
class PublicOperation(ContractOperation):
    """A route that needs no bearer token (`security: []` overrides the document's default)."""

    rate_limited: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.security = []
        super().__post_init__()


PRINTER_SIGNATURE = "PrinterSignature"
PRINTER_SIGNATURE_SCHEME = SecurityScheme(
    type="apiKey",
    name="X-Printer-Signature",
    security_scheme_in="header",
    description="Hex HMAC-SHA256 of the raw request body with the printer's VENDOR_SECRET.",
)


@dataclass
class TokenOperation(PublicOperation):
    """`/v2/token`: public, but counted per client address."""

    rate_limited: ClassVar[bool] = True


@dataclass
class PrinterOperation(ContractOperation):
    """The printer's events: signed with the vendor secret instead of a bearer token."""

    rate_limited: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.security = [{PRINTER_SIGNATURE: []}]
        super().__post_init__()


def documented(
    *statuses: int,
    public: bool = False,
    printer: bool = False,
    token: bool = False,
    post: bool = False,
    errors: bool = True,
    extra: dict[int, ResponseSpec] | None = None,
) -> dict[str, Any]:
    """The decorator arguments for an operation that can also answer `statuses`, plus what every
    public or authenticated operation can (none with `errors=False`):
    `@post(PATH, **documented(404, post=True))`."""
    common: tuple[int, ...] = PUBLIC if public or printer else AUTHENTICATED
    if post and not (public or printer):
        common += IDEMPOTENT_POST
    codes = sorted({*(common if errors else ()), *statuses})
    responses = {code: ERROR_RESPONSES[code] for code in codes}
    operation: type[Operation] = ContractOperation
    if printer:
        operation = PrinterOperation
    elif token:
        operation = TokenOperation
    elif public:
        operation = PublicOperation
    elif post:
        operation = IdempotentOperation
    return {"responses": {**responses, **(extra or {})}, "operation_class": operation}


OPENAPI_COMPONENTS = Components(security_schemes={PRINTER_SIGNATURE: PRINTER_SIGNATURE_SCHEME})

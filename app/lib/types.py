"""Field and parameter types the schemas share."""

import time
from datetime import UTC, datetime
from typing import Annotated

from litestar.params import Parameter
from pydantic import PlainSerializer


def as_utc(value: datetime) -> datetime:
    """Aware UTC: PyMongo and nx-27017 give naive UTC datetimes back."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def iso_z(value: datetime) -> str:
    """ISO 8601 UTC with `Z`, millisecond precision (what MongoDB keeps)."""
    utc = as_utc(value)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def now_ms() -> int:
    """Epoch milliseconds: how times the code compares or `$set`s are stored (nx-27017 would
    turn a `$set` datetime into a string)."""
    return int(time.time() * 1000)


def utcnow() -> datetime:
    """Now, truncated to milliseconds so what we return equals what MongoDB gives back."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


OBJECT_ID_PATTERN = r"^[0-9a-f]{24}$"
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"

UtcDatetime = Annotated[datetime, PlainSerializer(iso_z, return_type=str)]

ObjectIdPath = Annotated[str, Parameter(pattern=OBJECT_ID_PATTERN, description="24 hex chars")]
# a client's own reference for a bulk issuance (Marqeta's token: 36 characters at most)
TOKEN_PATTERN = r"^[A-Za-z0-9._-]{1,36}$"
BulkIssuanceRef = Annotated[
    str, Parameter(pattern=TOKEN_PATTERN, description="The bulk issuance's id or its token")
]
LimitQuery = Annotated[int, Parameter(ge=1, le=1000, description="page size (1-1000)")]
CursorQuery = Annotated[str | None, Parameter(description="opaque cursor from nextCursor")]

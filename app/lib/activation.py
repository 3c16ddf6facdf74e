"""When a batch's cards become usable: `activatesAt` on a bulk request, or a program's
`activationOffset` (`{"unit": "HOURS", "value": 2}`: exact, no rounding, unlike an expiry)."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from app.lib.schema import ApiRequest


class ActivationUnit(StrEnum):
    DAYS = "DAYS"
    HOURS = "HOURS"
    MINUTES = "MINUTES"


_SPAN = {
    ActivationUnit.DAYS: timedelta(days=1),
    ActivationUnit.HOURS: timedelta(hours=1),
    ActivationUnit.MINUTES: timedelta(minutes=1),
}
_MAX = timedelta(days=3_650)  # ten years


class ActivationOffset(ApiRequest):
    """The cards of a batch become active this long after it is accepted."""

    unit: ActivationUnit
    value: Annotated[int, Field(ge=1, le=5_256_000)]

    @model_validator(mode="after")
    def within_ten_years(self) -> "ActivationOffset":
        if self.delay > _MAX:
            raise ValueError("must be at most ten years")
        return self

    @property
    def delay(self) -> timedelta:
        return _SPAN[self.unit] * self.value

    def activation_from(self, accepted: datetime) -> datetime:
        return (accepted.astimezone(UTC) + self.delay).replace(microsecond=0)

"""Marqeta's `expirationOffset`: an expiry given as a span from issue, and its rounding.

YEARS and MONTHS end at the last second of the last day of the month of expiry, DAYS at the
last second of the day of expiry (UTC), HOURS, MINUTES and SECONDS exactly."""

import calendar
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from app.lib.schema import ApiRequest


class OffsetUnit(StrEnum):
    YEARS = "YEARS"
    MONTHS = "MONTHS"
    DAYS = "DAYS"
    HOURS = "HOURS"
    MINUTES = "MINUTES"
    SECONDS = "SECONDS"


# 100 years in the largest unit, and no span past year 9999 in the smaller ones
_MAX_VALUE = {
    OffsetUnit.YEARS: 100,
    OffsetUnit.MONTHS: 1_200,
    OffsetUnit.DAYS: 36_500,
    OffsetUnit.HOURS: 876_000,
    OffsetUnit.MINUTES: 52_560_000,
    OffsetUnit.SECONDS: 3_153_600_000,
}


class ExpirationOffset(ApiRequest):
    """`{"unit": "YEARS", "value": 5}`: the card expires that long after it is issued."""

    unit: OffsetUnit
    value: Annotated[int, Field(ge=1, le=3_153_600_000)]

    @model_validator(mode="after")
    def within_a_century(self) -> "ExpirationOffset":
        if self.value > _MAX_VALUE[self.unit]:
            raise ValueError(f"value must be at most {_MAX_VALUE[self.unit]} {self.unit}")
        return self

    def expiry_from(self, issued: datetime) -> datetime:
        """The expiry of a card issued at `issued` (aware), rounded as Marqeta rounds."""
        at = issued.astimezone(UTC)
        if self.unit in (OffsetUnit.YEARS, OffsetUnit.MONTHS):
            months = self.value * (12 if self.unit == OffsetUnit.YEARS else 1)
            index = at.year * 12 + (at.month - 1) + months
            year, month = divmod(index, 12)
            last_day = calendar.monthrange(year, month + 1)[1]
            return datetime(year, month + 1, last_day, 23, 59, 59, tzinfo=UTC)
        if self.unit == OffsetUnit.DAYS:
            day = at + timedelta(days=self.value)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        seconds = {OffsetUnit.HOURS: 3600, OffsetUnit.MINUTES: 60, OffsetUnit.SECONDS: 1}
        return (at + timedelta(seconds=self.value * seconds[self.unit])).replace(microsecond=0)


DEFAULT_EXPIRY_DAYS = 365
MINIMUM_EXPIRY_DAYS_MAX = 36_500  # a century, like the offsets


def earliest_expiry(accepted: datetime, minimum_days: int | None) -> datetime | None:
    """The soonest a card accepted at `accepted` may expire under a program's
    `minimumExpiryDays` (e.g. 1,825: Regulation E's five years); None: no minimum."""
    return None if minimum_days is None else accepted + timedelta(days=minimum_days)


def default_expiry(accepted: datetime, minimum_days: int | None) -> datetime:
    """A year, or the program's minimum when that is later."""
    return accepted + timedelta(days=max(DEFAULT_EXPIRY_DAYS, minimum_days or 0))

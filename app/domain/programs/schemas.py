from typing import Annotated

from pydantic import AnyHttpUrl, Field, field_validator

from app.lib.money import CURRENCIES
from app.lib.schema import ApiRequest, ApiResponse, with_example
from app.lib.types import UtcDatetime
from app.storage.models import Program


class ProgramCreate(ApiRequest):
    model_config = with_example({"name": "Holiday 2026", "currency": "USD", "syncThreshold": 50})

    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    sync_threshold: Annotated[int, Field(ge=1, le=1000)] | None = None
    card_number_prefix: Annotated[str, Field(pattern=r"^[0-9]{6}$")] | None = None
    callback_url: AnyHttpUrl | None = None

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError("unsupported ISO 4217 currency code")
        return value


class ProgramOut(ApiResponse):
    id: str
    name: str
    currency: str
    sync_threshold: int
    card_number_prefix: str
    callback_url: str | None
    created_at: UtcDatetime

    @classmethod
    def from_program(cls, program: Program) -> "ProgramOut":
        return cls(
            id=str(program.id),
            name=program.name,
            currency=program.currency,
            sync_threshold=program.sync_threshold,
            card_number_prefix=program.card_number_prefix,
            callback_url=program.callback_url,
            created_at=program.created_at,
        )

from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from app.domain.programs.models import Program
from app.lib.money import CURRENCIES
from app.lib.types import UtcDatetime


class ProgramCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    syncThreshold: Annotated[int, Field(ge=1, le=1000)] | None = None
    cardNumberPrefix: Annotated[str, Field(pattern=r"^[0-9]{6}$")] | None = None
    callbackUrl: AnyHttpUrl | None = None

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError("unsupported ISO 4217 currency code")
        return value


class ProgramOut(BaseModel):
    id: str
    name: str
    currency: str
    syncThreshold: int
    cardNumberPrefix: str
    callbackUrl: str | None
    createdAt: UtcDatetime

    @classmethod
    def of(cls, program: Program) -> "ProgramOut":
        return cls(
            id=str(program.id),
            name=program.name,
            currency=program.currency,
            syncThreshold=program.sync_threshold,
            cardNumberPrefix=program.card_number_prefix,
            callbackUrl=program.callback_url,
            createdAt=program.created_at,
        )

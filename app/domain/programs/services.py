from typing import Any

from app.domain.programs.schemas import ProgramCreate, ProgramUpdate
from app.lib.errors import NotFoundError, validation_error
from app.lib.expiration import ExpirationOffset, earliest_expiry
from app.lib.types import utcnow
from app.lib.url_safety import require_safe_url
from app.storage.models import Program
from app.storage.resources import Resources


class ProgramService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def create(self, merchant_id: str, data: ProgramCreate) -> Program:
        settings = self.res.settings
        if data.callback_url:
            await require_safe_url(
                str(data.callback_url), settings.allow_private_urls, ["body", "callbackUrl"]
            )
        if data.default_shipping_config_id:
            await self._require_shipping_config(merchant_id, data.default_shipping_config_id)
        _require_lasting_offset(data.expiration_offset, data.minimum_expiry_days)
        program = Program(
            merchant_id=merchant_id,
            name=data.name,
            currency=data.currency,
            sync_threshold=data.sync_threshold or settings.sync_threshold_default,
            card_number_prefix=data.card_number_prefix or settings.default_card_prefix,
            callback_url=str(data.callback_url) if data.callback_url else None,
            default_shipping_config_id=data.default_shipping_config_id,
            phone_region=data.phone_region,
            notification_channels=data.notification_channels,
            expiration_offset=data.expiration_offset,
            minimum_expiry_days=data.minimum_expiry_days,
            activation_offset=data.activation_offset,
        )
        await self.res.db.programs.insert(program)
        return program

    async def get(self, merchant_id: str, program_id: str) -> Program:
        """The merchant's program; another merchant's id is indistinguishable from a missing
        one. Read afresh on every request (one lookup by _id): a PATCH applies at once in every
        process, with no cache to keep coherent."""
        program = await self.res.db.programs.of_merchant(merchant_id, program_id)
        if program is None:
            raise NotFoundError("Program not found.", code="program_not_found")
        return program

    async def update(self, merchant_id: str, program_id: str, data: ProgramUpdate) -> Program:
        """Changes the fields given (and only those), after the same checks as at creation."""
        current = await self.get(merchant_id, program_id)
        changes = data.changes()
        await self._check_changes(merchant_id, changes)
        given = data.model_fields_set
        _require_lasting_offset(
            data.expiration_offset if "expiration_offset" in given else current.expiration_offset,
            data.minimum_expiry_days
            if "minimum_expiry_days" in given
            else current.minimum_expiry_days,
            "expirationOffset" if "expiration_offset" in given else "minimumExpiryDays",
        )
        program = await self.res.db.programs.update(merchant_id, program_id, changes)
        if program is None:
            raise NotFoundError("Program not found.", code="program_not_found")
        return program

    async def _check_changes(self, merchant_id: str, changes: dict[str, Any]) -> None:
        if changes.get("callback_url"):
            await require_safe_url(
                changes["callback_url"],
                self.res.settings.allow_private_urls,
                ["body", "callbackUrl"],
            )
        if changes.get("default_shipping_config_id"):
            await self._require_shipping_config(merchant_id, changes["default_shipping_config_id"])

    async def _require_shipping_config(self, merchant_id: str, config_id: str) -> None:
        if await self.res.db.shipping_configs.of_merchant(merchant_id, config_id) is None:
            raise validation_error(
                ["body", "defaultShippingConfigId"],
                "no such shipping configuration",
                input_=config_id,
            )

    async def page(
        self, merchant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Program], str | None]:
        return await self.res.db.programs.page(merchant_id, limit, cursor)


def _require_lasting_offset(
    offset: ExpirationOffset | None, minimum_days: int | None, field: str = "expirationOffset"
) -> None:
    """A program's default offset may not expire its cards sooner than its own minimum."""
    now = utcnow()
    floor = earliest_expiry(now, minimum_days)
    if offset is not None and floor is not None and offset.expiry_from(now) < floor:
        raise validation_error(
            ["body", field],
            f"the expirationOffset expires cards sooner than minimumExpiryDays ({minimum_days})",
            input_=offset.model_dump(mode="json", by_alias=True),
        )

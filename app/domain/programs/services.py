from typing import Any

from app.domain.programs.schemas import ProgramCreate, ProgramUpdate
from app.lib.errors import NotFoundError, validation_error
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
        await self.get(merchant_id, program_id)
        changes = data.changes()
        await self._check_changes(merchant_id, changes)
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

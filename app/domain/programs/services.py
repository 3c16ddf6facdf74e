from app.domain.programs.schemas import ProgramCreate
from app.lib.errors import NotFoundError
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
        program = Program(
            merchant_id=merchant_id,
            name=data.name,
            currency=data.currency,
            sync_threshold=data.sync_threshold or settings.sync_threshold_default,
            card_number_prefix=data.card_number_prefix or settings.default_card_prefix,
            callback_url=str(data.callback_url) if data.callback_url else None,
        )
        await self.res.db.programs.insert(program)
        return program

    async def get(self, merchant_id: str, program_id: str) -> Program:
        """The merchant's program; another merchant's id is indistinguishable from a missing
        one. Programs never change once created, so the process keeps them for a minute."""
        key = (merchant_id, program_id)
        program = self.res.caches.programs.get(key)
        if program is None:
            program = await self.res.db.programs.of_merchant(merchant_id, program_id)
            if program is None:
                raise NotFoundError("Program not found.", code="program_not_found")
            self.res.caches.programs.put(key, program)
        return program

    async def page(
        self, merchant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Program], str | None]:
        return await self.res.db.programs.page(merchant_id, limit, cursor)

import time

from bson import ObjectId

from app.domain.programs.models import Program
from app.domain.programs.schemas import ProgramCreate
from app.lib.errors import NotFoundError
from app.lib.pagination import newest_first_page
from app.lib.settings import Settings


async def create_program(merchant_id: str, data: ProgramCreate, settings: Settings) -> Program:
    program = Program(
        merchant_id=merchant_id,
        name=data.name,
        currency=data.currency,
        sync_threshold=data.syncThreshold or settings.sync_threshold_default,
        card_number_prefix=data.cardNumberPrefix or settings.default_card_prefix,
        callback_url=str(data.callbackUrl) if data.callbackUrl else None,
    )
    await program.insert()
    return program


# Programs never change once created (there is no update call), so each process keeps the ones
# it has read for a minute: one database round trip less on every issuance.
_CACHE_SECONDS = 60.0
_CACHE_SIZE = 1024
_cache: dict[tuple[str, str], tuple[float, Program]] = {}


async def get_program(merchant_id: str, program_id: str) -> Program:
    """The merchant's program; another merchant's id is indistinguishable from a missing one."""
    key = (merchant_id, program_id)
    cached = _cache.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    program = await Program.find_one({"_id": ObjectId(program_id), "merchant_id": merchant_id})
    if program is None:
        raise NotFoundError("Program not found.", code="program_not_found")
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    _cache[key] = (time.monotonic() + _CACHE_SECONDS, program)
    return program


async def list_programs(
    merchant_id: str, limit: int, cursor: str | None
) -> tuple[list[Program], str | None]:
    return await newest_first_page(Program, {"merchant_id": merchant_id}, limit, cursor)

"""Shipping configurations (create, get, list) and the numeric postfix counter per program."""

from bson import ObjectId
from pymongo import ReturnDocument

from app.domain.fulfillment.models import PostfixCounter, ShippingConfig
from app.domain.fulfillment.schemas import ShippingConfigCreate, ShippingConfigOut
from app.lib.errors import NotFoundError
from app.lib.pagination import newest_first_page
from app.lib.types import utcnow


async def create_config(merchant_id: str, data: ShippingConfigCreate) -> ShippingConfig:
    now = utcnow()
    config = ShippingConfig(
        merchant_id=merchant_id,
        name=data.name,
        policy=data.policy,
        shipping=data.shipping.model_dump(mode="json"),
        return_address=data.returnAddress.model_dump(mode="json") if data.returnAddress else None,
        created_ms=int(now.timestamp() * 1000),
        created_at=now,
    )
    await config.insert()
    return config


async def find_config(merchant_id: str, config_id: str) -> ShippingConfig | None:
    return await ShippingConfig.find_one({"_id": ObjectId(config_id), "merchant_id": merchant_id})


async def get_config(merchant_id: str, config_id: str) -> ShippingConfig:
    """Another merchant's configuration is indistinguishable from a missing one."""
    config = await find_config(merchant_id, config_id)
    if config is None:
        raise NotFoundError("Shipping configuration not found.", code="shipping_config_not_found")
    return config


async def list_configs(
    merchant_id: str, limit: int, cursor: str | None
) -> tuple[list[ShippingConfig], str | None]:
    return await newest_first_page(ShippingConfig, {"merchant_id": merchant_id}, limit, cursor)


def describe_config(config: ShippingConfig) -> ShippingConfigOut:
    return ShippingConfigOut(
        id=str(config.id),
        name=config.name,
        policy=config.policy,
        shipping=config.shipping,
        returnAddress=config.return_address,
        createdAt=config.created_at,
    )


async def reserve_postfixes(program_id: str, count: int) -> tuple[int, int]:
    """A block of `count` consecutive postfixes for one batch: [start, end], 1-based. One
    atomic `$inc` per batch, so concurrent batches get disjoint, contiguous blocks."""
    after = await PostfixCounter.get_pymongo_collection().find_one_and_update(
        {"_id": program_id},
        {"$inc": {"next": count}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    end = int(after["next"])
    return end - count + 1, end


async def release_postfixes(program_id: str, start: int, end: int) -> None:
    """Gives a block back when its batch was not accepted, if no later block was taken since
    (otherwise the block stays a gap: numbers are never handed out twice)."""
    await PostfixCounter.get_pymongo_collection().update_one(
        {"_id": program_id, "next": end}, {"$inc": {"next": -(end - start + 1)}}
    )

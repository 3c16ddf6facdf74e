"""MongoDB through Beanie 2 on PyMongo's async client.

References between documents are 24-hex strings, not ObjectIds, and money is int64 minor units:
the dialect that both MongoDB and the embedded nx-27017 serve correctly.
"""

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.lib.settings import Settings


def document_models() -> list[type]:
    from app.domain.cards.models import Card
    from app.domain.fulfillment.models import (
        FulfillmentCutoff,
        FulfillmentEvent,
        FulfillmentOrder,
        PostfixCounter,
        ShippingConfig,
    )
    from app.domain.issuance.models import BulkIssuance
    from app.domain.issuance.request_keys import RequestKey
    from app.domain.merchants.models import Merchant
    from app.domain.programs.models import Program

    return [
        Merchant,
        Program,
        BulkIssuance,
        RequestKey,
        Card,
        ShippingConfig,
        FulfillmentOrder,
        FulfillmentEvent,
        FulfillmentCutoff,
        PostfixCounter,
    ]


def mongo_client(settings: Settings) -> AsyncMongoClient:
    timeout = settings.mongodb_timeout_ms
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        socketTimeoutMS=max(timeout * 10, 30_000),
    )


async def connect_mongo(settings: Settings) -> AsyncMongoClient:
    """Connects and registers the models (creating their indexes)."""
    client = mongo_client(settings)
    await init_beanie(database=client[settings.mongodb_db], document_models=document_models())
    return client

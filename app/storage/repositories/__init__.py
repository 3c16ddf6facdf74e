"""One repository per collection: the only code that knows a collection's field paths, its
indexes and the raw PyMongo calls on it. Services speak in these methods.

Dialect (what nx-27017 gets right too): a `$or` goes inside `$and` with the other conditions,
never beside them at the top level (nx-27017 writes that into SQL without brackets); an
equality that an index should serve is an `$eq` (`filters.exact`, `filters.of_batch`: a bare
`{field: value}` is a scan of the whole collection there)."""

from dataclasses import dataclass, field

from app.storage.repositories.api_keys import ApiKeyRepository
from app.storage.repositories.cards import CardRepository, EncryptedCard
from app.storage.repositories.fulfillment_cutoffs import FulfillmentCutoffRepository
from app.storage.repositories.fulfillment_events import FulfillmentEventRepository
from app.storage.repositories.fulfillment_orders import FulfillmentOrderRepository
from app.storage.repositories.issuance_tokens import IssuanceTokenRepository
from app.storage.repositories.issuances import (
    CardsFound,
    IssuanceRepository,
    OpenRecipientBatch,
)
from app.storage.repositories.job_chains import StaleTask
from app.storage.repositories.merchants import MerchantRepository
from app.storage.repositories.postfix_counters import PostfixCounterRepository
from app.storage.repositories.programs import ProgramRepository
from app.storage.repositories.request_keys import RequestKeyRepository
from app.storage.repositories.shipping_configs import ShippingConfigRepository
from app.storage.repositories.status_changes import StatusChangeRepository
from app.storage.repositories.webhook_deliveries import WebhookDeliveryRepository


@dataclass(frozen=True)
class Repositories:
    merchants: MerchantRepository = field(default_factory=MerchantRepository)
    api_keys: ApiKeyRepository = field(default_factory=ApiKeyRepository)
    programs: ProgramRepository = field(default_factory=ProgramRepository)
    issuances: IssuanceRepository = field(default_factory=IssuanceRepository)
    request_keys: RequestKeyRepository = field(default_factory=RequestKeyRepository)
    issuance_tokens: IssuanceTokenRepository = field(default_factory=IssuanceTokenRepository)
    cards: CardRepository = field(default_factory=CardRepository)
    postfix_counters: PostfixCounterRepository = field(default_factory=PostfixCounterRepository)
    shipping_configs: ShippingConfigRepository = field(default_factory=ShippingConfigRepository)
    fulfillment_orders: FulfillmentOrderRepository = field(
        default_factory=FulfillmentOrderRepository
    )
    fulfillment_events: FulfillmentEventRepository = field(
        default_factory=FulfillmentEventRepository
    )
    fulfillment_cutoffs: FulfillmentCutoffRepository = field(
        default_factory=FulfillmentCutoffRepository
    )
    status_changes: StatusChangeRepository = field(default_factory=StatusChangeRepository)
    webhook_deliveries: WebhookDeliveryRepository = field(default_factory=WebhookDeliveryRepository)


__all__ = [
    "ApiKeyRepository",
    "CardRepository",
    "CardsFound",
    "FulfillmentCutoffRepository",
    "FulfillmentEventRepository",
    "FulfillmentOrderRepository",
    "ShippingConfigRepository",
    "EncryptedCard",
    "IssuanceRepository",
    "IssuanceTokenRepository",
    "MerchantRepository",
    "OpenRecipientBatch",
    "PostfixCounterRepository",
    "ProgramRepository",
    "Repositories",
    "RequestKeyRepository",
    "StaleTask",
    "StatusChangeRepository",
    "WebhookDeliveryRepository",
]

"""The documents, one module per collection family. References between documents are 24-hex
strings, not ObjectIds, and money is int64 minor units: the dialect both MongoDB and the
embedded nx-27017 serve correctly."""

from app.storage.models.api_key import ApiKey
from app.storage.models.card import Card, CardFulfillment, CardNotification, CardView
from app.storage.models.fulfillment import (
    BoxTracking,
    CutProgress,
    FulfillmentCutoff,
    FulfillmentEvent,
    FulfillmentOrder,
    ManifestProgress,
    OrderBatch,
    PostfixCounter,
    ShippingConfig,
    Submission,
    WebhookState,
)
from app.storage.models.issuance import (
    BulkIssuance,
    CallbackState,
    IssuanceToken,
    PartClaim,
    RequestKey,
)
from app.storage.models.merchant import Merchant
from app.storage.models.parts import Address, Personalization, Recipient, RecipientName, Shipping
from app.storage.models.program import Program
from app.storage.models.status_change import StatusChange
from app.storage.models.webhook import MovedCards, WebhookDelivery

DOCUMENT_MODELS = [
    Merchant,
    ApiKey,
    Program,
    BulkIssuance,
    RequestKey,
    IssuanceToken,
    Card,
    ShippingConfig,
    FulfillmentOrder,
    FulfillmentEvent,
    FulfillmentCutoff,
    PostfixCounter,
    StatusChange,
    WebhookDelivery,
]

__all__ = [
    "DOCUMENT_MODELS",
    "Address",
    "ApiKey",
    "BulkIssuance",
    "CallbackState",
    "PartClaim",
    "Card",
    "CardFulfillment",
    "CardNotification",
    "CardView",
    "FulfillmentCutoff",
    "FulfillmentEvent",
    "FulfillmentOrder",
    "BoxTracking",
    "CutProgress",
    "IssuanceToken",
    "ManifestProgress",
    "Merchant",
    "MovedCards",
    "OrderBatch",
    "Personalization",
    "PostfixCounter",
    "Program",
    "Recipient",
    "RecipientName",
    "RequestKey",
    "Shipping",
    "ShippingConfig",
    "StatusChange",
    "Submission",
    "WebhookDelivery",
    "WebhookState",
]

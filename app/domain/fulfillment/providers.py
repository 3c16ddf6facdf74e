"""Card printers behind one interface: `file` (the manifest waits in the object store for
pickup) and `http` (a signed notice POSTed to PRINTER_URL; arq retries it with backoff).

The http notice is JSON with a presigned, expiring `manifestUrl`, signed in the header
`Giftcards-Printer-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body>` with
PRINTER_SECRET, the scheme of our merchant webhooks.
"""

from dataclasses import dataclass
from typing import Protocol

from app.domain.webhooks.delivery import post_signed
from app.lib.object_store import ObjectStore
from app.lib.settings import Settings
from app.storage.models import FulfillmentOrder, ShippingConfig

SIGNATURE_HEADER = "Giftcards-Printer-Signature"


@dataclass(frozen=True)
class Receipt:
    """What the order's submission records of the hand-over."""

    location: str
    http_status: int | None = None


class PrinterProvider(Protocol):
    name: str

    async def submit(
        self, order: FulfillmentOrder, config: ShippingConfig, manifest_key: str
    ) -> Receipt:
        """Hands the order to the printer; raises to be retried."""
        ...


class FileProvider:
    name = "file"

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    async def submit(
        self, order: FulfillmentOrder, config: ShippingConfig, manifest_key: str
    ) -> Receipt:
        return Receipt(location=f"s3://{self.store.bucket}/{manifest_key}")


class HttpProvider:
    name = "http"

    def __init__(self, settings: Settings, store: ObjectStore) -> None:
        self.settings = settings
        self.url, self.secret = settings.printer_url, settings.printer_secret
        self.ttl = settings.manifest_link_ttl_seconds
        self.store = store

    async def submit(
        self, order: FulfillmentOrder, config: ShippingConfig, manifest_key: str
    ) -> Receipt:
        if not self.url:
            raise RuntimeError("PRINTER_URL is not set")
        return_address = config.return_address
        notice = {
            "orderId": str(order.id),
            "cardCount": order.card_count,
            "manifestUrl": self.store.presigned_get(manifest_key, self.ttl),
            "shipping": config.shipping.model_dump(mode="json"),
            "returnAddress": return_address.model_dump(mode="json") if return_address else None,
        }
        response = await post_signed(
            self.settings, self.url, self.secret, notice, signature_header=SIGNATURE_HEADER
        )
        return Receipt(location=self.url, http_status=response.status_code)


def provider_for(settings: Settings, store: ObjectStore) -> PrinterProvider:
    if settings.printer_provider == "http":
        return HttpProvider(settings, store)
    return FileProvider(store)

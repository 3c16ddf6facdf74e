"""Card printers behind one interface: `file` (the manifest waits in the object store for
pickup) and `http` (a signed notice POSTed to PRINTER_URL; arq retries it with backoff).

The http notice is JSON with a presigned, expiring `manifestUrl`, signed in the header
`Giftcards-Printer-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body>` with
PRINTER_SECRET, the scheme of our merchant webhooks.

Each provider declares the shipping methods it accepts (Marqeta: "values allowed depend on
your fulfillment provider"): `file` accepts every method (whoever picks the manifest up reads
the method off each row); `http` accepts PRINTER_SHIPPING_METHODS (empty: every method), set
to what the vendor behind PRINTER_URL ships, e.g. `USPS_REGULAR,FEDEX_EXPEDITED` for Perfect
Plastic Printing or `USPS_REGULAR,UPS_EXPEDITED` for Arroweye. `check_shipping_method` refuses
any other with a 422 at the field, wherever a shipping block comes in.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.domain.webhooks.delivery import post_signed
from app.lib.errors import validation_error
from app.lib.object_store import ObjectStore
from app.lib.settings import Settings
from app.storage.models import FulfillmentOrder, ShippingConfig
from app.storage.states import ShippingMethod

SIGNATURE_HEADER = "Giftcards-Printer-Signature"
EVERY_METHOD = frozenset(ShippingMethod)


@dataclass(frozen=True)
class Receipt:
    """What the order's submission records of the hand-over."""

    location: str
    http_status: int | None = None


class PrinterProvider(Protocol):
    name: str

    @staticmethod
    def shipping_methods(settings: Settings) -> frozenset[ShippingMethod]:
        """The methods this printer ships by."""
        ...

    async def submit(
        self, order: FulfillmentOrder, config: ShippingConfig, manifest_key: str
    ) -> Receipt:
        """Hands the order to the printer; raises to be retried."""
        ...


class FileProvider:
    name = "file"

    @staticmethod
    def shipping_methods(settings: Settings) -> frozenset[ShippingMethod]:
        return EVERY_METHOD

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    async def submit(
        self, order: FulfillmentOrder, config: ShippingConfig, manifest_key: str
    ) -> Receipt:
        return Receipt(location=f"s3://{self.store.bucket}/{manifest_key}")


class HttpProvider:
    name = "http"

    @staticmethod
    def shipping_methods(settings: Settings) -> frozenset[ShippingMethod]:
        """PRINTER_SHIPPING_METHODS (empty: every method); an unknown name is a ValueError,
        raised when the API starts."""
        names = [n.strip() for n in settings.printer_shipping_methods.split(",") if n.strip()]
        unknown = sorted(set(names) - set(EVERY_METHOD))
        if unknown:
            raise ValueError(f"PRINTER_SHIPPING_METHODS: unknown shipping methods {unknown}")
        return frozenset(ShippingMethod(n) for n in names) or EVERY_METHOD

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


def accepted_methods(settings: Settings) -> frozenset[ShippingMethod]:
    """The shipping methods the configured provider accepts."""
    provider = HttpProvider if settings.printer_provider == "http" else FileProvider
    return provider.shipping_methods(settings)


def check_shipping_method(
    method: ShippingMethod,
    settings: Settings,
    loc: Sequence[str | int] = ("body", "shipping", "method"),
) -> None:
    """A 422 at `loc` when the configured printer does not ship by `method`."""
    accepted = accepted_methods(settings)
    if method in accepted:
        return
    expected = ", ".join(m.value for m in ShippingMethod if m in accepted)
    raise validation_error(
        list(loc),
        f"the printer ({settings.printer_provider}) does not ship by {method.value}; "
        f"it ships by: {expected}",
        type_="shipping_method_not_supported",
        input_=method.value,
        ctx={"expected": expected},
    )

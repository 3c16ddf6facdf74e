"""Embedded parts that several documents share: who a card is for, what is printed on it,
where a parcel goes. Stored under the API's camelCase names."""

from app.storage.models.base import CamelEmbedded
from app.storage.states import ShippingMethod

# Marqeta's default colour of the card's thermal print: what the card and the manifest show
# when the request named none (never stored on each card).
DEFAULT_THERMAL_COLOR = "UG_BLACK"


class Personalization(CamelEmbedded):
    """What the printer puts on a card and its carrier (Marqeta's card_personalization); on an
    issuance also whether lines get a postfix. A card stores only the fields that are set."""

    name_line1: str | None = None
    name_line2: str | None = None
    numeric_postfix: bool = False
    carrier_message: str | None = None
    card_image: str | None = None
    thermal_color: str | None = None
    name_line3: str | None = None
    custom_text: dict[str, str] | None = None  # Marqeta's free-form text fields, by name
    carrier_image: str | None = None
    carrier_return_window_image: str | None = None


class RecipientName(CamelEmbedded):
    first_name: str
    middle_name: str | None = None
    last_name: str


class Address(CamelEmbedded):
    line1: str
    line2: str | None = None
    city: str
    state: str
    postal_code: str
    country_code: str


class Shipping(CamelEmbedded):
    recipient_name: RecipientName
    business_name: str | None = None
    address: Address
    phone: str | None = None
    method: ShippingMethod
    expedited: bool = False
    care_of_line: str | None = None


class Recipient(CamelEmbedded):
    """On a bulk issuance; on its card without `shipping` (the card's own field holds it)."""

    customer_email: str | None = None
    customer_phone: str | None = None
    customer_name: str | None = None
    sender_name: str | None = None
    custom_message: str | None = None
    shipping: Shipping | None = None  # individual fulfillment: this card's own parcel

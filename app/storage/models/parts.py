"""Embedded parts that several documents share: who a card is for, what is printed on it,
where a parcel goes. Stored under the API's camelCase names."""

from app.storage.models.base import CamelEmbedded
from app.storage.states import ShippingMethod


class Recipient(CamelEmbedded):
    customer_email: str | None = None
    customer_phone: str | None = None
    customer_name: str | None = None
    sender_name: str | None = None
    custom_message: str | None = None


class Personalization(CamelEmbedded):
    """What the printer puts on a card; on an issuance also whether lines get a postfix."""

    name_line1: str | None = None
    name_line2: str | None = None
    numeric_postfix: bool = False
    carrier_message: str | None = None
    card_image: str | None = None
    thermal_color: str | None = None


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

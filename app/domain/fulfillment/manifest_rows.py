"""The manifest's columns and one card's row of it (the same from a card document or from
a batch's CSV and its print fields: manifest_csv.py)."""

import json
from typing import Any

from app.lib.card_numbers import CardVault
from app.lib.types import iso_z
from app.storage.models import Shipping
from app.storage.models.parts import DEFAULT_THERMAL_COLOR
from app.storage.repositories.card_fulfillment import ManifestCard

CARD_COLUMNS = [
    "orderId",
    "cardId",
    "cardNumber",
    "nameLine1",
    "nameLine2",
    "carrierMessage",
    "cardImage",
    "thermalColor",
    "designTemplate",
    "expiresAt",
]
SHIPPING_COLUMNS = [
    "recipientFirstName",
    "recipientMiddleName",
    "recipientLastName",
    "businessName",
    "careOfLine",
    "addressLine1",
    "addressLine2",
    "city",
    "state",
    "postalCode",
    "countryCode",
    "phone",
    "shippingMethod",
    "expedited",
]
# Marqeta's further print fields, after every earlier column (readers find those where they
# were); `customText` is the free-form fields as one JSON object, in the order given.
PRINT_COLUMNS = ["nameLine3", "customText", "carrierImage", "carrierReturnWindowImage"]
# One shipment per parcel: the order's id for the cards shipped together to the configuration's
# address, the card's id for a card shipped on its own (individual fulfillment)
SHIPMENT_COLUMNS = ["shipmentId"]
# the box of the order the card is packed in (at most BOX_SIZE cards a box, each box with its
# own tracking); empty for an order cut before boxes
BOX_COLUMNS = ["boxNumber"]
HEADER = CARD_COLUMNS + SHIPPING_COLUMNS + PRINT_COLUMNS + SHIPMENT_COLUMNS + BOX_COLUMNS


def shipping_cells(shipping: Shipping) -> list[str]:
    """A parcel's shipping block: the configuration's, the same on every row of its cards, or a
    card's own."""
    name, address = shipping.recipient_name, shipping.address
    cells = [
        name.first_name,
        name.middle_name,
        name.last_name,
        shipping.business_name,
        shipping.care_of_line,
        address.line1,
        address.line2,
        address.city,
        address.state,
        address.postal_code,
        address.country_code,
        shipping.phone,
        shipping.method,
        "true" if shipping.expedited else "false",
    ]
    return ["" if cell is None else str(cell) for cell in cells]


def stored_row(
    vault: CardVault, order_id: str, card: ManifestCard, shipping: list[str]
) -> list[str]:
    """The row of a card read from the database (its number decrypted for the row only)."""
    return card_row(order_id, card, vault.decrypt(card.number_enc, card.id), shipping)


def card_row(order_id: str, card: ManifestCard, number: str, shipping: list[str]) -> list[str]:
    """The card's row; `shipping`: the configuration's block (shipping_cells)."""
    return [
        order_id,
        card.id,
        number,
        card.name_line1 or "",
        card.name_line2 or "",
        card.carrier_message or "",
        card.card_image or "",
        card.thermal_color or DEFAULT_THERMAL_COLOR,
        card.design_template or "",
        iso_z(card.expires_at),
        *(shipping if card.shipping is None else _own_parcel(card.shipping)),
        *_print_cells(card),
        order_id if card.shipping is None else card.id,
        "" if card.box is None else str(card.box),
    ]


def _own_parcel(stored: dict[str, Any]) -> list[str]:
    """The block of a card shipped on its own (the few cards that have one)."""
    return shipping_cells(Shipping.model_validate(stored))


def _print_cells(card: ManifestCard) -> list[str]:
    custom = card.custom_text
    return [
        card.name_line3 or "",
        json.dumps(custom, ensure_ascii=False, separators=(",", ":")) if custom else "",
        card.carrier_image or "",
        card.carrier_return_window_image or "",
    ]

"""The dev printer: `printer advance ORDER_ID STATUS [--tracking N]`."""

import json
import uuid
from typing import Any

import click
import httpx

from app.domain.fulfillment.events import SIGNATURE_HEADER, sign
from app.lib.settings import get_settings


@click.group("printer")
def printer() -> None:
    """Act as the card printer (development)."""


@printer.command("advance")
@click.argument("order_id")
@click.argument("status", type=click.Choice(["SHIPPED", "DELIVERED", "REJECTED", "RETURNED"]))
@click.option("--tracking", help="tracking number (SHIPPED)")
@click.option("--carrier", help="carrier (default UPS when a tracking number is given)")
@click.option("--card", "cards", multiple=True, help="only this card id (repeatable)")
@click.option("--box", type=click.IntRange(min=1), help="only this box of the order")
@click.option("--url", help="the API's base URL (default http://API_HOST:API_PORT)")
def advance(
    order_id: str,
    status: str,
    tracking: str | None,
    carrier: str | None,
    cards: tuple[str, ...],
    box: int | None,
    url: str | None,
) -> None:
    """Post a status event signed as the printer would (VENDOR_SECRET), to the running API."""
    settings = get_settings()
    event: dict[str, Any] = {"eventId": str(uuid.uuid4()), "orderId": order_id, "status": status}
    if carrier or (status == "SHIPPED" and tracking):
        event["carrier"] = carrier or "UPS"
    if tracking:
        event["trackingNumber"] = tracking
    if cards:
        event["cardIds"] = list(cards)
    if box is not None:
        event["boxNumber"] = box
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(settings.vendor_secret, body),
    }
    target = (url or settings.base_url).rstrip("/") + "/v2/fulfillment/events"
    response = httpx.post(target, content=body, headers=headers, timeout=30)
    click.echo(f"{response.status_code} {response.text}")
    if response.status_code >= 400:
        raise SystemExit(1)


COMMANDS = (printer,)

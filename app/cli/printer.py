"""The dev printer: `printer advance ORDER_ID STATUS [--tracking N]`."""

import argparse
import json
import uuid
from typing import Any

import httpx

from app.domain.fulfillment.events import SIGNATURE_HEADER, sign
from app.lib.settings import get_settings


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    printer = commands.add_parser("printer", help="act as the card printer (development)")
    printer_commands = printer.add_subparsers(dest="action", required=True)
    advance = printer_commands.add_parser("advance", help="post a signed status event")
    advance.add_argument("order_id")
    advance.add_argument("status", choices=["SHIPPED", "DELIVERED", "REJECTED", "RETURNED"])
    advance.add_argument("--tracking", help="tracking number (SHIPPED)")
    advance.add_argument("--carrier", help="carrier (default UPS when a tracking number is given)")
    advance.add_argument("--card", action="append", help="only this card id (repeatable)")
    advance.add_argument("--url", help="the API's base URL (default http://API_HOST:API_PORT)")
    advance.set_defaults(run=_printer_advance)


def _printer_advance(args: argparse.Namespace) -> None:
    """Posts a status event signed as the printer would (VENDOR_SECRET), to the running API."""
    settings = get_settings()
    event: dict[str, Any] = {
        "eventId": str(uuid.uuid4()),
        "orderId": args.order_id,
        "status": args.status,
    }
    if args.carrier or (args.status == "SHIPPED" and args.tracking):
        event["carrier"] = args.carrier or "UPS"
    if args.tracking:
        event["trackingNumber"] = args.tracking
    if args.card:
        event["cardIds"] = args.card
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(settings.vendor_secret, body),
    }
    url = (args.url or settings.base_url).rstrip("/") + "/v2/fulfillment/events"
    response = httpx.post(url, content=body, headers=headers, timeout=30)
    print(f"{response.status_code} {response.text}")
    if response.status_code >= 400:
        raise SystemExit(1)

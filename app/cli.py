"""Operator commands: `python -m app.cli merchant create NAME`, `python -m app.cli seed-demo`,
and the dev printer: `python -m app.cli printer advance ORDER_ID STATUS [--tracking N]`."""

import argparse
import asyncio
import json
import uuid
from typing import Any

import httpx

from app.domain.fulfillment.events import SIGNATURE_HEADER, sign
from app.domain.merchants.services import MerchantService
from app.domain.programs.schemas import ProgramCreate
from app.domain.programs.services import ProgramService
from app.lib.settings import get_settings
from app.storage.resources import Resources

DEMO_MERCHANT = "Demo Merchant"
DEMO_PROGRAM = "Demo Gift Cards"


async def _merchant_create(name: str) -> None:
    res = await Resources.open(get_settings())
    try:
        created = await MerchantService(res).create(name)
    finally:
        await res.close()
    print(f"merchant id:    {created.merchant.id}")
    print(f"api key:        {created.api_key}   (shown once: store it now)")
    print(f"webhook secret: {created.webhook_secret}   (verifies our callbacks)")


async def _seed_demo() -> None:
    settings = get_settings()
    res = await Resources.open(settings)
    try:
        merchant, secret = await MerchantService(res).ensure(DEMO_MERCHANT, settings.demo_api_key)
        merchant_id = str(merchant.id)
        program = await res.db.programs.named(merchant_id, DEMO_PROGRAM)
        if program is None:
            data = ProgramCreate.model_validate({"name": DEMO_PROGRAM, "currency": "USD"})
            program = await ProgramService(res).create(merchant_id, data)
    finally:
        await res.close()
    print(f"demo merchant id: {merchant.id}")
    print(f"demo webhook secret: {secret}")
    print(f"demo program id:  {program.id}")


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    merchant = commands.add_parser("merchant", help="manage merchants")
    merchant_commands = merchant.add_subparsers(dest="action", required=True)
    create = merchant_commands.add_parser("create", help="create a merchant and print its key")
    create.add_argument("name")
    commands.add_parser("seed-demo", help="create the demo merchant (DEMO_API_KEY) and program")
    printer = commands.add_parser("printer", help="act as the card printer (development)")
    printer_commands = printer.add_subparsers(dest="action", required=True)
    advance = printer_commands.add_parser("advance", help="post a signed status event")
    advance.add_argument("order_id")
    advance.add_argument("status", choices=["SHIPPED", "DELIVERED", "REJECTED", "RETURNED"])
    advance.add_argument("--tracking", help="tracking number (SHIPPED)")
    advance.add_argument("--carrier", help="carrier (default UPS when a tracking number is given)")
    advance.add_argument("--card", action="append", help="only this card id (repeatable)")
    advance.add_argument("--url", help="the API's base URL (default http://API_HOST:API_PORT)")
    args = parser.parse_args(argv)
    if args.command == "merchant":
        asyncio.run(_merchant_create(args.name))
    elif args.command == "printer":
        _printer_advance(args)
    else:
        asyncio.run(_seed_demo())


if __name__ == "__main__":
    main()

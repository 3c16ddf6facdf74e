"""`merchant create NAME` and `seed-demo`."""

import argparse
import asyncio

from app.domain.merchants.services import MerchantService
from app.domain.programs.schemas import ProgramCreate
from app.domain.programs.services import ProgramService
from app.lib.settings import get_settings
from app.storage.resources import Resources

DEMO_MERCHANT = "Demo Merchant"
DEMO_PROGRAM = "Demo Gift Cards"


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    merchant = commands.add_parser("merchant", help="manage merchants")
    merchant_commands = merchant.add_subparsers(dest="action", required=True)
    create = merchant_commands.add_parser("create", help="create a merchant and print its key")
    create.add_argument("name")
    create.set_defaults(run=lambda args: asyncio.run(_merchant_create(args.name)))
    rotate = merchant_commands.add_parser(
        "rotate-webhook-secret",
        help="give a merchant a new webhook secret (the old one signs too for a grace period)",
    )
    rotate.add_argument("merchant_id")
    rotate.add_argument("--grace-seconds", type=int, help="default WEBHOOK_SECRET_GRACE_SECONDS")
    rotate.set_defaults(
        run=lambda args: asyncio.run(_rotate_secret(args.merchant_id, args.grace_seconds))
    )
    seed = commands.add_parser(
        "seed-demo", help="create the demo merchant (DEMO_API_KEY) and program"
    )
    seed.set_defaults(run=lambda args: asyncio.run(_seed_demo()))


async def _merchant_create(name: str) -> None:
    res = await Resources.open(get_settings())
    try:
        created = await MerchantService(res).create(name)
    finally:
        await res.close()
    print(f"merchant id:    {created.merchant.id}")
    print(f"api key:        {created.api_key}   (shown once: store it now)")
    print(f"webhook secret: {created.webhook_secret}   (verifies our callbacks)")


async def _rotate_secret(merchant_id: str, grace_seconds: int | None) -> None:
    res = await Resources.open(get_settings())
    try:
        rotated = await MerchantService(res).rotate_webhook_secret(merchant_id, grace_seconds)
    finally:
        await res.close()
    expires = rotated.previous_secret_expires_at.isoformat(timespec="seconds")
    print(f"webhook secret: {rotated.secret}   (shown once)")
    print(f"the previous secret also signs until {expires}")


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

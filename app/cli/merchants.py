"""`merchant create NAME`, `merchant rotate-webhook-secret ID`, `merchant set-rate-limit ID
LIMIT` and `seed-demo`."""

import click

from app.cli.common import OBJECT_ID, run
from app.domain.merchants.rate_limits import set_merchant_rate_limit
from app.domain.merchants.services import MerchantService, NewMerchant
from app.domain.programs.schemas import ProgramCreate
from app.domain.programs.services import ProgramService
from app.storage.models import Merchant, Program
from app.storage.resources import Resources

DEMO_MERCHANT = "Demo Merchant"
DEMO_PROGRAM = "Demo Gift Cards"


@click.group("merchant")
def merchant() -> None:
    """Manage merchants."""


@merchant.command("create")
@click.argument("name")
def create(name: str) -> None:
    """Create a merchant and print its API key (shown once)."""

    async def act(res: Resources) -> NewMerchant:
        return await MerchantService(res).create(name)

    created = run(act)
    click.echo(f"merchant id:    {created.merchant.id}")
    click.echo(f"api key:        {created.api_key}   (shown once: store it now)")
    click.echo(f"webhook secret: {created.webhook_secret}   (verifies our callbacks)")


@merchant.command("rotate-webhook-secret")
@click.argument("merchant_id", type=OBJECT_ID)
@click.option("--grace-seconds", type=int, help="default WEBHOOK_SECRET_GRACE_SECONDS")
def rotate_webhook_secret(merchant_id: str, grace_seconds: int | None) -> None:
    """Give a merchant a new webhook secret (the old one signs too for a grace period)."""
    rotated = run(
        lambda res: MerchantService(res).rotate_webhook_secret(merchant_id, grace_seconds)
    )
    expires = rotated.previous_secret_expires_at.isoformat(timespec="seconds")
    click.echo(f"webhook secret: {rotated.secret}   (shown once)")
    click.echo(f"the previous secret also signs until {expires}")


@merchant.command("set-rate-limit")
@click.argument("merchant_id", type=OBJECT_ID)
@click.argument("limit")
def set_rate_limit(merchant_id: str, limit: str) -> None:
    """The merchant's own rate limit, e.g. 1200/minute (`default`: RATE_LIMIT_PER_MERCHANT)."""
    stored = run(lambda res: set_merchant_rate_limit(res, merchant_id, limit))
    shown = stored or "the default (RATE_LIMIT_PER_MERCHANT)"
    click.echo(f"rate limit: {shown}   (every API process applies it within a minute)")


@click.command("seed-demo")
def seed_demo() -> None:
    """Create the demo merchant (DEMO_API_KEY) and program."""
    merchant, secret, program = run(_seed_demo)
    click.echo(f"demo merchant id: {merchant.id}")
    click.echo(f"demo webhook secret: {secret}")
    click.echo(f"demo program id:  {program.id}")


async def _seed_demo(res: Resources) -> tuple[Merchant, str, Program]:
    merchant, secret = await MerchantService(res).ensure(DEMO_MERCHANT, res.settings.demo_api_key)
    merchant_id = str(merchant.id)
    program = await res.db.programs.named(merchant_id, DEMO_PROGRAM)
    if program is None:
        data = ProgramCreate.model_validate({"name": DEMO_PROGRAM, "currency": "USD"})
        program = await ProgramService(res).create(merchant_id, data)
    return merchant, secret, program


COMMANDS = (merchant, seed_demo)

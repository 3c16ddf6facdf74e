"""`keys create|list|revoke --merchant ID`: a merchant's API keys (at most two active)."""

import click

from app.cli.common import OBJECT_ID, run
from app.domain.api_keys.schemas import ApiKeyOut
from app.domain.api_keys.services import ApiKeyService

MERCHANT = click.option("--merchant", "merchant_id", required=True, type=OBJECT_ID)


@click.group("keys")
def keys() -> None:
    """A merchant's API keys: rotate by creating a second one, then revoking the first."""


@keys.command("create")
@MERCHANT
def create(merchant_id: str) -> None:
    """Create an API key and print it (shown once)."""
    created = run(lambda res: ApiKeyService(res).create(merchant_id))
    click.echo(f"key id:  {created.id}")
    click.echo(f"api key: {created.key}   (shown once: store it now)")


@keys.command("list")
@MERCHANT
def list_keys(merchant_id: str) -> None:
    """The merchant's active keys, oldest first."""
    listed = run(lambda res: ApiKeyService(res).list_active(merchant_id))
    click.echo("id                        prefix     created               last used")
    for key in listed.data:
        click.echo(_line(key))


@keys.command("revoke")
@click.argument("key_id", type=OBJECT_ID)
@MERCHANT
def revoke(key_id: str, merchant_id: str) -> None:
    """Revoke a key: /v2/token refuses it at once (tokens issued before live out their TTL)."""
    run(lambda res: ApiKeyService(res).revoke(merchant_id, key_id))
    click.echo(f"revoked {key_id}")


def _line(key: ApiKeyOut) -> str:
    used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
    prefix = f"{key.prefix}…" if key.prefix else "(original)"
    return f"{key.id}  {prefix:<9}  {key.created_at.isoformat(timespec='seconds')}  {used}"


COMMANDS = (keys,)

"""The operator's tool, on click (Litestar's CLI library), in three spellings:
`giftcards ...` (the console script), `python -m app.cli ...`, and `litestar giftcards ...`
(a `litestar.commands` entry point). The commands live in `app.cli.root`; this module imports
nothing of the app, because Litestar loads its entry points while `litestar.cli` is still
importing, and the app imports Litestar's CLI (its structlog plugin does)."""

from typing import Any

import click


def _root() -> click.Group:
    from app.cli.root import cli

    return cli


class _LitestarGiftcards(click.Group):
    """`litestar giftcards ...`: the commands of `app.cli.root`, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return _root().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return _root().get_command(ctx, name)


litestar_command = _LitestarGiftcards(
    "giftcards", help="Operate the gift-card service (the `giftcards` commands)."
)


def main(argv: list[str] | None = None, **extra: Any) -> None:
    _root().main(args=argv, prog_name="giftcards", **extra)

"""Operator commands, one module per group: `python -m app.cli merchant create NAME`,
`python -m app.cli seed-demo`, the dev printer: `python -m app.cli printer advance ORDER STATUS`,
a FAILED fulfillment order: `python -m app.cli orders resubmit|cancel ORDER_ID`, webhook
deliveries: `python -m app.cli webhooks list --merchant ID [--state S]|redeliver DELIVERY_ID`.

Each group module has `register(commands)`, which adds its sub-commands and sets `run`.
"""

import argparse

from app.cli import merchants, orders, printer, webhooks

GROUPS = (merchants, printer, orders, webhooks)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    args = parser.parse_args(argv)
    args.run(args)

"""The operator's commands, one click group: `giftcards ...` (the console script),
`python -m app.cli ...` or `litestar giftcards ...`.

Groups, one module each: `merchant create NAME|rotate-webhook-secret ID`, `seed-demo`,
`keys create|list|revoke --merchant ID`, `tasks show|retry TASK_ID`,
`webhooks list --merchant ID [--state S]|redeliver DELIVERY_ID`,
`orders resubmit|cancel ORDER_ID`, `printer advance ORDER_ID STATUS` (the dev printer),
`issue --program ID --count N` (over HTTP, like any client), `schema export [--out FILE]`.
"""

import click

from app.cli import issue, keys, merchants, orders, printer, schema, tasks, webhooks

GROUPS = (merchants, keys, tasks, issue, webhooks, orders, printer, schema)


@click.group("giftcards", context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Operate the gift-card service: merchants, keys, tasks, deliveries, printer orders."""


for _group in GROUPS:
    for _command in _group.COMMANDS:
        cli.add_command(_command)

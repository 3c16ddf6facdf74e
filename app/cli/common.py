"""What the command modules share: running a coroutine on the app's connections, turning the
domain's errors into an exit code, and the id argument type."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from app.lib.errors import ApiError, RequestValidationError
from app.lib.settings import get_settings
from app.storage.resources import Resources

T = TypeVar("T")


class ObjectIdType(click.ParamType[str]):
    """A 24-hex id; anything else is a usage error (exit 2) before any connection opens."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{24}", value):
            return value
        self.fail(f"not an id (24 lowercase hex): {value!r}", param, ctx)


OBJECT_ID = ObjectIdType()


def run(action: Callable[[Resources], Awaitable[T]]) -> T:
    """Runs `action` on freshly opened resources; an ApiError is `code: detail` on stderr and
    exit code 1."""

    async def with_resources() -> T:
        res = await Resources.open(get_settings())
        try:
            return await action(res)
        finally:
            await res.close()

    try:
        return asyncio.run(with_resources())
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    except RequestValidationError as exc:
        raise click.ClickException(f"invalid: {exc.errors}") from None

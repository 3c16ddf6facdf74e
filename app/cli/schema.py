"""`schema export [--out openapi.json]`: the API's OpenAPI document, as
scripts/export_schema.py writes it (same rendering, so the two never disagree)."""

import importlib
import json
from pathlib import Path
from typing import Any

import click
from litestar import Litestar

from app.lib.openapi_document import served_document

# app.cli and app.main are entry points side by side (neither imports the other): the app is
# loaded by its path, as `litestar --app` does
DEFAULT_APP = "app.main:create_app"


@click.group("schema")
def schema() -> None:
    """The OpenAPI document."""


@schema.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default="openapi.json")
@click.option("--app", "app_path", default=DEFAULT_APP, show_default=True, hidden=True)
def export(out: Path, app_path: str) -> None:
    """Write the OpenAPI document (JSON, sorted keys) to --out."""
    out.write_text(render(served_document(load_app(app_path))), encoding="utf-8")
    click.echo(f"wrote {out}")


def load_app(app_path: str) -> Litestar:
    module_name, _, factory_name = app_path.partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    app: Litestar = factory()
    return app


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


COMMANDS = (schema,)

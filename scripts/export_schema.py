"""Write the API's OpenAPI document to `openapi.json` (committed, so every API change shows in
review): `.venv/bin/python -m scripts.export_schema [PATH]`. tests/api/test_openapi_document.py
fails when the running API's /schema/openapi.json differs from it."""

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "openapi.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    from app.lib.openapi_document import served_document
    from app.main import create_app

    target = Path(argv[0]) if argv else SCHEMA_FILE
    target.write_text(render(served_document(create_app())), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])

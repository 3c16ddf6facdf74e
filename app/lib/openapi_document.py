"""The last touches on /schema that Litestar's generator cannot make, applied once to the
document it serves (`finish(app, ...)` in create_app):

- request bodies reject unknown fields (`extra="forbid"`): `additionalProperties: false`;
- an optional field keeps its bounds: Litestar writes `T | None` as `oneOf [T, null]` and
  drops `minimum`, `maxLength`, `pattern`... from T; Pydantic's own schema of the model has
  them, so they are copied from there;
- bodies a handler reads raw (the printer's events, read as bytes to check their HMAC) are
  declared from their Pydantic model.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin  # the plugin that serves /schema
from pydantic import BaseModel

# the JSON Schema keywords that bound a value
_BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
)
_REF = "#/components/schemas/{model}"


def served_document(app: Litestar) -> dict[str, Any]:
    """The dict /schema/openapi.json renders (built once, then cached by the plugin)."""
    return app.plugins.get(OpenAPIPlugin).provide_openapi_schema()


def finish(
    app: Litestar,
    request_models: Iterable[type[BaseModel]],
    raw_bodies: Mapping[tuple[str, str], type[BaseModel]],
) -> None:
    """`raw_bodies`: (path, method) → the body's model (with its example: `with_example`)."""
    document = served_document(app)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in request_models:
        if model.__name__ in schemas:
            _tighten(schemas[model.__name__], _pydantic_schema(model, schemas))
    for (path, method), model in raw_bodies.items():
        _pydantic_component(model, schemas)
        operation = document["paths"][path][method]
        media = {"schema": {"$ref": _REF.format(model=model.__name__)}}
        if "example" in model.model_config:
            media["example"] = model.model_config["example"]  # type: ignore[typeddict-item]
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}


def _pydantic_schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """The model's validation schema; the models it refers to become components if missing."""
    schema = model.model_json_schema(by_alias=True, ref_template=_REF)
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    return schema


def _pydantic_component(model: type[BaseModel], schemas: dict[str, Any]) -> None:
    schema = _pydantic_schema(model, schemas)
    schema["additionalProperties"] = False
    schemas.setdefault(model.__name__, schema)


def _tighten(ours: dict[str, Any], pydantic: dict[str, Any]) -> None:
    ours["additionalProperties"] = False
    theirs = pydantic.get("properties", {})
    for name, prop in ours.get("properties", {}).items():
        if name in theirs:
            _copy_bounds(prop, theirs[name])


def _copy_bounds(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Adds the bounds Litestar left out, never changing one it wrote."""
    branches = theirs.get("anyOf")
    if "oneOf" in ours and branches:
        for branch in ours["oneOf"]:
            kind = branch.get("type")
            same = [b for b in branches if kind not in (None, "null") and b.get("type") == kind]
            if same:
                _add_bounds(branch, same[0])
    elif "oneOf" not in ours:
        _add_bounds(ours, theirs)


def _add_bounds(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    for keyword in _BOUNDS:
        if theirs.get(keyword) is not None:
            ours.setdefault(keyword, theirs[keyword])
    if ours.get("type") == "array" and isinstance(theirs.get("items"), dict):
        items = ours.get("items")
        if isinstance(items, dict) and "$ref" not in items:
            _add_bounds(items, theirs["items"])

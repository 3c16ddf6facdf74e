"""The API's models: snake_case attributes in Python, camelCase names on the wire, from one
alias generator (the app's Pydantic plugin prefers aliases for bodies and for /schema)."""

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiRequest(BaseModel):
    """A request body: only its camelCase names are accepted; unknown fields are a 422."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        extra="forbid",
    )


class ApiResponse(BaseModel):
    """A response body, built in Python by attribute name."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )


def with_example(example: dict[str, Any]) -> ConfigDict:
    """A request model's one realistic body (camelCase, valid), for /schema:
    `model_config = with_example({...})`. Litestar puts the config's `example` into the
    component's `examples`; `json_schema_extra` does the same for Pydantic's own JSON schema."""
    config = ConfigDict(json_schema_extra={"examples": [example]})
    config["example"] = example  # type: ignore[typeddict-unknown-key]
    return config


def request_models() -> list[type[ApiRequest]]:
    """Every request body model defined so far (for /schema's finishing touches)."""
    found: list[type[ApiRequest]] = []
    pending = list(ApiRequest.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found

"""Bases of the documents' embedded parts.

`Embedded` parts are stored under their Python names. `CamelEmbedded` parts are stored under
camelCase keys (what the API took in, or what earlier versions wrote), with snake_case Python
attributes: one alias generator, no per-field spelling.
"""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Embedded(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CamelEmbedded(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

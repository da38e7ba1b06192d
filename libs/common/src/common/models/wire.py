"""The base of models that are camelCase on the wire and in Restate's state store, and the type
of a field that names another object's key."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from common.strictjson import MAX_KEY_BYTES, check_key

# A field that becomes the key of a virtual object or workflow: refused when the object would be.
ObjectKey = Annotated[
    str, Field(min_length=1, description=f"at most {MAX_KEY_BYTES} bytes"), AfterValidator(check_key)
]


class CamelModel(BaseModel):
    """camelCase in JSON, snake_case in Python (either is accepted); unknown fields are an error."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
    )

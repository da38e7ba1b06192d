"""The package state, camelCase on the wire and in Restate's state store (as in the original)."""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

_WIRE = ConfigDict(extra="forbid", alias_generator=to_camel, serialize_by_alias=True)


class LocationUpdate(BaseModel):
    """The value of a record on ``package-location-updates``; the record key is the package id."""

    model_config = _WIRE

    timestamp: str = Field(description="when the package was seen, e.g. 2024-05-01T10:00:00Z")
    location: str = Field(description="where it was seen")


class PackageInfo(BaseModel):
    model_config = _WIRE

    final_destination: str = Field(description="where the package goes (finalDestination on the wire)")
    locations: list[LocationUpdate] = Field(default_factory=list, description="oldest first")

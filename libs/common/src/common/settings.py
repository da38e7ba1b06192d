"""Settings shared by every service, read from the environment with pydantic-settings.

Cross-cutting fields use fixed names (``PORT``, ``LOG_LEVEL``, ``RESTATE_IDENTITY_KEYS`` ...);
pattern-specific fields use the service's prefix (``QUEUE_WORK_SECONDS``). Nested models use
``__``: ``QUEUE_FAILURE__MODE=first``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from common.faults import FailurePolicy

LogFormat = Literal["auto", "console", "json"]


def port_field(default: int) -> Any:
    """The service port: ``PORT`` overrides the pattern's documented default."""
    return Field(default, validation_alias=AliasChoices("PORT"), ge=1, le=65535)


def service_config(prefix: str) -> SettingsConfigDict:
    """The settings config of one service: its env prefix, nested models with ``__``. Setting one
    nested field (``SAGAS_FAILURE__RATE``) keeps the other fields' documented defaults."""
    return SettingsConfigDict(
        env_prefix=prefix,
        env_nested_delimiter="__",
        extra="ignore",
        nested_model_default_partial_update=True,
    )


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses add their own with their env prefix."""

    model_config = service_config("PATTERN_")

    port: int = port_field(9080)
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HOST"))
    ingress_url: str = Field("http://127.0.0.1:8080", validation_alias=AliasChoices("RESTATE_INGRESS_URL"))
    admin_url: str = Field("http://127.0.0.1:9070", validation_alias=AliasChoices("RESTATE_ADMIN_URL"))
    identity_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("RESTATE_IDENTITY_KEYS")
    )
    identity_keys_file: Path | None = Field(None, validation_alias=AliasChoices("RESTATE_IDENTITY_KEYS_FILE"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    log_format: LogFormat = Field("auto", validation_alias=AliasChoices("LOG_FORMAT"))
    fakes_db: Path = Field(Path(".data/fakes.sqlite"), validation_alias=AliasChoices("FAKES_DB"))
    failure: FailurePolicy = FailurePolicy()

    def request_identity_keys(self) -> list[str]:
        """The keys from ``RESTATE_IDENTITY_KEYS`` plus the one in ``RESTATE_IDENTITY_KEYS_FILE``."""
        keys = list(self.identity_keys)
        if self.identity_keys_file is not None:
            keys += self.identity_keys_file.read_text().split()
        return keys

    @field_validator("identity_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        # Accept "k1,k2" as well as a JSON list: the comma form is what people type.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

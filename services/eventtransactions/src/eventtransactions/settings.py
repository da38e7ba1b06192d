from pydantic import Field

from common.events import EventSettings
from common.faults import FailurePolicy
from common.settings import port_field, service_config


class Settings(EventSettings):
    model_config = service_config("EVENTTRANSACTIONS_")

    port: int = port_field(9089)
    poll_seconds: float = Field(5.0, ge=0, description="durable sleep between two moderation checks")
    pending: FailurePolicy = Field(
        FailurePolicy(mode="random", rate=0.8),
        description="when a moderation check answers PENDING (default: 80 % of checks)",
    )

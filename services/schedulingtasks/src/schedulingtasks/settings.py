from pydantic import Field

from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("SCHEDULINGTASKS_")

    port: int = port_field(9087)
    reminder_seconds: float = Field(86400.0, gt=0, description="time between two reminders (1 day)")
    email_seconds: float = Field(0.1, ge=0, description="how long the fake email API takes to send")
    dedupe_days: float = Field(
        3.0, gt=0, description="how long Restate remembers the idempotency keys of calls to the tracker"
    )

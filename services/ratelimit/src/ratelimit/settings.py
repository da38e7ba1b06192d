from pydantic import Field

from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("RATELIMIT_")

    port: int = port_field(9091)
    task_limiter: str = Field(
        "LimitedTask-RunTask", min_length=1, description="the Limiter key that LimitedTask waits on"
    )
    work_seconds: float = Field(0.1, ge=0, description="how long the fake work of one task takes")

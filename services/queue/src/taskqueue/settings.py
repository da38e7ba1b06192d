from pydantic import Field

from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("QUEUE_")

    port: int = port_field(9082)
    work_seconds: float = Field(2.0, ge=0, description="how long the fake heavy work takes")

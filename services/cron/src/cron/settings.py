from pydantic import Field

from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("CRON_")

    port: int = port_field(9092)
    task_seconds: float = Field(0.1, ge=0, description="how long the demo task (TaskService) takes")
    check_attempts: int = Field(
        5, ge=1, description="attempts to reach Restate's admin API when checking a job's target"
    )

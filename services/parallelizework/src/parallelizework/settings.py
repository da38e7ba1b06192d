from pydantic import Field, model_validator

from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("PARALLELIZEWORK_")

    port: int = port_field(9088)
    work_seconds_min: float = Field(1.0, ge=0, description="shortest time a subtask works")
    work_seconds_max: float = Field(5.0, ge=0, description="longest time a subtask works")

    @model_validator(mode="after")
    def _ordered(self) -> "Settings":
        if self.work_seconds_max < self.work_seconds_min:
            raise ValueError("work_seconds_max must not be below work_seconds_min")
        return self

    def work_seconds(self, draw: float) -> float:
        """The work time for a uniform draw in [0, 1) (taken from the subtask's ``ctx.random()``)."""
        return self.work_seconds_min + draw * (self.work_seconds_max - self.work_seconds_min)

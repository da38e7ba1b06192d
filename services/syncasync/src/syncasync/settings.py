from pydantic import Field

from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("SYNCASYNC_")

    port: int = port_field(9084)
    fast_upload_seconds: float = Field(1.5, ge=0, description="how long a fast upload takes")
    slow_upload_seconds: float = Field(10.0, ge=0, description="how long a slow upload takes")
    slow_share: float = Field(
        0.5, ge=0, le=1, description="share of uploads that are slow: 0 makes all fast, 1 all slow"
    )
    client_timeout_seconds: float = Field(
        5.0, gt=0, description="how long the client waits for Run before asking for an email"
    )

    def upload_seconds(self, draw: float) -> float:
        """The upload time for a uniform draw in [0, 1) (taken from the workflow's ``ctx.random()``)."""
        return self.slow_upload_seconds if draw < self.slow_share else self.fast_upload_seconds

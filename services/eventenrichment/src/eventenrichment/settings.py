from common.events import EventSettings
from common.settings import port_field, service_config


class Settings(EventSettings):
    """``EVENTENRICHMENT_FAILURE__*`` makes location updates fail (👻, retried): see the README."""

    model_config = service_config("EVENTENRICHMENT_")

    port: int = port_field(9090)

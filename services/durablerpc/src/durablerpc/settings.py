from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("DURABLERPC_")

    port: int = port_field(9081)

from pydantic import Field, SecretStr

from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("WEBHOOKCALLBACKS_")

    port: int = port_field(9083)
    signing_secret: SecretStr | None = Field(
        None, description="the endpoint's signing secret (whsec_...); unset: signatures are not checked"
    )
    tolerance_seconds: float = Field(
        300.0, gt=0, description="how far a signature's timestamp may be from now (Stripe's default)"
    )

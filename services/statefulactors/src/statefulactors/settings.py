"""Settings of the statefulactors member (env prefix ``STATEFULACTORS_``).

``STATEFULACTORS_FAILURE__*`` is the failure policy of the fake machine API. Its default is the
demo's: 40 % of the calls fail (transiently, so Restate retries them), drawn from a seeded
generator. Unset fields keep their defaults: ``STATEFULACTORS_FAILURE__MODE=off`` turns it off.
"""

from pydantic import Field

from common.faults import FailurePolicy
from common.settings import ServiceSettings, port_field, service_config


class Settings(ServiceSettings):
    model_config = service_config("STATEFULACTORS_")

    port: int = port_field(9086)
    transition_seconds: float = Field(5.0, ge=0, description="how long a machine takes to go up or down")
    failure: FailurePolicy = FailurePolicy(mode="random", rate=0.4, seed=0)

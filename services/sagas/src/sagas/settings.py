"""Settings of the sagas member (env prefix ``SAGAS_``).

Each fake API has its own pair of failure policies: ``decline`` is a terminal business error
(HTTP 422, never retried, triggers the compensations) and ``failure`` a transient one (retried
by Restate, never compensates). A policy is checked per attempt, ``decline`` first, so the
payment's demo default, random declines at 50 % and random failures at 80 % of the attempts
left, works out at: declined 50 %, transient failure 40 %, success 10 % of the attempts.
Nested env names use ``__``: ``SAGAS_PAYMENT__DECLINE__MODE=off``; unset fields keep their
defaults. (The shared ``SAGAS_FAILURE__*`` policy is not used here: each API has its own.)
"""

from pydantic import BaseModel, Field

from common.faults import FailurePolicy
from common.settings import ServiceSettings, port_field, service_config


class ApiFaults(BaseModel):
    decline: FailurePolicy = FailurePolicy()
    failure: FailurePolicy = FailurePolicy()


DEMO_PAYMENT_FAULTS = ApiFaults(
    decline=FailurePolicy(mode="random", rate=0.5, seed=1),
    failure=FailurePolicy(mode="random", rate=0.8, seed=2),
)


class Settings(ServiceSettings):
    model_config = service_config("SAGAS_")

    port: int = port_field(9085)
    api_seconds: float = Field(0.2, ge=0, description="how long each call to a fake API takes")
    flights: ApiFaults = ApiFaults()
    cars: ApiFaults = ApiFaults()
    payment: ApiFaults = DEMO_PAYMENT_FAULTS

from pydantic import BaseModel, Field


class RouteResult(BaseModel):
    """The router's answer to the provider: the event was received, and where it went."""

    received: bool = True
    event_id: str
    routed_to: str | None = Field(None, description="PaymentTracker/<invoice>/<handler>, or null if ignored")

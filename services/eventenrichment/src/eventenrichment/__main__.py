"""``uv run --package eventenrichment serve`` (or ``python -m eventenrichment``)."""

from common.events import producer_client
from common.pattern import Pattern
from eventenrichment.service import LOCATION_UPDATES, create_services
from eventenrichment.settings import Settings

pattern = Pattern(
    name="eventenrichment",
    settings=Settings,
    services=create_services,
    client=producer_client(LOCATION_UPDATES),
    subscriptions=(LOCATION_UPDATES,),
)

if __name__ == "__main__":
    pattern.serve()

"""``uv run --package eventenrichment serve`` (or ``python -m eventenrichment``)."""

from common.pattern import Pattern
from common.producer import producer_cli
from eventenrichment.service import LOCATION_UPDATES, create_services
from eventenrichment.settings import Settings

pattern = Pattern(
    name="eventenrichment",
    settings=Settings,
    services=create_services,
    client=producer_cli(LOCATION_UPDATES),
    subscriptions=(LOCATION_UPDATES,),
)

if __name__ == "__main__":
    pattern.serve()

"""``uv run --package eventtransactions serve`` (or ``python -m eventtransactions``)."""

from common.events import producer_client
from common.pattern import Pattern
from eventtransactions.service import POSTS, create_services
from eventtransactions.settings import Settings

pattern = Pattern(
    name="eventtransactions",
    settings=Settings,
    services=create_services,
    client=producer_client(POSTS),
    subscriptions=(POSTS,),
)

if __name__ == "__main__":
    pattern.serve()

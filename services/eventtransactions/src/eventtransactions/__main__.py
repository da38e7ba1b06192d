"""``uv run --package eventtransactions serve`` (or ``python -m eventtransactions``)."""

from common.pattern import Pattern
from common.producer import producer_cli
from eventtransactions.service import POSTS, create_services
from eventtransactions.settings import Settings

pattern = Pattern(
    name="eventtransactions",
    settings=Settings,
    services=create_services,
    client=producer_cli(POSTS),
    subscriptions=(POSTS,),
)

if __name__ == "__main__":
    pattern.serve()

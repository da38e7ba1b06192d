"""``uv run --package parallelizework serve`` (or ``python -m parallelizework``)."""

from common.pattern import Pattern
from parallelizework.service import create_services
from parallelizework.settings import Settings

pattern = Pattern(name="parallelizework", settings=Settings, services=create_services)

if __name__ == "__main__":
    pattern.serve()

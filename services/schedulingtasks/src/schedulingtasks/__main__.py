"""``uv run --package schedulingtasks serve`` (or ``python -m schedulingtasks``)."""

from common.pattern import Pattern
from schedulingtasks.service import create_services
from schedulingtasks.settings import Settings

pattern = Pattern(name="schedulingtasks", settings=Settings, services=create_services)

if __name__ == "__main__":
    pattern.serve()

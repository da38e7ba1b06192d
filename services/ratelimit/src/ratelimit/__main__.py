"""``uv run --package ratelimit serve`` (or ``python -m ratelimit``)."""

from common.pattern import Pattern
from ratelimit.service import create_services
from ratelimit.settings import Settings

pattern = Pattern(name="ratelimit", settings=Settings, services=create_services)

if __name__ == "__main__":
    pattern.serve()

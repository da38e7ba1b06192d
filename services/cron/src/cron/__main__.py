"""``uv run --package cron serve`` (or ``python -m cron``)."""

from common.pattern import Pattern
from cron.service import create_services
from cron.settings import Settings

pattern = Pattern(name="cron", settings=Settings, services=create_services)

if __name__ == "__main__":
    pattern.serve()

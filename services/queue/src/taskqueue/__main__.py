"""``uv run --package queue serve`` (or ``python -m taskqueue``)."""

from common.pattern import Pattern
from taskqueue.client import main as client_main
from taskqueue.service import create_services
from taskqueue.settings import Settings

pattern = Pattern(name="queue", settings=Settings, services=create_services, client=client_main)

if __name__ == "__main__":
    pattern.serve()

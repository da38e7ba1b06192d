"""``uv run --package syncasync serve`` (or ``python -m syncasync``)."""

from common.pattern import Pattern
from syncasync.client import main as client_main
from syncasync.service import create_services
from syncasync.settings import Settings

pattern = Pattern(name="syncasync", settings=Settings, services=create_services, client=client_main)

if __name__ == "__main__":
    pattern.serve()

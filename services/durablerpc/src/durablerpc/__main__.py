"""``uv run --package durablerpc serve`` (or ``python -m durablerpc``)."""

from common.pattern import Pattern
from durablerpc.client import main as client_main
from durablerpc.service import create_services
from durablerpc.settings import Settings

pattern = Pattern(name="durablerpc", settings=Settings, services=create_services, client=client_main)

if __name__ == "__main__":
    pattern.serve()

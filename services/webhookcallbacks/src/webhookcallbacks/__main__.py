"""``uv run --package webhookcallbacks serve`` (or ``python -m webhookcallbacks``)."""

from common.pattern import Pattern
from webhookcallbacks.client import main as client_main
from webhookcallbacks.service import create_services
from webhookcallbacks.settings import Settings

pattern = Pattern(name="webhookcallbacks", settings=Settings, services=create_services, client=client_main)

if __name__ == "__main__":
    pattern.serve()

"""``uv run --package sagas serve`` (or ``python -m sagas``)."""

from common.pattern import Pattern
from sagas.service import create_services
from sagas.settings import Settings

pattern = Pattern(name="sagas", settings=Settings, services=create_services)

if __name__ == "__main__":
    pattern.serve()

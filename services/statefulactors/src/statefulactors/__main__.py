"""``uv run --package statefulactors serve`` (or ``python -m statefulactors``)."""

from common.pattern import Pattern
from statefulactors.service import create_services
from statefulactors.settings import Settings

pattern = Pattern(name="statefulactors", settings=Settings, services=create_services)

if __name__ == "__main__":
    pattern.serve()

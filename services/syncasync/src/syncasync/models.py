"""The wire types of ``DataUploadService``: ``Run`` takes nothing and returns the URL (a JSON
string); ``ResultAsEmail`` takes the address as a JSON string, e.g. ``"someone@example.com"``."""

import re
from typing import Annotated

from pydantic import AfterValidator, Field

_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_address(value: str) -> str:
    if _ADDRESS.fullmatch(value) is None:
        raise ValueError(f"{value!r} is not an email address")
    return value


EmailAddress = Annotated[str, Field(max_length=254), AfterValidator(_check_address)]

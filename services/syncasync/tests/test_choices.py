"""Pure logic of DataUploadService: the upload time choice and the email address check."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError
from syncasync.models import EmailAddress
from syncasync.settings import Settings


def test_upload_time_is_slow_for_draws_below_the_slow_share() -> None:
    settings = Settings(fast_upload_seconds=1.5, slow_upload_seconds=10, slow_share=0.5)
    assert settings.upload_seconds(0.1) == 10
    assert settings.upload_seconds(0.5) == 1.5
    assert settings.upload_seconds(0.9) == 1.5


@pytest.mark.parametrize(("share", "expected"), [(0.0, 1.5), (1.0, 10.0)])
def test_slow_share_zero_or_one_forces_the_path(share: float, expected: float) -> None:
    settings = Settings(slow_share=share)
    assert {settings.upload_seconds(draw / 10) for draw in range(10)} == {expected}


@pytest.mark.parametrize("address", ["someone@example.com", "a.b+c@mail.example.org"])
def test_email_addresses_are_accepted(address: str) -> None:
    assert TypeAdapter(EmailAddress).validate_python(address) == address


@pytest.mark.parametrize("address", ["", "someone", "someone@example", "a b@example.com", "a@@example.com"])
def test_other_strings_are_not_email_addresses(address: str) -> None:
    with pytest.raises(ValidationError, match="not an email address"):
        TypeAdapter(EmailAddress).validate_python(address)

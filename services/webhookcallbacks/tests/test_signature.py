"""The Stripe-Signature check on its own: no server needed."""

from __future__ import annotations

import pytest
from webhookcallbacks.signature import SignatureError, compute, header_of, sign, verify

SECRET = "whsec_unit"
BODY = b'{"id": "evt_1", "type": "invoice.payment_failed"}'
NOW = 1_700_000_000


def test_a_signed_body_verifies() -> None:
    assert verify(sign(SECRET, BODY, NOW), BODY, SECRET, now=NOW + 10, tolerance=300) == NOW


def test_the_digest_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # Computed independently: printf '1700000000.<BODY>' | openssl dgst -sha256 -hmac whsec_unit
    expected = "7d2b3ba0ba3fb0f3d828694277d029460b74c00b17e1d5f9bcea648e2d1c0e5c"
    assert compute(SECRET, NOW, BODY) == expected
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_any_matching_v1_is_enough_and_v0_is_ignored() -> None:
    good = compute(SECRET, NOW, BODY)
    header = f"t={NOW},v0={good},v1={'0' * 64},v1={good}"
    assert verify(header, BODY, SECRET, now=NOW, tolerance=300) == NOW
    with pytest.raises(SignatureError, match="no v1"):
        verify(f"t={NOW},v0={good}", BODY, SECRET, now=NOW, tolerance=300)


@pytest.mark.parametrize(
    ("header", "body", "secret", "now", "problem"),
    [
        (None, BODY, SECRET, NOW, "missing"),
        ("", BODY, SECRET, NOW, "missing"),
        ("garbage", BODY, SECRET, NOW, "no timestamp"),
        (f"t=soon,v1={'0' * 64}", BODY, SECRET, NOW, "not a number"),
        (sign("whsec_other", BODY, NOW), BODY, SECRET, NOW, "matches"),
        (sign(SECRET, BODY, NOW), BODY + b" ", SECRET, NOW, "matches"),
        (sign(SECRET, BODY, NOW), BODY, SECRET, NOW + 301, "from now"),
        (sign(SECRET, BODY, NOW), BODY, SECRET, NOW - 301, "from now"),
        # correctly signed at a time no float can hold: refused, not an OverflowError (retried)
        (sign(SECRET, BODY, -(10**400)), BODY, SECRET, NOW, "from now"),
        (sign(SECRET, BODY, 10**400), BODY, SECRET, NOW, "from now"),
    ],
)
def test_bad_signatures_say_what_is_wrong(
    header: str | None, body: bytes, secret: str, now: int, problem: str
) -> None:
    with pytest.raises(SignatureError, match=problem):
        verify(header, body, secret, now=now, tolerance=300)


def test_the_header_is_found_whatever_its_case() -> None:
    assert header_of({"Stripe-Signature": "x"}) == "x"
    assert header_of({"stripe-signature": "y"}) == "y"
    assert header_of({"content-type": "application/json"}) is None

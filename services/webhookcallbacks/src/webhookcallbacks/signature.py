"""Stripe-style webhook signatures: ``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>...]``.

Each ``v1`` is the hex HMAC-SHA256, keyed with the endpoint's signing secret, of
``"<t>.<raw request body>"``. The body must be the bytes as received: any re-serialisation
changes them. A timestamp further from now than the tolerance is refused, so a captured
delivery cannot be replayed later. Several ``v1`` values appear while a secret is rotated.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "stripe-signature"


class SignatureError(ValueError):
    """The request is not signed by the holder of the secret (or not recently)."""


def compute(secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, payload: bytes, timestamp: int) -> str:
    """The header value a provider would send for ``payload`` at ``timestamp``."""
    return f"t={timestamp},v1={compute(secret, timestamp, payload)}"


def parse(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])`` of a header; other schemes (``v0``) are ignored."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"Stripe-Signature timestamp is not a number: {value!r}") from None
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("Stripe-Signature header has no timestamp (t=...)")
    if not signatures:
        raise SignatureError("Stripe-Signature header has no v1 signature")
    return timestamp, signatures


def verify(header: str | None, payload: bytes, secret: str, *, now: float, tolerance: float) -> int:
    """Check a delivery; returns its timestamp or raises ``SignatureError`` saying what is wrong."""
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    timestamp, signatures = parse(header)
    expected = compute(secret, timestamp, payload)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("no Stripe-Signature v1 signature matches the body")
    if abs(int(now) - timestamp) > tolerance:  # in integers: a forged t= of any size compares
        raise SignatureError(f"Stripe-Signature timestamp {timestamp} is more than {tolerance:g}s from now")
    return timestamp


def header_of(headers: dict[str, str]) -> str | None:
    """The signature header, whatever the case of its name."""
    return next((value for name, value in headers.items() if name.lower() == HEADER), None)

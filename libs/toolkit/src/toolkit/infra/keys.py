"""Request-signing keys: the server signs requests with an Ed25519 private key, services verify
them with the public key in Restate's ``publickeyv1_<base58>`` form."""

from __future__ import annotations

import sys
from pathlib import Path

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _ALPHABET[rest] + out
    leading = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading + out


def public_key_id(raw_public_key: bytes) -> str:
    return "publickeyv1_" + base58(raw_public_key)


def ensure_keypair(directory: Path) -> tuple[Path, str]:
    """``(private key PEM path, public key id)``, made once in ``directory`` and reused."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_path = directory / "private.pem"
    if private_path.exists():
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey), f"{private_path} is not an Ed25519 key"
    else:
        directory.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        private_path.write_bytes(pem)
        private_path.chmod(0o600)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    identity = public_key_id(raw)
    (directory / "public.key").write_text(identity + "\n")
    return private_path, identity


if __name__ == "__main__":
    # ``python -m toolkit.infra.keys DIR``: what the compose file's key job runs.
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "keys")
    pem, public = ensure_keypair(target)
    pem.chmod(0o644)  # read by the Restate container, whose user differs from this job's
    print(public)  # noqa: T201

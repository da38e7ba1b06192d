"""Test support: a real Restate server and real service processes (see ``plugin``)."""

from toolkit.testing.harness import Harness, ServiceHandle

__all__ = ["Harness", "ServiceHandle"]

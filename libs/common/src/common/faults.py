"""Deterministic failure injection for the fake external systems.

A policy decides, per call, whether the call fails. Modes:

- ``off``: never.
- ``first``: the first ``first`` attempts of each idempotency key fail, later ones succeed.
- ``match``: every attempt whose subject (an input such as a card number) is in ``match`` fails.
- ``random``: each attempt fails with probability ``rate``, drawn from a generator seeded with
  ``seed``, the key and the attempt number, so a run is reproducible whatever the order of calls.
"""

from __future__ import annotations

import hashlib
import random
from typing import Literal

from pydantic import BaseModel, Field


class TransientFailure(RuntimeError):
    """A fault of the world that the caller should retry (a timeout, a 503): never terminal."""


class FailurePolicy(BaseModel):
    mode: Literal["off", "first", "match", "random"] = "off"
    first: int = Field(0, ge=0)
    match: list[str] = Field(default_factory=list)
    rate: float = Field(0.0, ge=0.0, le=1.0)
    seed: int = 0

    def fails(self, *, key: str, attempt: int, subject: str = "") -> bool:
        """Whether attempt number ``attempt`` (1-based) of idempotency key ``key`` fails."""
        if self.mode == "first":
            return attempt <= self.first
        if self.mode == "match":
            return subject in self.match
        if self.mode == "random":
            digest = hashlib.sha256(f"{self.seed}:{key}:{attempt}".encode()).digest()
            return random.Random(digest).random() < self.rate
        return False


OFF = FailurePolicy()

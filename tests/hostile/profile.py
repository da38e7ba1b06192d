"""Hypothesis settings of the hostile suite: a modest profile for CI, a long one on request.

    uv run pytest tests/hostile                          # 16 examples per test, no shrinking
    HOSTILE_EXAMPLES=20000 uv run pytest tests/hostile   # 20000 per test, failures shrunk

No example database (``database=None``): a CI run depends on nothing but the code, and a
failure is reproduced from the ``@reproduce_failure`` blob it prints. Shrinking is off by
default because a wedged request costs seconds per attempt; the long profile turns it on.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

LONG_RUN = int(os.environ.get("HOSTILE_EXAMPLES", "0"))
settings.register_profile(
    "hostile",
    max_examples=LONG_RUN or 16,
    deadline=None,
    database=None,
    derandomize=False,
    phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if LONG_RUN else [])],
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
PROFILE = settings.get_profile("hostile")
# pytest-timeout's 600 s per test is too short for a long run
TIMEOUT = pytest.mark.timeout(max(600, 3 * PROFILE.max_examples))


def examples(share: float = 1.0) -> settings:
    """The hostile profile with ``share`` of its examples (Kafka examples cost more)."""
    return settings(PROFILE, max_examples=max(1, round(PROFILE.max_examples * share)))

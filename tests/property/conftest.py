"""Hypothesis settings for the property tests: deterministic in CI, bounded in time.

``derandomize`` makes every run explore the same examples, so a failure seen once is seen again;
``deadline=None`` because the machine is shared and a slow example is not a wrong one.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fok",
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
settings.load_profile("fok")

"""How many examples a property test draws: its fixed count, ten times more when exploring.

The profiles are registered and chosen in tests/conftest.py: "ci" (derandomised, the default) and
"explore" (random inputs: `HYPOTHESIS_PROFILE=explore`, or any `--hypothesis-seed=N`).
"""

from __future__ import annotations

from hypothesis import settings

EXPLORE_FACTOR = 10


def examples(count: int) -> int:
    """`count` under the derandomised CI profile; EXPLORE_FACTOR times it under a random one."""
    return count if settings.default.derandomize else count * EXPLORE_FACTOR

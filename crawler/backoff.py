"""One retry policy: a delay that doubles with each attempt, up to a cap.

Alert and digest delivery, HTTP retries, failed articles and anti-bot back-off all wait this way;
keeping the formula in one place keeps their behaviour (and its tests) in step."""
from __future__ import annotations

import math

__all__ = ["doubling"]


def doubling(base: float, attempt: int, cap: float = math.inf) -> float:
    """``base × 2^(attempt − 1)``, at most ``cap``; attempt 1 waits ``base``, attempt 0 nothing.

    The exponent is bounded so that a long failure streak cannot build a huge number."""
    if attempt <= 0:
        return 0.0
    return min(base * 2 ** min(attempt - 1, 62), cap)

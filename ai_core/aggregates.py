"""PostgreSQL aggregates Django does not ship, so reports stay single queries."""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, FloatField


class PercentileCont(Aggregate):
    """``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``: an interpolated percentile.

    Django has no ordered-set aggregates, and pulling every latency into Python to sort it would
    defeat the point of a dashboard that must stay fast on months of usage rows. The fraction is
    validated as a number here and inlined, because PostgreSQL wants it as a literal-like argument
    next to the ``WITHIN GROUP`` clause; it never comes from user input unchecked.
    """

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()
    arity = 1

    def __init__(self, expression: Any, *, fraction: float, **extra: Any):
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"PercentileCont fraction must be between 0 and 1, got {fraction!r}.")
        super().__init__(expression, fraction=repr(fraction), **extra)

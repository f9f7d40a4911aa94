"""Receivers keeping the Redis copy of ``BudgetOverride`` in step (``override_mirror``); connected
in ``BudgetsConfig.ready()`` with the model as sender."""

from __future__ import annotations

from .models import BudgetOverride
from .override_mirror import override_mirror_changed


def remember_previous_user(sender, instance: BudgetOverride, raw: bool = False, **kwargs) -> None:
    # An override moved to another user must also stop applying to the first one.
    instance._mirror_previous_user_id = (
        BudgetOverride.objects.filter(pk=instance.pk).values_list("user_id", flat=True).first()
        if instance.pk is not None
        else None
    )


def override_saved(sender, instance: BudgetOverride, **kwargs) -> None:
    override_mirror_changed(user_ids=[instance.user_id], daily_tokens=instance.daily_tokens)
    previous = getattr(instance, "_mirror_previous_user_id", None)
    if previous is not None and previous != instance.user_id:
        override_mirror_changed(user_ids=[previous], daily_tokens=None)


def override_deleted(sender, instance: BudgetOverride, **kwargs) -> None:
    override_mirror_changed(user_ids=[instance.user_id], daily_tokens=None)

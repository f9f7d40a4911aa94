"""Reads for budget alerts: today's cost per scope (summed in SQL), open alerts, who gets the mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet, Sum

from .conf import alert_settings
from .models import BudgetAlert

ALERT_PERMISSION = "budgets.change_budgetalert"


def _usage_on(day: dt.date) -> QuerySet:
    from ai_core.models import LLMUsageLog
    from ai_core.selectors.dashboard import range_bounds

    # One UTC day (AI days are UTC days), as aware datetimes so the ``created_at`` index is used.
    start, end = range_bounds(start=day, end=day)
    return LLMUsageLog.objects.filter(created_at__gte=start, created_at__lt=end)


def cost_by_prompt_key(
    *, day: dt.date, above: Decimal | None = None, prompt_keys: Iterable[str] | None = None
) -> dict[str, Decimal]:
    """USD spent per prompt key on ``day``; one grouped query. ``above`` drops smaller sums in SQL
    (HAVING), so the check reads only candidate rows however many prompt keys there are."""
    rows = _usage_on(day).exclude(prompt_key="")
    if prompt_keys is not None:
        rows = rows.filter(prompt_key__in=list(prompt_keys))
    rows = rows.values("prompt_key").annotate(cost=Sum("cost_usd")).order_by()
    if above is not None:
        rows = rows.filter(cost__gt=above)
    return {row["prompt_key"]: row["cost"] for row in rows}


def cost_by_user(
    *, day: dt.date, above: Decimal | None = None, user_ids: Iterable[int] | None = None
) -> dict[int, Decimal]:
    """USD spent per signed-in user on ``day`` (through the request each call was made for)."""
    rows = _usage_on(day).filter(request__user__isnull=False)
    if user_ids is not None:
        rows = rows.filter(request__user__in=list(user_ids))
    rows = rows.values("request__user").annotate(cost=Sum("cost_usd")).order_by()
    if above is not None:
        rows = rows.filter(cost__gt=above)
    return {row["request__user"]: row["cost"] for row in rows}


def user_can_manage_budget_alerts(user) -> bool:
    return bool(user and user.is_active and user.has_perm(ALERT_PERMISSION))


def budget_alerts_open(*, day: dt.date) -> QuerySet[BudgetAlert]:
    """The day's alerts nobody has acknowledged yet: what the admin banner shows."""
    return (
        BudgetAlert.objects.filter(day=day, acknowledged_at__isnull=True)
        .select_related("user")
        .order_by("created_at")
    )


def budget_alerts_recent(*, since: dt.date) -> QuerySet[BudgetAlert]:
    return BudgetAlert.objects.filter(day__gte=since).select_related("user", "acknowledged_by")


def budget_alert_recipients() -> list[str]:
    """Configured addresses; else the configured group's members; else everyone who may manage
    budget alerts (superusers included), so a fresh install still reaches its admins."""
    config = alert_settings()
    if config.recipients:
        return list(config.recipients)
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    if config.recipient_group:
        users = users.filter(groups__name=config.recipient_group)
    else:
        app_label, codename = ALERT_PERMISSION.split(".")
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        holders = Q(is_superuser=True)
        if permission is not None:
            holders |= Q(groups__permissions=permission) | Q(user_permissions=permission)
        users = users.filter(holders)
    return sorted(set(users.values_list("email", flat=True)))

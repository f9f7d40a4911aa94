"""Budget alerts (services): when a prompt key's or a user's cost today (UTC) passes its configured
daily threshold, record one ``BudgetAlert`` for that scope and day and mail it once.

The check sums ``LLMUsageLog.cost_usd`` in SQL (one grouped query per scope kind, with HAVING so
only scopes over a threshold come back). It runs from Celery beat every minute and, narrowed to
the request's own prompt key and user, right after a request's cost is settled. The unique
constraint on (kind, scope, day) makes repeated and concurrent checks safe: only the insert that
wins gets ``created`` and queues the mail, on commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .conf import alert_settings
from .models import BudgetAlert
from .selectors import (
    budget_alert_recipients,
    cost_by_prompt_key,
    cost_by_user,
    user_can_manage_budget_alerts,
)
from .services import today

logger = logging.getLogger(__name__)

# Registered by ai_core's admin (ai_core/admin/budget_alerts.py); the mail links to it.
ADMIN_URL_NAME = "ai_budget_alerts:index"


@dataclass(kw_only=True, frozen=True)
class _Crossing:
    kind: str
    scope_value: str
    cost: Decimal
    threshold: Decimal
    user_id: int | None = None


def _crossings(
    *, day: dt.date, prompt_keys: Iterable[str] | None, user_ids: Iterable[int] | None
) -> list[_Crossing]:
    config = alert_settings()
    found: list[_Crossing] = []
    if config.prompt_keys_enabled and (prompt_keys is None or prompt_keys):
        costs = cost_by_prompt_key(day=day, above=config.lowest_prompt_key_threshold, prompt_keys=prompt_keys)
        for key, cost in costs.items():
            threshold = config.threshold_for_prompt_key(key)
            if threshold is not None and cost > threshold:
                found.append(
                    _Crossing(
                        kind=BudgetAlert.Kind.PROMPT_KEY, scope_value=key, cost=cost, threshold=threshold
                    )
                )
    if config.user_threshold is not None and (user_ids is None or user_ids):
        for user_id, cost in cost_by_user(day=day, above=config.user_threshold, user_ids=user_ids).items():
            found.append(
                _Crossing(
                    kind=BudgetAlert.Kind.USER,
                    scope_value=str(user_id),
                    cost=cost,
                    threshold=config.user_threshold,
                    user_id=user_id,
                )
            )
    return found


def budget_alerts_check(
    *,
    day: dt.date | None = None,
    prompt_keys: Iterable[str] | None = None,
    user_ids: Iterable[int] | None = None,
) -> list[BudgetAlert]:
    """Raise an alert for every scope over its threshold that has none yet today; returns the new
    ones. ``prompt_keys`` / ``user_ids`` narrow the check (an empty list skips that kind)."""
    day = day or today()
    prompt_keys = None if prompt_keys is None else list(prompt_keys)
    user_ids = None if user_ids is None else list(user_ids)
    crossings = _crossings(day=day, prompt_keys=prompt_keys, user_ids=user_ids)
    if not crossings:
        return []
    already = set(
        BudgetAlert.objects.filter(
            day=day, kind__in={c.kind for c in crossings}, scope_value__in={c.scope_value for c in crossings}
        ).values_list("kind", "scope_value")
    )
    raised = []
    for crossing in crossings:
        if (crossing.kind, crossing.scope_value) in already:
            continue
        alert, created = BudgetAlert.objects.get_or_create(
            kind=crossing.kind,
            scope_value=crossing.scope_value,
            day=day,
            defaults={
                "cost_usd": crossing.cost,
                "threshold_usd": crossing.threshold,
                "user_id": crossing.user_id,
            },
        )
        if not created:
            continue  # a concurrent check inserted it first, and mails it
        logger.warning(
            "budget alert: %s %s cost %s USD on %s, threshold %s",
            alert.kind,
            alert.scope_value,
            alert.cost_usd,
            day,
            alert.threshold_usd,
        )
        # robust: a broker hiccup is logged and must not undo or fail the check (the row stays listed).
        transaction.on_commit(functools.partial(_queue_email, alert.pk), robust=True)
        raised.append(alert)
    return raised


def _queue_email(alert_id: int) -> None:
    from .tasks import send_budget_alert_email

    send_budget_alert_email.delay(alert_id)


def budget_alerts_check_for_request(*, prompt_key: str, user_id: int | None) -> list[BudgetAlert]:
    """The cheap check after one request's cost is settled: only its prompt key and user.

    Never lets an alerting problem fail the request; the beat check catches up a minute later.
    """
    try:
        with transaction.atomic():
            return budget_alerts_check(
                prompt_keys=[prompt_key] if prompt_key else [], user_ids=[user_id] if user_id else []
            )
    except Exception:  # noqa: BLE001 - alerting is best-effort on the request path
        logger.exception("budget alert check after settling failed (prompt_key=%s)", prompt_key)
        return []


def _admin_url() -> str:
    try:
        path = reverse(ADMIN_URL_NAME)
    except NoReverseMatch:
        path = "/admin/"
    return f"{getattr(settings, 'WAGTAILADMIN_BASE_URL', '').rstrip('/')}{path}"


def budget_alert_email_send(*, alert_id: int) -> bool:
    """Mail one alert to the configured recipients, at most once (a redelivered task finds it
    claimed). A failed send releases the claim so the task's retry can try again."""
    claimed = BudgetAlert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    alert = BudgetAlert.objects.select_related("user").get(pk=alert_id)
    recipients = budget_alert_recipients()
    if not recipients:
        logger.warning("budget alert %s: nobody to mail (set AI_CORE['ALERTS']['RECIPIENTS'])", alert_id)
        return False
    site = getattr(settings, "WAGTAIL_SITE_NAME", "Lectern")
    subject = (
        f"[{site}] AI cost alert: {alert.scope_label} spent ${alert.cost_usd:.2f} on {alert.day} "
        f"(threshold ${alert.threshold_usd:.2f})"
    )
    body = render_to_string("budgets/emails/alert.txt", {"alert": alert, "url": _admin_url(), "site": site})
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        BudgetAlert.objects.filter(pk=alert_id).update(emailed_at=None)
        raise
    return True


def budget_alerts_acknowledge(*, alert_ids: Iterable[int], user) -> int:
    """Hide alerts from the banner for everyone; returns how many this call acknowledged."""
    if not user_can_manage_budget_alerts(user):
        raise PermissionDenied("Only people who manage AI budgets can acknowledge budget alerts.")
    return BudgetAlert.objects.filter(pk__in=list(alert_ids), acknowledged_at__isnull=True).update(
        acknowledged_by=user, acknowledged_at=timezone.now()
    )

"""Budgets are enforced before spending: reserve an estimate at submit, settle the actual use after."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

import redis
from django.db.models import F, Sum
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from ai_core import conf, pricing
from ai_core.prompts.spec import PromptSpec
from ai_core.resilience.runtime import redis_key, shared_redis

from . import ledger
from .models import BudgetOverride, BudgetReservation
from .override_mirror import override_mirror_fill, override_mirror_key

logger = logging.getLogger(__name__)

# Daily pools (AI_CORE["BUDGETS"]["POOL_DAILY_TOKENS"]), each with its own limit.
POOL_ANONYMOUS = "anonymous"
POOL_USER = "user"
POOL_SYSTEM = "system"
POOLS = (POOL_ANONYMOUS, POOL_USER, POOL_SYSTEM)
# How long a settlement's "already charged" marker is kept: far longer than a reservation can stay
# open (the recovery sweep settles it within minutes), and past the day its counters belong to.
SETTLED_MARKER_TTL_S = 2 * 86400


class BudgetExceeded(Exception):
    def __init__(self, message: str, *, scope: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.scope = scope
        self.retry_after = retry_after


@dataclass(kw_only=True, frozen=True)
class Hold:
    day: dt.date
    keys: tuple[str, ...]
    tokens: int
    downgraded: bool


def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def seconds_until_reset() -> int:
    now = timezone.now().astimezone(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return max(1, int((midnight - now).total_seconds()))


def estimate_tokens(spec: PromptSpec, payload: Mapping[str, object]) -> int:
    """Rendered prompt (≈4 characters a token) + room for retrieved context + the answer's maximum."""
    values = {**dict.fromkeys(spec.system_variables, ""), **payload}
    rendered = spec.render(values)
    estimate = pricing.estimate_tokens(rendered.system + rendered.user) + 1 + spec.max_tokens
    if "sources" in spec.system_variables:
        estimate += conf.setting("BUDGETS")["CONTEXT_ALLOWANCE_TOKENS"]
    return estimate


def budget_pool_for(*, user=None, system: bool = False) -> str:
    """Which daily pool a request draws on: the site's own work, a signed-in user, or a visitor."""
    if system:
        return POOL_SYSTEM
    if user is not None and user.is_authenticated:
        return POOL_USER
    return POOL_ANONYMOUS


def scopes_for(
    *,
    pool: str | None = None,
    user=None,
    session_key: str = "",
    client_ip: str | None = None,
    override_from_redis: bool = False,
) -> list[ledger.Scope]:
    """The counters a request must fit in: its own (user, or session and client address), then
    its pool, then the site's ceiling. Each pool has its own limit, so a crowd of anonymous visitors
    can empty the anonymous pool but never the tokens kept for signed-in users or system work.

    A user's ``BudgetOverride`` is read from the database, or with ``override_from_redis`` left
    to the reservation's Lua step, which reads its copy in Redis (``override_mirror``)."""
    budgets = conf.setting("BUDGETS")
    pool = pool or budget_pool_for(user=user)
    if pool not in POOLS:
        raise ValueError(f"unknown budget pool {pool!r}; one of {POOLS}")
    scopes = []
    if pool == POOL_USER and user is not None and user.is_authenticated:
        name, default = f"user:{user.pk}", budgets["USER_DAILY_TOKENS"]
        if override_from_redis:
            scopes.append(ledger.Scope(name=name, limit=default, limit_key=override_mirror_key(user.pk)))
        else:
            scopes.append(ledger.Scope(name=name, limit=user_override_tokens(user_id=user.pk) or default))
    elif pool == POOL_ANONYMOUS:
        if session_key:
            scopes.append(ledger.Scope(name=f"anon:{session_key}", limit=budgets["ANON_DAILY_TOKENS"]))
        if client_ip:
            # Without a session the address is the visitor; with one, it still caps cookie-dropping
            # clients. ``client_ip`` is ai_core.clients.client_key: an IPv6 /64 counts once.
            limit = budgets["ANON_IP_DAILY_TOKENS"] if session_key else budgets["ANON_DAILY_TOKENS"]
            scopes.append(ledger.Scope(name=f"anon-ip:{client_ip}", limit=limit))
    scopes.append(ledger.Scope(name=f"pool:{pool}", limit=budgets["POOL_DAILY_TOKENS"][pool]))
    scopes.append(ledger.Scope(name="site", limit=budgets["SITE_DAILY_TOKENS"]))
    return scopes


def user_override_tokens(*, user_id: int) -> int | None:
    return BudgetOverride.objects.filter(user_id=user_id).values_list("daily_tokens", flat=True).first()


def _refusal(*, rejected_scope: str, tokens: int) -> str:
    if rejected_scope == f"pool:{POOL_ANONYMOUS}":
        return (
            "Today's AI budget for visitors who are not signed in is used up. Sign in to keep asking, "
            "or try again after midnight UTC, when it resets."
        )
    if rejected_scope == f"pool:{POOL_USER}":
        return "Today's AI budget for signed-in users is used up. It resets at midnight UTC."
    if rejected_scope == f"pool:{POOL_SYSTEM}":
        return "Today's AI budget for the site's own work (summaries, evaluations) is used up."
    who = "the site's" if rejected_scope == "site" else "your"
    return (
        f"This request needs about {tokens} tokens, which is more than {who} remaining AI budget for today. "
        "The budget resets at midnight UTC."
    )


def budget_reserve(
    *,
    tokens: int,
    pool: str | None = None,
    user=None,
    session_key: str = "",
    client_ip: str | None = None,
) -> Hold:
    """Hold ``tokens`` in every counter the request must fit in, or in none (``BudgetExceeded``).
    ``pool`` defaults from ``user`` (signed in or not); system work passes ``POOL_SYSTEM``."""
    day = today()
    scopes = scopes_for(
        pool=pool, user=user, session_key=session_key, client_ip=client_ip, override_from_redis=True
    )
    result = ledger.reserve(shared_redis(), prefix=redis_key("budget"), day=day, scopes=scopes, tokens=tokens)
    if result.limit_missing:  # no copy of the user's override in Redis: the database decides
        found = user_override_tokens(user_id=user.pk)
        override_mirror_fill(user_id=user.pk, daily_tokens=found)
        scopes = [replace(s, limit=found or s.limit, limit_key="") if s.limit_key else s for s in scopes]
        result = ledger.reserve(
            shared_redis(), prefix=redis_key("budget"), day=day, scopes=scopes, tokens=tokens
        )
    if not result.ok:
        rejected = result.rejected_scope
        raise BudgetExceeded(
            _refusal(rejected_scope=rejected, tokens=tokens),
            scope=rejected if rejected.startswith("pool:") else rejected.split(":")[0],
            retry_after=seconds_until_reset(),
        )
    downgraded = result.share_after > conf.setting("BUDGETS")["SOFT_LIMIT_SHARE"]
    return Hold(day=day, keys=result.keys, tokens=tokens, downgraded=downgraded)


def budget_pool_has_room(*, pool: str, tokens: int = 1) -> bool:
    """Whether ``pool`` (and the site ceiling) could take ``tokens`` now. A hint for batch work
    deciding whether to start; only ``budget_reserve`` decides, atomically."""
    budgets = conf.setting("BUDGETS")
    day = today()
    return (
        budget_usage(scope=f"pool:{pool}", day=day) + tokens <= budgets["POOL_DAILY_TOKENS"][pool]
        and budget_usage(scope="site", day=day) + tokens <= budgets["SITE_DAILY_TOKENS"]
    )


def budget_release(hold: Hold) -> None:
    """Give back a hold whose request was never stored."""
    ledger.adjust(shared_redis(), keys=hold.keys, delta=-hold.tokens)


def budget_hold_settle(hold: Hold, *, actual: int) -> None:
    """Charge what work without an AIRequest (a golden run) really used: refund or top up."""
    ledger.adjust(shared_redis(), keys=hold.keys, delta=actual - hold.tokens)


def budget_reservation(*, request, hold: Hold) -> BudgetReservation:
    """The reservation row for ``request``'s ``hold``, unsaved: the caller stores it with the request
    (``ai_core.services.rows.insert_together``), so both rows are written or neither."""
    return BudgetReservation(
        request=request,
        day=hold.day,
        scopes=list(hold.keys),
        reserved_tokens=hold.tokens,
        downgraded=hold.downgraded,
    )


def actual_tokens(request_id) -> int:
    from ai_core.models import LLMUsageLog

    total = LLMUsageLog.objects.filter(request_id=request_id).aggregate(
        total=Sum(F("input_tokens") + F("output_tokens") + F("cache_read_tokens") + F("cache_write_tokens"))
    )["total"]
    return int(total or 0)


def budget_settle(*, request_id) -> int | None:
    """Charge what the request really used (refund or top up the hold). Runs once per request."""
    actual = actual_tokens(request_id)
    updated = BudgetReservation.objects.filter(request_id=request_id, settled_at__isnull=True).update(
        settled_at=timezone.now(), actual_tokens=actual
    )
    if not updated:
        return None  # no reservation, or already settled by an earlier delivery
    reservation = BudgetReservation.objects.select_related("request").get(request_id=request_id)
    ledger.adjust_once(
        shared_redis(),
        keys=reservation.scopes,
        delta=actual - reservation.reserved_tokens,
        marker=redis_key("budget-settled", request_id),
        marker_ttl_s=SETTLED_MARKER_TTL_S,
    )
    logger.info(
        "budget settled request=%s reserved=%s actual=%s", request_id, reservation.reserved_tokens, actual
    )
    _queue_alert_check(prompt_key=reservation.request.prompt_key, user_id=reservation.request.user_id)
    return actual - reservation.reserved_tokens


def _queue_alert_check(*, prompt_key: str, user_id: int | None) -> None:
    """The request's cost is final: check at once whether it took its prompt key or user over the
    daily cost threshold, rather than at the next beat check. The check sums the day's usage rows,
    so it runs as a task of its own instead of delaying the visitor's final answer; if the broker
    is unreachable the beat check catches up."""
    from .tasks import check_budget_alerts_for_request

    try:
        check_budget_alerts_for_request.delay(prompt_key, user_id)
    except (KombuOperationalError, redis.RedisError):
        logger.warning("could not queue the budget alert check for prompt_key=%s", prompt_key)


def budget_reset_daily() -> int:
    """Beat task body: drop counters of past days. New days also start fresh lazily (day-keyed)."""
    return ledger.purge_before(shared_redis(), prefix=redis_key("budget"), day=today())


def budget_usage(*, scope: str, day: dt.date | None = None) -> int:
    return ledger.used(shared_redis(), prefix=redis_key("budget"), day=day or today(), scope=scope)

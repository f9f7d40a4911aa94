"""System checks: a bad alert threshold fails ``manage.py check`` instead of silently never alerting,
a mistyped trusted proxy fails it instead of silently lumping every visitor under the proxy, and a
missing budget pool fails it instead of failing every request of that kind at submit.

``budgets.E001`` alert settings, ``E002`` trusted proxies, ``E003`` budget pools (``W001`` pools
larger than the site ceiling), ``E004`` the summary catch-up batch.
"""

from __future__ import annotations

from django.core import checks

from ai_core import conf as ai_conf
from ai_core.clients import InvalidTrustedProxyError, parse_trusted_proxies

from .conf import InvalidBudgetAlertSettingError, alert_settings


def check_alert_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        alert_settings()
    except InvalidBudgetAlertSettingError as err:
        return [
            checks.Error(
                str(err),
                hint="Amounts are USD strings such as \"5.00\"; see AI_CORE['ALERTS'] in site_config/settings/ai.py.",
                id="budgets.E001",
            )
        ]
    return []


def check_trusted_proxies(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    raw = ai_conf.setting_or_none("TRUSTED_PROXIES") or []
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list | tuple):
        return [
            checks.Error(
                f"AI_CORE['TRUSTED_PROXIES'] = {raw!r} must be a list of IP addresses or networks.",
                id="budgets.E002",
            )
        ]
    messages: list[checks.CheckMessage] = []
    for entry in raw:
        try:
            parse_trusted_proxies([entry])
        except InvalidTrustedProxyError as err:
            messages.append(
                checks.Error(
                    f"AI_CORE['TRUSTED_PROXIES']: {err}",
                    hint="List proxy addresses or networks such as 10.0.0.5, 172.16.0.0/12 or 2001:db8::/48 "
                    "(LECTERN_TRUSTED_PROXIES, comma-separated); a network's host bits must be zero.",
                    id="budgets.E002",
                )
            )
    return messages


def check_budget_pools(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every pool needs a limit: a missing one would fail each request of that kind at submit."""
    from .services import POOLS

    budgets = ai_conf.setting_or_none("BUDGETS") or {}
    pools = budgets.get("POOL_DAILY_TOKENS")
    hint = (
        "Set AI_CORE['BUDGETS']['POOL_DAILY_TOKENS'] to whole token counts for "
        f"{', '.join(POOLS)} (AI_BUDGET_ANON_POOL_DAILY_TOKENS, AI_BUDGET_USER_POOL_DAILY_TOKENS, "
        "AI_BUDGET_SYSTEM_POOL_DAILY_TOKENS)."
    )
    if not isinstance(pools, dict) or set(pools) != set(POOLS):
        found = sorted(pools) if isinstance(pools, dict) else pools
        return [
            checks.Error(
                f"AI_CORE['BUDGETS']['POOL_DAILY_TOKENS'] must have exactly the pools {list(POOLS)}; "
                f"found {found!r}.",
                hint=hint,
                id="budgets.E003",
            )
        ]
    bad = [
        name
        for name, value in pools.items()
        if isinstance(value, bool) or not isinstance(value, int) or value < 0
    ]
    if bad:
        return [
            checks.Error(
                f"AI_CORE['BUDGETS']['POOL_DAILY_TOKENS'] {bad} must be whole token counts of 0 or more.",
                hint=hint,
                id="budgets.E003",
            )
        ]
    site = budgets.get("SITE_DAILY_TOKENS")
    if isinstance(site, int) and sum(pools.values()) > site:
        return [
            checks.Warning(
                f"The budget pools add up to {sum(pools.values())} tokens a day, more than the site's "
                f"ceiling AI_CORE['BUDGETS']['SITE_DAILY_TOKENS'] = {site}: one pool using its whole "
                "limit can then leave another less than its own.",
                hint="Lower a pool or raise AI_BUDGET_SITE_DAILY_TOKENS to at least their sum.",
                id="budgets.W001",
            )
        ]
    return []


def check_summary_catch_up(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The catch-up batch bounds how much system budget one beat run may spend on summaries."""
    raw = ai_conf.setting_or_none("SUMMARY_CATCH_UP") or {}
    batch = raw.get("BATCH") if isinstance(raw, dict) else None
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 0:
        return [
            checks.Error(
                f"AI_CORE['SUMMARY_CATCH_UP']['BATCH'] = {batch!r} must be a whole number of 0 or more "
                "(0 switches the catch-up off).",
                hint="Set AI_SUMMARY_CATCH_UP_BATCH.",
                id="budgets.E004",
            )
        ]
    return []

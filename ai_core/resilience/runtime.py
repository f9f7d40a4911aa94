"""Django-side wiring of the resilience parts: the shared Redis client and one breaker per model."""

from __future__ import annotations

import functools

import redis
from django.conf import settings

from ai_core import conf

from .breaker import BreakerConfig, CircuitBreaker, openings


@functools.cache
def _redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30)


def shared_redis() -> redis.Redis:
    return _redis_for(settings.REDIS_URL)


def redis_key(*parts: object) -> str:
    """Namespaced Redis key; tests and the dev site sharing one Redis never see each other's state."""
    return ":".join([conf.setting_or_none("REDIS_PREFIX") or "lectern", *map(str, parts)])


def breaker_config() -> BreakerConfig:
    raw = conf.setting("CIRCUIT_BREAKER")
    return BreakerConfig(threshold=raw["THRESHOLD"], window_s=raw["WINDOW_S"], cooldown_s=raw["COOLDOWN_S"])


def breaker_for(provider: str, model: str) -> CircuitBreaker:
    return CircuitBreaker(
        shared_redis(),
        f"{provider}:{model}",
        breaker_config(),
        prefix=redis_key("cb"),
        on_transition=functools.partial(_record_transition, provider, model),
    )


def _record_transition(provider: str, model: str, transition: str) -> None:
    # Redis counters reset on restart; the dashboard reports openings from these rows instead.
    # Imported here: this module is loaded by /healthz and checks, models may not be ready yet.
    from .events import circuit_event_record

    circuit_event_record(provider=provider, model=model, event=transition)


def known_breakers() -> list[CircuitBreaker]:
    """A breaker for every configured provider's routed models (what /healthz and the admin show)."""
    configured = set(conf.provider_configs())
    names = {
        (alias, model)
        for alias, tiers in conf.model_tiers().items()
        if alias in configured
        for model in tiers.values()
    }
    return [breaker_for(alias, model) for alias, model in sorted(names)]


def breaker_states() -> list[dict]:
    counts = openings(shared_redis(), prefix=redis_key("cb"))
    return [{**breaker.state(), "openings": counts.get(breaker.name, 0)} for breaker in known_breakers()]

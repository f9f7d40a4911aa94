"""The response cache saves money; it must never turn a Redis outage into a failed answer."""

from ai_core.response_cache import CachedResponse, cache_key, response_cache_get, response_cache_put
from tests.conftest import free_port


def test_a_cached_answer_is_returned_for_the_same_key_only():
    key = cache_key(prompt_key="rag_answer", prompt_version=1, system="s", user="u", tier="fast")
    other = cache_key(prompt_key="rag_answer", prompt_version=1, system="s", user="u2", tier="fast")
    response_cache_put(key, CachedResponse(text="An answer.", provider="local", model="m"))
    assert response_cache_get(key).text == "An answer."
    assert response_cache_get(key, fallback=True).text == "An answer."
    assert response_cache_get(other) is None


def test_an_unreachable_redis_makes_the_response_cache_a_miss_not_an_error(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    key = cache_key(prompt_key="rag_answer", prompt_version=1, system="s", user="u", tier="fast")
    response_cache_put(key, CachedResponse(text="An answer.", provider="local", model="m"))
    assert response_cache_get(key) is None
    assert response_cache_get(key, fallback=True) is None

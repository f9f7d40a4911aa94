"""Password guessing at the Wagtail admin and the Django admin is stopped by django-axes.

Every test posts the real login forms over HTTP (Django's test client) and asserts what the person at
the keyboard sees: after AXES_FAILURE_LIMIT wrong passwords even the right one is refused with a
429 lockout page, while other accounts and other addresses are not locked out with them.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"  # noqa: S105
LOGIN_URLS = ["/admin/login/", "/django-admin/login/"]


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.com", PASSWORD)


def attempt(client: Client, url: str, username: str, password: str, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def guess_until_locked(client: Client, url: str, username: str = "editor", **extra) -> list[int]:
    return [
        attempt(client, url, username, f"wrong-{n}", **extra).status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_the_right_password_works_before_any_guessing(editor, url):
    client = Client()
    response = attempt(client, url, "editor", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_after_the_failure_limit_even_the_right_password_is_refused_with_a_lockout_page(editor, url):
    client = Client()
    statuses = guess_until_locked(client, url)
    # Each wrong password before the limit shows the form again; the one that reaches it locks.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    response = attempt(client, url, "editor", PASSWORD)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed sign-in attempts" in text and "15 minutes" in text
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_a_lockout_at_one_admin_also_holds_at_the_other(editor):
    client = Client()
    guess_until_locked(client, "/admin/login/")
    response = attempt(client, "/django-admin/login/", "editor", PASSWORD)
    assert response.status_code == 429 and not signed_in(client)


def test_a_locked_out_account_can_still_sign_in_from_another_address(editor):
    guess_until_locked(Client(), "/admin/login/", REMOTE_ADDR="203.0.113.7")
    colleague = Client()
    response = attempt(colleague, "/admin/login/", "editor", PASSWORD, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 302 and signed_in(colleague)


def test_guessing_one_account_does_not_lock_other_accounts_on_the_same_address(editor, django_user_model):
    django_user_model.objects.create_superuser("reviewer", "reviewer@example.com", PASSWORD)
    client = Client()
    guess_until_locked(client, "/admin/login/")
    response = attempt(client, "/admin/login/", "reviewer", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_a_forged_x_forwarded_for_does_not_buy_fresh_attempts(editor):
    """No proxy is trusted by default, so the header is the visitor's own text and is ignored."""
    client = Client()
    statuses = [
        attempt(client, "/admin/login/", "editor", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses[-1] == 429
    response = attempt(client, "/admin/login/", "editor", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429 and not signed_in(client)


def test_behind_a_trusted_proxy_visitors_are_locked_out_one_by_one(editor, settings):
    """Every request arrives from the proxy; only the forwarded address tells visitors apart."""
    settings.AI_CORE = {**settings.AI_CORE, "TRUSTED_PROXIES": ["10.0.0.2"]}
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    guess_until_locked(Client(), "/admin/login/", HTTP_X_FORWARDED_FOR="203.0.113.7", **via_proxy)
    colleague = Client()
    response = attempt(
        colleague, "/admin/login/", "editor", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.20", **via_proxy
    )
    assert response.status_code == 302 and signed_in(colleague)
    attacker = Client()
    response = attempt(
        attacker, "/admin/login/", "editor", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7", **via_proxy
    )
    assert response.status_code == 429


def test_ipv6_guessers_cannot_rotate_addresses_inside_their_64(editor):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/admin/login/", "editor", "wrong", REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
    response = attempt(client, "/admin/login/", "editor", PASSWORD, REMOTE_ADDR="2001:db8:1:2::ffff")
    assert response.status_code == 429 and not signed_in(client)


def test_the_lockout_also_holds_under_asgi(editor):
    """uvicorn serves the site through Django's ASGI handler (the chain runs in sync mode there,
    behind site_config.middleware.OneThreadChainMiddleware, but through the ASGI handler)."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    client = AsyncClient()

    def post(password: str):
        return async_to_sync(client.post)("/admin/login/", {"username": "editor", "password": password})

    statuses = [post(f"wrong-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses[-1] == 429
    response = post(PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()

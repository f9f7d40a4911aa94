"""Browser tests: Playwright drives Debian's chromium against the running ASGI app and a real worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.conftest import live_stack as start_live_stack

ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body are
# still plain synchronous calls on the test database.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser():
    """Per module: Playwright's sync API keeps an event loop on this thread while it is open."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def screenshot(request):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="module")
def live_stack(django_db_setup, django_db_blocker, fake_provider_server, tmp_path_factory):
    """Generation through the fake Anthropic server (so streams can be slowed down), embeddings
    by the local MiniLM model."""
    with start_live_stack(
        "browser",
        fake_url=fake_provider_server.base_url,
        django_db_blocker=django_db_blocker,
        tmp_path_factory=tmp_path_factory,
        AI_ANON_RATE_LIMIT_REQUESTS="1000",
    ) as web:
        yield web


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep a screenshot of every open page when a browser test fails (in test-artifacts/)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "browser" in item.fixturenames:
        ARTIFACTS.mkdir(exist_ok=True)
        browser = item.funcargs["browser"]
        for n, context in enumerate(browser.contexts):
            for m, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{item.name}-failure-{n}-{m}.png"), full_page=True)
                except Exception:  # noqa: BLE001, S110 - best effort on an already failed test
                    pass

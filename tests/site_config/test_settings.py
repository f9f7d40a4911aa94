"""Production settings refuse insecure defaults; `check --deploy` is clean with real values."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

GOOD_KEY = "k" * 20 + "-production-secret-key-value-0123456789abcdef"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "LECTERN_"))
    }
    full_env.update(DJANGO_SETTINGS_MODULE="site_config.settings.production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_a_missing_secret_key():
    result = run_manage("check", DJANGO_ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_debug_on():
    result = run_manage(
        "check", DJANGO_SECRET_KEY=GOOD_KEY, DJANGO_ALLOWED_HOSTS="example.org", DJANGO_DEBUG="true"
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_production_check_deploy_is_clean():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY=GOOD_KEY,
        DJANGO_ALLOWED_HOSTS="example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr


PROBE = """
from django.test import Client
client = Client()
for path in ("/healthz/live", "/metrics", "/admin/login/"):
    print(path, client.get(path, HTTP_HOST="example.org").status_code)
"""


def test_production_redirects_plain_http_to_https_except_the_liveness_probe():
    result = run_manage("shell", "-c", PROBE, DJANGO_SECRET_KEY=GOOD_KEY, DJANGO_ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stderr
    statuses = dict(line.split() for line in result.stdout.splitlines() if line.startswith("/"))
    assert statuses == {"/healthz/live": "200", "/metrics": "301", "/admin/login/": "301"}


def test_a_bad_prepare_threshold_is_refused_with_its_name():
    result = run_manage(
        "check",
        DJANGO_SECRET_KEY=GOOD_KEY,
        DJANGO_ALLOWED_HOSTS="example.org",
        DATABASE_PREPARE_THRESHOLD="sometimes",
    )
    assert result.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD must be a whole number of runs or 'off'" in result.stderr


def _on_a_connection(expression: str, **env: str) -> str:
    """What ``expression`` (over ``connection``, a connected Django connection) prints in a fresh
    process with the test settings and ``env``."""
    code = (
        "import json, django; django.setup(); from django.db import connection; connection.ensure_connection(); "
        f"print({expression})"
    )
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    full_env.update(DJANGO_SETTINGS_MODULE="site_config.settings.test", **env)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_prepare_threshold_off_reaches_the_driver_as_none():
    outputs = [
        _on_a_connection("connection.connection.prepare_threshold", DATABASE_PREPARE_THRESHOLD=value)
        for value in ("off", "3")
    ]
    assert outputs == ["None", "3"]


def _connection_parameters(**env: str) -> dict:
    """The libpq parameters a Django connection made with these settings really carries."""
    import json

    return json.loads(_on_a_connection("json.dumps(connection.connection.info.get_parameters())", **env))


def test_database_connections_give_up_on_a_silent_network_by_default():
    """Without these a connection cut without FIN or RST holds a request for ~15 minutes
    (tests/faults/test_network_cut.py shows it over HTTP)."""
    parameters = _connection_parameters()
    assert parameters["tcp_user_timeout"] == "10000"
    assert parameters["keepalives"] == "1"
    assert parameters["keepalives_idle"] == "10"
    assert parameters["connect_timeout"] == "5"


def test_the_network_timeout_is_the_operators_to_change_or_turn_off():
    assert _connection_parameters(DATABASE_NETWORK_TIMEOUT="30")["tcp_user_timeout"] == "30000"
    assert "tcp_user_timeout" not in _connection_parameters(DATABASE_NETWORK_TIMEOUT="0")
    # A value in DATABASE_URL's query string wins over the default.
    url = os.environ.get("DATABASE_URL", "postgres://lectern:lectern@127.0.0.1:5432/lectern")
    with_query = f"{url}{'&' if '?' in url else '?'}tcp_user_timeout=2500"
    assert _connection_parameters(DATABASE_URL=with_query)["tcp_user_timeout"] == "2500"


def test_bad_network_timeouts_are_refused_with_their_names():
    for name, value, message in (
        ("DATABASE_NETWORK_TIMEOUT", "-1", "DATABASE_NETWORK_TIMEOUT must be 0 (off) or seconds"),
        ("REDIS_SOCKET_TIMEOUT", "0", "REDIS_SOCKET_TIMEOUT must be a number of seconds above 0"),
    ):
        result = run_manage(
            "check", DJANGO_SECRET_KEY=GOOD_KEY, DJANGO_ALLOWED_HOSTS="example.org", **{name: value}
        )
        assert result.returncode != 0
        assert message in result.stderr

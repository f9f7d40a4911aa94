"""docker-compose.yml gives operators safe defaults.

Docker cannot run here, so the file is read the way Compose reads it (YAML with merge keys, then
``${VAR:-default}`` / ``${VAR:?message}`` interpolation), and what it would start is checked by
running the project with exactly the environment Compose would give each container.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

WORKER_SERVICES = ("worker-answers", "worker-indexing", "worker-batch", "worker-maintenance")
APP_SERVICES = ("web", *WORKER_SERVICES, "beat")
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class ComposeRefused(Exception):
    """What ``docker compose up`` prints and stops on: a required variable is unset."""


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's variable syntax: ``$$``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` (and the
    forms without a colon, which test only "unset", not "empty")."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        current = environ.get(name)
        missing = current is None or (current == "" and op and op.startswith(":"))
        if op and op.endswith("?") and missing:
            raise ComposeRefused(f"required variable {name} is missing a value: {arg}")
        if op and op.endswith("-") and missing:
            return arg
        return current or ""

    return _VARIABLE.sub(replace, value)


def compose_file() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())  # SafeLoader resolves <<


def service_environment(service: str, environ: dict[str, str]) -> dict[str, str]:
    """A container's environment: values interpolated; a bare ``KEY:`` passes the host's value, if any."""
    result = {}
    for key, value in (compose_file()["services"][service].get("environment") or {}).items():
        if value is None:
            if key in environ:
                result[key] = environ[key]
        else:
            result[key] = interpolate(str(value), environ)
    return result


def published_ports(environ: dict[str, str]) -> dict[str, list[str]]:
    return {
        name: [interpolate(str(port), environ) for port in service.get("ports", [])]
        for name, service in compose_file()["services"].items()
    }


def operator_env(**extra: str) -> dict[str, str]:
    return {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), **extra}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """The project as the container runs it: only the container's environment (plus PATH)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env},  # noqa: S108
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_compose_refuses_to_start_without_a_secret_key():
    with pytest.raises(ComposeRefused, match="DJANGO_SECRET_KEY.*at least 50 characters"):
        service_environment("web", {})
    with pytest.raises(ComposeRefused, match="DJANGO_SECRET_KEY"):
        service_environment("worker-answers", {"DJANGO_SECRET_KEY": ""})  # set but empty is refused too


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_app_container_runs_production_settings_with_debug_off(service):
    env = service_environment(service, operator_env(DJANGO_SETTINGS_MODULE="site_config.settings.dev"))
    assert env["DJANGO_SETTINGS_MODULE"] == "site_config.settings.production"  # not overridable
    assert env.get("DJANGO_DEBUG", "false") == "false"
    result = run(["manage.py", "shell", "-c", "from django.conf import settings; print(settings.DEBUG)"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_published_ports_are_bound_to_loopback_unless_configured():
    ports = published_ports(operator_env())
    assert ports["web"] == ["127.0.0.1:8000:8000"]
    assert ports["db"] == [] and ports["redis"] == []  # never published at all
    assert all(port.startswith("127.0.0.1:") for mapped in ports.values() for port in mapped)
    everywhere = "0.0.0.0"  # noqa: S104 - what an operator opts into, not what we bind
    assert published_ports(operator_env(LECTERN_BIND=everywhere, LECTERN_PORT="80"))["web"] == [
        f"{everywhere}:80:8000"
    ]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_check_deploy_is_clean_with_the_environment_compose_gives(service):
    env = service_environment(service, operator_env())
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_web_container_trusts_no_forwarded_headers_by_itself():
    """uvicorn would rewrite the client address from X-Forwarded-For for its own trusted list;
    only LECTERN_TRUSTED_PROXIES decides that (ai_core/clients.py)."""
    sh, flag, script = shlex.split(interpolate(compose_file()["services"]["web"]["command"], operator_env()))
    assert (sh, flag) == ("sh", "-c")
    uvicorn = script[script.index("uvicorn ") :].split()
    assert "--no-proxy-headers" in uvicorn
    assert service_environment("web", operator_env())["LECTERN_TRUSTED_PROXIES"] == ""


def test_the_image_runs_as_an_unprivileged_user():
    dockerfile = compose_file()["services"]["web"]["build"]["dockerfile_inline"]
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")


def test_the_images_static_files_serve_production_pages(tmp_path: Path):
    """The image runs collectstatic with production settings, whose manifest storage fails every
    page that names a file missing from its manifest; build the same way, then load a page."""
    dockerfile = compose_file()["services"]["web"]["build"]["dockerfile_inline"]
    step = dockerfile[dockerfile.index("RUN DJANGO_SETTINGS_MODULE=site_config.settings.production") :]
    step = step[: step.index("collectstatic")].replace("\\\n", " ")
    build_env = dict(word.split("=", 1) for word in shlex.split(step)[1:] if "=" in word)
    build_env["DJANGO_STATIC_ROOT"] = str(tmp_path / "static")
    built = run(["manage.py", "collectstatic", "--noinput"], build_env)
    assert built.returncode == 0, built.stderr
    # Every file the project's templates name, and the admin's, must resolve through the manifest
    # and be served (by WhiteNoise, with production settings and no DEBUG).
    names = sorted(
        {
            match
            for template in REPO_ROOT.glob("*/templates/**/*.html")
            for match in re.findall(r"{% static ['\"]([^'\"]+)['\"]", template.read_text())
        }
    )
    assert names, "no {% static %} names found in the project's templates"
    probe = (
        "import sys\n"
        "from django.templatetags.static import static\n"
        "from django.test import Client\n"
        "client = Client()\n"
        "for name in sys.argv[1:]:\n"
        "    url = static(name)\n"
        "    print(name, url, client.get(url, HTTP_HOST='localhost', HTTP_X_FORWARDED_PROTO='https').status_code)\n"
    )
    env = {**service_environment("web", operator_env()), "DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    served = run(
        ["-c", f"import django; django.setup(); exec({probe!r})", *names, "wagtailadmin/css/core.css"],
        env,
    )
    assert served.returncode == 0, served.stderr
    lines = [line.split() for line in served.stdout.splitlines() if line.split()[:1] and "/static/" in line]
    assert len(lines) == len(names) + 1, served.stdout
    for name, url, status in lines:
        assert url != f"/static/{name}", f"{name} is not in the manifest (not hashed)"
        assert status == "200", f"{url} answered {status}"


def test_the_workers_together_consume_every_queue_and_beat_runs_once():
    """A queue no container consumes would hold its tasks forever; each worker's queues are
    resolved by the project itself from the environment Compose gives it."""
    services = compose_file()["services"]
    assert [name for name, s in services.items() if " beat " in f" {s.get('command', '')} "] == ["beat"]
    consumed: dict[str, list[str]] = {}
    probe = (
        "from django.conf import settings\n"
        "from site_config.celery_routes import worker_queues_from_settings\n"
        "print(','.join(worker_queues_from_settings(settings.LECTERN_WORKER_WORKLOADS)))\n"
        "print(','.join(q.name for q in settings.CELERY_TASK_QUEUES))\n"
    )
    for service in WORKER_SERVICES:
        assert "-Q" not in services[service]["command"].split()  # queues come from the workloads
        env = service_environment(service, operator_env())
        result = run(["-c", f"import django; django.setup(); exec({probe!r})"], env)
        assert result.returncode == 0, result.stderr
        mine, every = (line.split(",") for line in result.stdout.strip().splitlines()[-2:])
        consumed[service] = mine
    assert set().union(*consumed.values()) == set(every)
    assert consumed["worker-answers"] == ["celery", "celery.visitor"]  # nothing but visitors' answers
    assert "celery.removals" in consumed["worker-maintenance"]  # never behind the indexing backlog
    assert "celery.removals" not in consumed["worker-indexing"]


@pytest.mark.django_db
def test_the_database_server_ends_a_lost_hosts_sessions_within_two_minutes():
    """A worker host lost without a FIN keeps its sessions, and an AI request's lock with them,
    until the server's own keepalives notice (two hours by default, longer than a request lives).
    Compose sets them, each a setting PostgreSQL accepts as written."""
    from django.db import connection, transaction

    command = compose_file()["services"]["db"]["command"]
    assert command[0] == "postgres"
    flags, values = command[1::2], command[2::2]
    assert set(flags) == {"-c"}
    server = dict(value.split("=", 1) for value in values)
    with transaction.atomic(), connection.cursor() as cursor:
        for name, value in server.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])  # raises on a bad name or value
    idle, interval, count = (int(server[f"tcp_keepalives_{part}"]) for part in ("idle", "interval", "count"))
    assert idle + interval * count <= 120

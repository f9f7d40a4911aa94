"""Other apps add sections to AI → Usage dashboard through a Wagtail hook; ai_core imports none of them."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import engines
from wagtail import hooks

from ai_core.admin.dashboard.export import tables
from ai_core.admin.dashboard.sections import HOOK

pytestmark = pytest.mark.django_db
URL = "/admin/ai/dashboard/"
RANGE = {"start": "2025-03-10", "end": "2025-03-12"}


class JobsSection:
    """What another app would register: its own numbers, template, KPI and CSV."""

    name = "jobs"
    template = engines["django"].from_string(
        '<h2>Jobs <a href="{{ exports.jobs }}">CSV</a></h2><p data-jobs>{{ data.waiting }} waiting since {{ data.since }}</p>'
    )
    csv_headers = ["metric", "value"]

    def data(self, *, start: dt.date, end: dt.date) -> SimpleNamespace:
        return SimpleNamespace(waiting=3, since=start.isoformat())

    def kpis(self, data: SimpleNamespace) -> list[tuple[str, str, str]]:
        return [("Jobs waiting", f"{data.waiting:,}", "jobs-waiting")]

    def csv_rows(self, *, start: dt.date, end: dt.date) -> list[list[object]]:
        return [["waiting", 3], ["since", start.isoformat()], ["formula", "=1+1"]]


def test_a_registered_section_adds_its_kpi_table_and_csv(admin_client):
    with hooks.register_temporarily(HOOK, JobsSection):
        html = admin_client.get(URL, RANGE).content.decode()
        export = admin_client.get(URL, {**RANGE, "export": "jobs"})

    assert "<p data-jobs>3 waiting since 2025-03-10</p>" in html
    assert "?start=2025-03-10&amp;end=2025-03-12&amp;export=jobs" in html
    # Its KPI comes after ai_core's own (the last of which is circuit openings).
    assert 'data-kpi="jobs-waiting">3<' in html
    assert html.index('data-kpi="circuit-openings"') < html.index('data-kpi="jobs-waiting"')
    assert export.status_code == 200
    assert 'filename="ai-jobs-2025-03-10-2025-03-12.csv"' in export["Content-Disposition"]
    # The section's cells are neutralised like ai_core's own.
    assert export.content == b"metric,value\r\nwaiting,3\r\nsince,2025-03-10\r\nformula,'=1+1\r\n"


def test_without_the_hook_the_section_is_gone(admin_client):
    html = admin_client.get(URL, RANGE).content.decode()

    assert "data-jobs" not in html
    assert admin_client.get(URL, {**RANGE, "export": "jobs"}).status_code == 404


def test_a_section_cannot_take_the_name_of_one_of_ai_cores_tables():
    class Clash(JobsSection):
        name = "latency"

    with hooks.register_temporarily(HOOK, Clash), pytest.raises(ImproperlyConfigured, match="latency"):
        tables()

"""AI → Usage dashboard in the Wagtail admin: what a manager sees, exports and is refused."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ai_core.admin.dashboard.export import tables
from ai_core.models import AIRequest, LLMUsageLog
from ai_core.resilience.runtime import breaker_for
from review.models import ReviewItem
from tests.ai_core.selectors.usage_rows import DAY, ai_request, at, usage_row, vote
from tests.content.factories import ArticlePageFactory

pytestmark = pytest.mark.django_db
URL = "/admin/ai/dashboard/"
D = dt.timedelta(days=1)
RANGE = {"start": DAY.isoformat(), "end": (DAY + 2 * D).isoformat()}


@pytest.fixture
def viewer(django_user_model):
    """A member of the group the data migration creates (re-created: transactional tests flush it)."""
    group, _ = Group.objects.get_or_create(name="AI dashboard viewers")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        Permission.objects.get(content_type__app_label="ai_core", codename="view_ai_dashboard"),
    )
    user = django_user_model.objects.create_user("mia", "mia@example.com", "pw-mia-12345")
    user.groups.add(group)
    return user


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user("eddie", "eddie@example.com", "pw-eddie-12345")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def usage(section, django_user_model):
    """Two days with calls around a quiet one: $0.40 on day 1, nothing on day 2, $0.05 on day 3."""
    page = ArticlePageFactory(parent=section, title="Refund terms", slug="refunds")
    alice = django_user_model.objects.create_user("alice")
    asked = ai_request(prompt_key="rag_answer", user=alice, page_id=page.pk)
    usage_row(request=asked, outcome=LLMUsageLog.Outcome.ERROR, error_code="overloaded", latency_ms=50)
    usage_row(request=asked, cost="0.30", model="claude-haiku-4-5", latency_ms=800, input_tokens=1000,
              output_tokens=200)  # fmt: skip
    anonymous = ai_request(prompt_key="rag_answer", day=DAY + 2 * D)
    usage_row(request=anonymous, day=DAY + 2 * D, cost="0.05", latency_ms=400, input_tokens=300)
    usage_row(cost="0.10", provider="local", model="minilm", subject_type="page", subject_id=str(page.pk))
    ai_request(status=AIRequest.Status.FAILED, error_code="unavailable")
    for index, up in enumerate((True, True, True, False)):
        vote(request=ai_request(prompt_key="rag_answer", prompt_version=3), up=up, session=f"s{index}")
    held = ReviewItem.objects.create(
        ai_request=ai_request(status=AIRequest.Status.DONE),
        status=ReviewItem.Status.APPROVED,
        decided_at=at(DAY, 14),
    )
    ReviewItem.objects.filter(pk=held.pk).update(created_at=at(DAY, 12))
    return page


def test_a_superuser_sees_costs_charts_and_quality_for_the_chosen_days(admin_client, usage):
    html = admin_client.get(URL, RANGE).content.decode()

    assert 'data-kpi="cost">$0.4500<' in html
    assert 'data-kpi="requests">8<' in html
    assert 'data-kpi="fallbacks">1<' in html
    # The quiet middle day is a row of zeros, not a missing row.
    assert 'Tue 11 Mar 2025</td><td class="num">0</td><td class="num">$0.0000<' in html
    # Chart: one bar per day, each with its exact value on hover, and the total in the caption.
    assert html.count("<rect ") >= 6
    assert "<title>2025-03-10: $0.4000</title>" in html
    assert "<title>2025-03-11: $0.0000</title>" in html
    assert "Cost per day (USD): <strong>$0.4500 in total</strong>" in html
    # Breakdowns by page (title looked up), by user (anonymous as one line) and latency.
    assert f"Refund terms (#{usage.pk})" in html
    assert "(anonymous visitors)" in html
    assert '<td><code>rag_answer</code></td><td class="num">2</td><td class="num">600 ms</td>' in html
    assert (
        '<td><code>rag_answer</code></td><td>v3</td><td class="num">3</td><td class="num">1</td><td class="num">75.0 %</td>'
        in html
    )
    assert "<code>unavailable</code>" in html and "<code>overloaded</code>" in html
    assert 'data-review="median">2 h 0 min<' in html


def test_circuit_openings_from_a_tripped_breaker_appear_on_the_dashboard(admin_client, settings):
    breaker = breaker_for("anthropic", "claude-sonnet-4-6")
    for _ in range(settings.AI_CORE["CIRCUIT_BREAKER"]["THRESHOLD"]):
        breaker.record_failure()

    html = admin_client.get(URL).content.decode()  # default range: the last seven days

    assert 'data-kpi="circuit-openings">1<' in html
    assert '<td><code>anthropic:claude-sonnet-4-6</code></td><td class="num">1</td>' in html


def test_the_dashboard_is_in_the_ai_menu_for_viewers_only(client, viewer, editor):
    client.force_login(viewer)
    assert client.get(URL).status_code == 200
    assert "Usage dashboard" in client.get("/admin/").content.decode()

    client.force_login(editor)
    refused = client.get(URL)
    assert refused.status_code == 403
    assert "AI dashboard viewers" in refused.content.decode()  # says how to get access
    assert client.get(URL, {"export": "cost_by_day"}).status_code == 403
    assert "Usage dashboard" not in client.get("/admin/").content.decode()


def test_a_migration_creates_the_viewers_group_with_admin_access_and_the_dashboard_permission():
    group = Group.objects.get(name="AI dashboard viewers")
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert {("wagtailadmin", "access_admin"), ("ai_core", "view_ai_dashboard")} <= codenames


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2025-03-12", "end": "2025-03-10"}, "The start date must be on or before the end date."),
        ({"start": "2024-01-01", "end": "2025-03-10"}, "Choose a range of at most 366 days."),
        ({"start": "2025-02-30"}, "Enter a valid date."),
        ({"end": "9999-12-31"}, "The end date cannot be in the future."),
    ],
)
def test_a_bad_range_is_explained_in_the_form(admin_client, params, message):
    response = admin_client.get(URL, params)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "data-kpis" not in html  # no numbers for a range that was not understood


def test_each_table_exports_as_csv_for_the_same_range(admin_client, usage):
    response = admin_client.get(URL, {**RANGE, "export": "cost_by_day"})

    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="ai-cost_by_day-2025-03-10-2025-03-12.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["day", "calls", "cost_usd"]
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        ("2025-03-10", "3", "0.40000000"),
        ("2025-03-11", "0", "0"),
        ("2025-03-12", "1", "0.05000000"),
    ]
    feedback = admin_client.get(URL, {**RANGE, "export": "feedback"}).content.decode()
    assert "rag_answer,3,3,1,0.75" in feedback
    assert admin_client.get(URL, {**RANGE, "export": "nonsense"}).status_code == 404
    bad = admin_client.get(URL, {"start": "2025-03-12", "end": "2025-03-10", "export": "cost_by_day"})
    assert bad.status_code == 400
    assert "start date must be on or before" in bad.content.decode()


@pytest.mark.django_db
def test_free_calls_export_as_a_plain_zero_cost_not_scientific_notation(admin_client):
    usage_row(cost="0", provider="local", model="extractive-minilm")  # the offline provider costs nothing
    rows = list(
        csv.reader(io.StringIO(admin_client.get(URL, {**RANGE, "export": "cost_by_day"}).content.decode()))
    )
    assert (rows[1][0], rows[1][1], rows[1][2]) == (DAY.isoformat(), "1", "0.00000000")


def test_every_table_on_the_page_has_a_working_csv_link(admin_client, usage):
    html = admin_client.get(URL, RANGE).content.decode()
    for table in tables():
        link = f"{URL}?start=2025-03-10&amp;end=2025-03-12&amp;export={table}"
        assert link in html, table
        response = admin_client.get(URL, {**RANGE, "export": table})
        assert response.status_code == 200
        assert response.content.decode().splitlines()[0] == ",".join(tables()[table].headers)
    review = admin_client.get(URL, {**RANGE, "export": "review"}).content.decode()
    assert "median_time_to_decision_s,7200" in review


def test_csv_cells_that_spreadsheets_would_run_as_formulas_are_neutralised(
    admin_client, section, django_user_model
):
    page = ArticlePageFactory(parent=section, title="+SUM(A1:A9)", slug="formula")
    mallory = django_user_model.objects.create_user("@mallory")
    request = ai_request(prompt_key='=HYPERLINK("http://x")', user=mallory, page_id=page.pk)
    usage_row(request=request, cost="0.01")

    def cells(table: str) -> list[list[str]]:
        return list(
            csv.reader(io.StringIO(admin_client.get(URL, {**RANGE, "export": table}).content.decode()))
        )

    assert cells("cost_by_prompt_key")[1][0] == '\'=HYPERLINK("http://x")'
    assert cells("cost_by_user")[1][1] == "'@mallory"
    assert cells("cost_by_page")[1][1] == f"'+SUM(A1:A9) (#{page.pk})"


def _queries_for_page(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, RANGE).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_number_of_queries_however_many_rows_there_are(
    admin_client, usage, django_user_model, django_assert_max_num_queries
):
    admin_client.get(URL, RANGE)  # warm per-process caches (content types, site root)
    few = _queries_for_page(admin_client)

    for index in range(40):
        user = django_user_model.objects.create_user(f"user{index}")
        request = ai_request(
            prompt_key=f"key_{index % 7}", user=user, page_id=usage.pk, day=DAY + (index % 3) * D
        )
        usage_row(request=request, day=DAY + (index % 3) * D, cost="0.01", latency_ms=index * 10)
        usage_row(
            request=request,
            day=DAY + (index % 3) * D,
            outcome=LLMUsageLog.Outcome.ERROR,
            error_code="timeout",
        )
        vote(request=request, up=index % 2 == 0, session=f"bulk{index}")

    assert _queries_for_page(admin_client) == few
    with django_assert_max_num_queries(40):
        admin_client.get(URL, RANGE)


def test_the_default_range_is_the_last_seven_days(admin_client):
    usage_row(day=timezone.localdate() - 6 * D, cost="0.07")
    usage_row(day=timezone.localdate() - 7 * D, cost="5")

    html = admin_client.get(URL).content.decode()

    assert 'data-kpi="cost">$0.0700<' in html
    assert "7 days" in html

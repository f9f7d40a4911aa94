"""The suite stays complete: every URL pattern this project serves is fed hostile input somewhere.

Admin endpoints are found and swept by ``test_admin_endpoints``; every public endpoint needs a
dedicated test, listed here. A new public endpoint fails ``test_every_project_endpoint_is_covered``
until a test for it is written and named below.
"""

from __future__ import annotations

import pytest

from .endpoints import project_endpoints
from .payloads import MALFORMED_JSON
from .probe import Prober, abuse_client

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]

PUBLIC_COVERAGE = {
    "ai_api:ask": "test_json_api.py::test_ask_*",
    "ai_api:request_create": "test_json_api.py::test_submit_*",
    "ai_api:request_detail": "test_json_api.py::test_unknown_malformed_and_other_peoples_ids_are_404",
    "ai_api:request_stream": "test_json_api.py::test_detail_and_stream_ignore_abusive_query_strings_and_headers",
    "ai_api:request_cancel": "test_json_api.py::test_cancel_of_a_finished_request_changes_nothing_and_body_is_ignored",
    "ai_api:request_feedback": "test_json_api.py::test_feedback_*",
    "ai_api:csrf": "test_json_api.py::test_csrf_and_healthz_only_answer_get",
    "healthz": "test_json_api.py::test_csrf_and_healthz_only_answer_get",
    "healthz_live": "test_coverage.py::test_liveness_and_metrics_refuse_hostile_requests",
    "metrics": "test_coverage.py::test_liveness_and_metrics_refuse_hostile_requests",
    "ask": "test_ask_pages.py",
    "ask_result": "test_ask_pages.py::test_the_result_page_is_404_for_unknown_malformed_and_other_peoples_ids",
}


def test_every_project_endpoint_is_covered():
    endpoints = project_endpoints()
    public = {e.name for e in endpoints if not e.is_admin}
    uncovered = sorted(public - set(PUBLIC_COVERAGE))
    assert not uncovered, f"public endpoints with no abuse test: {uncovered} (add one, then list it here)"
    gone = sorted(set(PUBLIC_COVERAGE) - public)
    assert not gone, f"listed as covered but no longer routed: {gone}"
    # The admin sweep covers these by discovery; the project's own admin views must be among them.
    admin = {e.name for e in endpoints if e.is_admin}
    assert {"ai_routing:index", "content_page_index_status", "review_reviewitem_modeladmin_index"} <= admin


def test_liveness_and_metrics_refuse_hostile_requests(world, settings):
    settings.LECTERN_METRICS_TOKEN = "metrics-token-for-tests-0123456789"
    live = Prober("healthz_live")
    for client in (world.anon_a, abuse_client()):
        live.send(client, "GET", "/healthz/live", label="hostile query", expect=[200], QUERY_STRING="%FF=%00")
        live.send(client, "GET", "/healthz/live", data=MALFORMED_JSON["deeply nested arrays"],
                  label="GET with a body", expect=[200])  # fmt: skip
        for method in ["POST", "PUT", "DELETE"]:
            live.send(client, method, "/healthz/live", label="other method", expect=[200, 403, 405])
    live.check()

    probe = Prober("metrics")
    bad_auth = [
        "Bearer", "Bearer ", "Bearer wrong", "Bearer " + "x" * 10_000, "bearer \u00ff\u00fe", "Basic YTpi",
        "Bearer metrics-token-for-tests-0123456789\x00", "\u00ff", "Bearer <script>alert(1)</script>",
    ]  # fmt: skip
    for header in bad_auth:
        response = probe.send(abuse_client(), "GET", "/metrics", label=f"Authorization {header[:30]!r}",
                              expect=[401, 403], json_error=True, HTTP_AUTHORIZATION=header)  # fmt: skip
        if b"lectern_" in response.content:
            probe.fail(f"Authorization {header[:30]!r}: metrics served without a valid token")
    for who, client in [("visitor", world.anon_a), ("user", world.user_a), ("reviewer", world.reviewer)]:
        probe.send(client, "GET", "/metrics", label=f"{who} session", expect=[401, 403], json_error=True)
    probe.send(abuse_client(), "GET", "/metrics", label="valid token, hostile query", expect=[200],
               QUERY_STRING="name[]=%FF&format=%3Cscript%3E",
               HTTP_AUTHORIZATION="Bearer metrics-token-for-tests-0123456789")  # fmt: skip
    for method in ["POST", "PUT", "DELETE"]:
        probe.send(abuse_client(), method, "/metrics", label="other method", expect=[403, 405])
    probe.check()

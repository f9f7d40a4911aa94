"""The ``make bench`` HTTP table is only as right as its reading of wrk's report.

The samples are wrk 4.1 output captured from ``bench/http_throughput.py`` runs (the ``status``
lines come from its Lua ``done`` hook). wrk itself never runs here.
"""

import pytest

from bench.http_throughput import summarize
from bench.wrk import WrkError, WrkRequest, lua_script, parse_wrk_output

# A poll run while PostgreSQL was refusing connections (before DATABASE_POOL): 24 answers were 500.
POLL_WITH_ERRORS = """\
Running 3s test @ http://127.0.0.1:43951/api/ai/requests/5e61ece3-d975-497a-adb4-30cc39b48ba7/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   253.95ms  152.15ms 806.69ms   84.29%
    Req/Sec    33.52     18.65    80.00     73.08%
  Latency Distribution
     50%  210.85ms
     75%  306.31ms
     90%  443.45ms
     99%  763.59ms
  197 requests in 3.10s, 119.09KB read
  Non-2xx or 3xx responses: 24
Requests/sec:     63.61
Transfer/sec:     38.45KB
status 200 173
status 500 24
"""

# A bare-view run, with microsecond and second units and a socket error line (wrk.c's format).
# wrk pads a value in seconds to the column width: "1.20s " keeps its trailing space.
BARE_FAST = """\
Running 10s test @ http://127.0.0.1:48367/healthz/live
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  401.00us   1.20s    94.57%
    Req/Sec     2.76k   799.80     4.60k    73.47%
  Latency Distribution
     50%  812.00us
     75%    1.01ms
     90%    1.44ms
     99%    1.20s \n  55012 requests in 10.00s, 19.80MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
Requests/sec:   5501.20
Transfer/sec:      1.98MB
status 200 55012
"""


def test_parser_reads_rate_percentiles_and_error_counts():
    result = parse_wrk_output(POLL_WITH_ERRORS)
    assert result.requests == 197
    assert result.duration_s == pytest.approx(3.10)
    assert result.requests_per_s == pytest.approx(63.61)
    assert result.latency_ms == {50: 210.85, 75: 306.31, 90: 443.45, 99: 763.59}
    assert result.non_2xx_3xx == 24
    assert result.statuses == {200: 173, 500: 24}
    assert result.unexpected(200) == 24


def test_parser_converts_microseconds_and_seconds_and_counts_socket_errors():
    result = parse_wrk_output(BARE_FAST)
    assert result.latency_ms[50] == pytest.approx(0.812)
    assert result.latency_ms[90] == pytest.approx(1.44)
    assert result.latency_ms[99] == pytest.approx(1200.0)
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 3}
    assert result.errors == 5
    assert result.non_2xx_3xx == 0


def test_a_200_where_202_was_expected_counts_as_unexpected_though_wrk_calls_it_success():
    result = parse_wrk_output(POLL_WITH_ERRORS.replace("status 200 173", "status 202 170\nstatus 200 3"))
    assert result.unexpected(202) == 3 + 24


def test_output_without_latency_distribution_is_refused():
    without = POLL_WITH_ERRORS.split("  Latency Distribution")[0] + "  197 requests in 3.10s, 1KB read\n"
    with pytest.raises(WrkError, match="--latency"):
        parse_wrk_output(without + "Requests/sec:     63.61\n")
    with pytest.raises(WrkError, match="no request totals"):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_table_reports_ratios_against_the_bare_view():
    bare = parse_wrk_output(BARE_FAST)
    poll = parse_wrk_output(POLL_WITH_ERRORS)
    endpoints = [
        WrkRequest(name="bare", path="/healthz/live"),
        WrkRequest(name="poll", path="/api/ai/requests/x/"),
    ]
    table = summarize(endpoints, {"bare": [bare, bare], "poll": [poll, poll]}, title="t").splitlines()
    poll_row = [cell.strip() for cell in table[-1].split("|")[1:-1]]
    # endpoint | req/s | p50 | p90 | p99 | non-2xx | unexpected | socket errors | req/s ratio | p50 ratio
    assert poll_row[1:6] == ["64", "210.85", "443.45", "763.59", "48"]
    assert poll_row[6] == "48"
    assert poll_row[8] == f"{63.61 / 5501.20:.2f}x"
    assert poll_row[9] == f"{210.85 / 0.812:.2f}x"
    bare_row = [cell.strip() for cell in table[-2].split("|")[1:-1]]
    assert bare_row[7] == "10"  # socket errors over both runs
    assert bare_row[8:] == ["1.00x", "1.00x"]


def test_lua_script_sends_the_body_and_headers_json_escaped():
    script = lua_script(
        WrkRequest(
            name="submit", path="/api/ai/requests/", method="POST", body='{"text": "a \\"quote\\""}',
            headers={"X-CSRFToken": "tok"},
        )
    )  # fmt: skip
    assert 'wrk.method = "POST"' in script
    assert 'wrk.body = "{\\"text\\": \\"a \\\\\\"quote\\\\\\"\\"}"' in script
    assert 'wrk.headers["X-CSRFToken"] = "tok"' in script

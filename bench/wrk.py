"""Drive ``wrk`` (Debian's package, installed by ``scripts/bench-tools.sh``) and read its report.

Pure Python with no Django import, so the parser can be tested on captured output
(``tests/site_config/test_bench_wrk.py``) without running a load test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# wrk prints durations with these units (``stats.c``/``units.c``: us, ms, s, then m and h).
_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed something this parser does not understand."""


@dataclass(kw_only=True)
class WrkRequest:
    """One endpoint under load: what every connection sends, and the status it must get back."""

    name: str
    path: str
    method: str = "GET"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    expect_status: int = 200


@dataclass(kw_only=True)
class WrkResult:
    requests: int
    duration_s: float
    requests_per_s: float
    latency_ms: dict[int, float]  # percentile -> milliseconds, from ``--latency``
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)  # from the Lua ``response`` hook

    def unexpected(self, expect_status: int) -> int:
        """Responses other than ``expect_status``: wrk's own non-2xx count misses a 200 for a 202."""
        if not self.statuses:
            return self.non_2xx_3xx
        return sum(count for status, count in self.statuses.items() if status != expect_status)

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if not match:
        raise WrkError(f"unrecognised wrk duration {value!r}")
    return float(match.group(1)) * _TIME_UNITS_MS[match.group(2)]


def parse_wrk_output(text: str) -> WrkResult:
    """Read wrk 4.x's text report (run with ``--latency``), plus the ``status`` lines our Lua prints."""
    totals = re.search(r"^\s*(\d+) requests in ([\d.]+\w+),", text, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    if not totals or not rate:
        raise WrkError(f"no request totals in wrk output:\n{text}")
    distribution = text.split("Latency Distribution", 1)
    if len(distribution) != 2:
        raise WrkError(f"no latency distribution in wrk output (was --latency given?):\n{text}")
    latency = {
        int(share): _ms(value)
        for share, value in re.findall(r"^\s+(\d+)%\s+(\S+)[ \t]*$", distribution[1], re.MULTILINE)
    }
    if not {50, 90, 99} <= latency.keys():
        raise WrkError(f"latency distribution lacks p50/p90/p99 ({sorted(latency)}):\n{text}")
    non_2xx = re.search(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", text, re.MULTILINE)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text, re.MULTILINE
    )
    statuses = {int(code): int(n) for code, n in re.findall(r"^status (\d+) (\d+)$", text, re.MULTILINE)}
    return WrkResult(
        requests=int(totals.group(1)),
        duration_s=_ms(totals.group(2)) / 1000,
        requests_per_s=float(rate.group(1)),
        latency_ms=latency,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
        if errors
        else {},
        statuses=statuses,
    )


def lua_script(request: WrkRequest) -> str:
    """A wrk script sending ``request`` on every connection and counting response statuses.

    Every thread has its own Lua state, so ``done`` (run once, after the threads stop) collects each
    thread's table through ``thread:get``. The same hook runs for every endpoint, so its small cost
    does not skew the comparison.
    """
    headers = "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in request.headers.items())
    return f"""wrk.method = {json.dumps(request.method)}
wrk.body = {json.dumps(request.body)}
{headers}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {{}} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {{}}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("status %d %d\\n", status, n)) end
end
"""


def run_wrk(
    *, base_url: str, request: WrkRequest, threads: int, connections: int, duration_s: int, script_dir: Path
) -> tuple[WrkResult, str]:
    """One ``wrk --latency`` run; returns the parsed result and the raw report."""
    binary = shutil.which("wrk")
    if binary is None:
        raise WrkError("wrk is not installed: run scripts/bench-tools.sh (Debian's 'wrk' package)")
    script = script_dir / f"{request.name}.lua"
    script.write_text(lua_script(request))
    command = [
        binary, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency", "--timeout", "10s",
        "-s", str(script), f"{base_url}{request.path}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    if done.returncode != 0:
        raise WrkError(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return parse_wrk_output(done.stdout), done.stdout

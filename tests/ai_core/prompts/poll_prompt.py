"""Run as a separate process by test_live_prompt_cache: poll get_prompt and report what it sees.

Prints one JSON line per change of version: {"at": unix time, "version": n, "loads": db loads}.
Exits when it sees ``--until`` or after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import django


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("key")
    parser.add_argument("--until", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    django.setup()

    from django.db import connection

    from ai_core.prompts.registry import get_prompt

    loads = 0

    def count(execute, sql, params, many, context):
        nonlocal loads
        if "ai_core_prompttemplate" in sql:
            loads += 1
        return execute(sql, params, many, context)

    seen = None
    deadline = time.monotonic() + args.timeout
    with connection.execute_wrapper(count):
        while time.monotonic() < deadline:
            version = get_prompt(args.key).version
            if version != seen:
                seen = version
                print(json.dumps({"at": time.time(), "version": version, "loads": loads}), flush=True)
                if version == args.until:
                    return 0
            time.sleep(0.01)
    print(json.dumps({"at": time.time(), "version": seen, "loads": loads, "timeout": True}), flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())

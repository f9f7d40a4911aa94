"""Poll a /healthz URL until it answers 200 or the deadline passes; print the last JSON body."""

import json
import sys
import time
import urllib.error
import urllib.request


def main(url: str, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    body = '{"status": "web server not answering"}'
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL from our script
                print(response.read().decode())
                return 0
        except urllib.error.HTTPError as err:
            body = err.read().decode()
        except OSError:
            pass
        time.sleep(1)
    try:
        body = json.dumps(json.loads(body).get("down", body))
    except ValueError:
        pass
    print(f"not healthy after {timeout_s:.0f}s: {body}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 60))

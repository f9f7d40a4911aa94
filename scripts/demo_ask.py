"""Ask the running demo site a question as a visitor would (HTTP API) and print the answer with its
sources: ``make demo`` uses it to show an answer cited to a page of a demo PDF.

    python scripts/demo_ask.py http://127.0.0.1:8000 "How much does the payroll add-on cost per employee?" 180

Waits (asking again every 20 s, up to the timeout) until an answer cites a document: the worker
indexes the demo documents in the background after start. Exits 1 if none did.
"""

import sys
import time

import httpx

FINISHED = {"done", "failed", "cancelled", "awaiting_review"}


def ask(client: httpx.Client, question: str) -> dict:
    csrf = client.get("/api/ai/csrf/").json()["csrf_token"]
    response = client.post("/api/ai/ask/", json={"question": question}, headers={"X-CSRFToken": csrf})
    response.raise_for_status()
    poll_url = response.json()["poll_url"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        body = client.get(poll_url).json()
        if body["status"] in FINISHED:
            return body
        time.sleep(1)
    return {"status": "timeout", "result": "", "citations": []}


def main(base_url: str, question: str, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base_url, timeout=30) as client:
        while True:
            try:
                answer = ask(client, question)
            except httpx.HTTPError as err:
                answer = {"status": f"error: {err}", "result": "", "citations": []}
            cited = [c for c in answer.get("citations") or [] if "/documents/" in c.get("url", "")]
            if cited or time.monotonic() > deadline:
                break
            time.sleep(20)
    print(f"Q: {question}")
    print(f"A ({answer['status']}): {answer.get('result') or ''}")
    for citation in answer.get("citations") or []:
        print(f"   [{citation['number']}] {citation['title']} -> {base_url}{citation['url']}")
    return 0 if cited else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 180))

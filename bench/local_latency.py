"""p50/p95 of warm requests through the local API (run by `make bench-local` inside the local stack).

Authorizer + invoke function + Bedrock stand-in, over loopback, one keep-alive connection, bounded count.
Prints a JSON line; bench.py folds it into its table.
"""

from __future__ import annotations

import json
import os
import sys
import time

import requests

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))


def main() -> int:
    url, token = os.environ["API_URL"], os.environ["API_TOKEN"]
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    body = json.dumps({"prompt": "hello from the benchmark", "maxTokens": 64})
    timings = []
    with requests.Session() as session:
        for _ in range(20):  # warm the workers and the connection
            session.post(f"{url}/invoke", data=body, headers=headers, timeout=10).raise_for_status()
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = session.post(f"{url}/invoke", data=body, headers=headers, timeout=10)
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    timings.sort()
    result = {
        "requests": REQUESTS,
        "p50_ms": round(timings[len(timings) // 2], 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
    }
    print(json.dumps(result))
    out = os.environ.get("BENCH_E2E_OUT")
    if out:
        with open(out, "w") as handle:
            json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())

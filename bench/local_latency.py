"""p50/p95 of warm requests through the local API (run by `make bench-local` inside the local stack).

Authorizer + invoke function + Bedrock stand-in, over loopback, one keep-alive connection, bounded count.
Then embeddings: 1 input vs EMBED_INPUTS inputs on Titan (one InvokeModel per text, run concurrently by the
gateway); with the stand-in started with STANDIN_EMBED_DELAY_MS, this shows N inputs cost about one call.
Prints a JSON line; bench.py folds it into its table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
EMBED_REQUESTS = 10
EMBED_INPUTS = 16


def p50(session: requests.Session, url: str, body: str, headers: dict[str, str], count: int) -> float:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        session.post(url, data=body, headers=headers, timeout=30).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)[len(timings) // 2]


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
        keys = str(Path(__file__).resolve().parents[1] / "scripts" / "keys.py")
        name = f"bench-{int(time.time())}"
        create = [keys, "--local", "--json", "create", name, "--rpm", "100000", "--monthly-tokens", "1000000000"]
        created = subprocess.run([sys.executable, *create], capture_output=True, text=True, check=True)
        managed_token = json.loads(created.stdout)["token"]
        managed = {**headers, "Authorization": f"Bearer {managed_token}"}
        p50(session, f"{url}/invoke", body, managed, 20)  # warm: its policy cached, its counters created
        managed_ms = p50(session, f"{url}/invoke", body, managed, REQUESTS)
        embeddings_url = f"{url}/v1/embeddings"
        one = json.dumps({"model": "amazon.titan-embed-text-v2:0", "input": "one text to embed"})
        many = json.dumps(
            {"model": "amazon.titan-embed-text-v2:0", "input": [f"text {i}" for i in range(EMBED_INPUTS)]}
        )
        p50(session, embeddings_url, many, headers, 2)  # warm the embedding pool's threads and connections
        one_ms = p50(session, embeddings_url, one, headers, EMBED_REQUESTS)
        many_ms = p50(session, embeddings_url, many, headers, EMBED_REQUESTS)
    timings.sort()
    result = {
        "requests": REQUESTS,
        "p50_ms": round(timings[len(timings) // 2], 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "managed_p50_ms": round(managed_ms, 2),
        "embeddings": {
            "delay_ms": float(os.environ.get("STANDIN_EMBED_DELAY_MS", "0")),
            "inputs": EMBED_INPUTS,
            "one_p50_ms": round(one_ms, 1),
            "many_p50_ms": round(many_ms, 1),
            "ratio": round(many_ms / one_ms, 2),
        },
    }
    print(json.dumps(result))
    out = os.environ.get("BENCH_E2E_OUT")
    if out:
        with open(out, "w") as handle:
            json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())

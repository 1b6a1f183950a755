"""Load check (make load): 2,000 POST /invoke at concurrency 20 through the local Docker-free API, loopback only.

Prints throughput and p50/p95/p99, and the warm workers' memory before and after. Bounded in count and time.
Exits 1 on any error, any lost response, a new worker appearing after warm-up, or a worker growing > 5 MB.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

TOTAL = int(os.environ.get("LOAD_REQUESTS", "2000"))
CONCURRENCY = int(os.environ.get("LOAD_CONCURRENCY", "20"))
TIME_LIMIT = 180.0  # seconds: the run stops sending after this, whatever is left
GROWTH_LIMIT_MB = 5.0


def workers(api_pid: int) -> dict[int, float]:
    """RSS in MB of every lambda_worker.py process under the API process."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = {}, [api_pid]
    while stack:
        pid = stack.pop()
        for child in children.get(pid, []):
            stack.append(child)
            try:
                if b"lambda_worker.py" in Path(f"/proc/{child}/cmdline").read_bytes():
                    status = Path(f"/proc/{child}/status").read_text()
                    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
                    found[child] = rss_kb / 1024
            except (OSError, StopIteration):
                continue
    return found


def run(url: str, token: str, count: int) -> tuple[list[float], int, float]:
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    local = threading.local()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_LIMIT

    def one(i: int) -> None:
        nonlocal errors
        if time.monotonic() > deadline:
            return
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = json.dumps({"prompt": f"load request {i}", "maxTokens": 16})
        started = time.perf_counter()
        try:
            response = session.post(f"{url}/invoke", data=body, headers=headers, timeout=30)
            ok = response.status_code == 200 and response.json()["output"] == f"echo: load request {i}"
        except (requests.RequestException, ValueError, KeyError):
            ok = False
        with lock:
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(count)))
    return latencies, errors, time.perf_counter() - started


def main() -> int:
    url, token, api_pid = os.environ["API_URL"], os.environ["API_TOKEN"], int(os.environ["LOCAL_API_PID"])
    run(url, token, CONCURRENCY * 10)  # warm-up: every worker the load needs is started now
    before = workers(api_pid)
    latencies, errors, seconds = run(url, token, TOTAL)
    after = workers(api_pid)
    latencies.sort()
    lost = TOTAL - len(latencies)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else float("nan")

    growth = {pid: after[pid] - rss for pid, rss in before.items() if pid in after}
    print(
        f"requests {TOTAL}, concurrency {CONCURRENCY}: errors {errors}, lost {lost}, "
        f"{len(latencies) / seconds:.0f} req/s, p50 {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms, p99 {pct(0.99):.1f} ms"
    )
    print(
        f"warm workers: {len(before)} before, {len(after)} after; RSS before {sum(before.values()):.1f} MB, after "
        f"{sum(after.values()):.1f} MB; largest growth of one worker {max(growth.values(), default=0):.2f} MB"
    )
    problems = []
    if errors or lost:
        problems.append(f"{errors} errors, {lost} lost responses")
    if set(after) != set(before):
        problems.append("workers changed during the run (a crash or a timeout)")
    if max(growth.values(), default=0) > GROWTH_LIMIT_MB:
        problems.append(f"a worker grew more than {GROWTH_LIMIT_MB} MB")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: cold start, warm per-request time, SSM calls and package size, each function vs a bare baseline.

Prints one table and writes the same figures to bench/results.json. BENCH_FAST=1 (CI) runs fewer repetitions:
the numbers are then a smoke check, not a measurement. Targets are printed beside the figures; nothing fails on
them (benchmarks measure, tests assert).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FAST = os.environ.get("BENCH_FAST") == "1"
COLD_RUNS = 3 if FAST else 15
WARM_CALLS = 500 if FAST else 5000
WARM_RUNS = 1 if FAST else 3
FUNCTIONS = ("baseline", "authorizer", "authorizer-managed", "invoke", "invoke-tools", "invoke-managed")
BUILD = {"authorizer": "AuthorizerFunction", "invoke": "InvokeFunction"}
# Same package and cold start as their function: only the per-request time differs.
WARM_ONLY = {"invoke-tools", "invoke-managed", "authorizer-managed"}


def measure(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "measure.py"), *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def package_size(function: str) -> tuple[float, float]:
    folder = ROOT / ".aws-sam" / "build" / BUILD[function]
    if not folder.exists():
        return float("nan"), float("nan")
    files = [p for p in folder.rglob("*") if p.is_file()]
    unzipped = sum(p.stat().st_size for p in files)
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(folder))
        zipped = handle.tell()
    return unzipped / 1e6, zipped / 1e6


def main() -> int:
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "fast": FAST,
        "functions": {},
    }
    print(f"==> cold init: {COLD_RUNS} fresh processes per function, interleaved", file=sys.stderr, flush=True)
    colds: dict[str, list[float]] = {f: [] for f in FUNCTIONS}
    for _ in range(COLD_RUNS):  # interleaved, so drift in machine load hits every function alike
        for function in FUNCTIONS:
            if function not in WARM_ONLY:
                colds[function].append(measure("cold", function)["init_ms"])
    for function in FUNCTIONS:
        print(f"==> {function}: warm {WARM_RUNS}x{WARM_CALLS} calls", file=sys.stderr, flush=True)
        cold = colds[function]
        warm = [measure("warm", function, str(WARM_CALLS)) for _ in range(WARM_RUNS)]
        entry: dict[str, Any] = {
            "cold_init_ms": round(statistics.median(cold), 1) if cold else None,
            "warm_p50_us": round(statistics.median(w["p50_us"] for w in warm), 1),
            "warm_p99_us": round(statistics.median(w["p99_us"] for w in warm), 1),
        }
        if function in BUILD:
            entry["package_mb"], entry["package_zip_mb"] = (round(v, 2) for v in package_size(function))
        results["functions"][function] = entry
    calls = measure("ssm-calls", "authorizer", "10000")
    results["ssm_get_parameter_per_10000_requests"] = calls["get_parameter_calls"]
    results["dynamodb_calls_per_request"] = {
        f: measure("dynamodb-calls", f, "200")["dynamodb_calls_per_request"]
        for f in ("authorizer", "authorizer-managed", "invoke", "invoke-managed")
    }
    e2e = os.environ.get("BENCH_E2E_OUT")
    if e2e and Path(e2e).exists():
        results["local_e2e"] = json.loads(Path(e2e).read_text())

    base = results["functions"]["baseline"]
    for function in FUNCTIONS[1:]:
        entry = results["functions"][function]
        if entry["cold_init_ms"] is not None:
            entry["cold_ratio"] = round(entry["cold_init_ms"] / base["cold_init_ms"], 2)
        entry["warm_ratio"] = round(entry["warm_p50_us"] / base["warm_p50_us"], 2)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


def table(results: dict[str, Any]) -> str:
    f = results["functions"]
    rows = [
        "| function | cold init | vs baseline | warm p50 | warm p99 | vs baseline p50 | package unzipped / zip |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in FUNCTIONS:
        e = f[name]
        if e["cold_init_ms"] is None:
            rows.append(
                f"| {name} | (same package) | - | {e['warm_p50_us']} µs | {e['warm_p99_us']} µs | "
                f"{e['warm_ratio']}x | - |"
            )
            continue
        ratio_cold = f"{e['cold_ratio']}x" if "cold_ratio" in e else "1.00x"
        ratio_warm = f"{e['warm_ratio']}x" if "warm_ratio" in e else "1.00x"
        size = f"{e['package_mb']} / {e['package_zip_mb']} MB" if "package_mb" in e else "-"
        rows.append(
            f"| {name} | {e['cold_init_ms']} ms | {ratio_cold} | {e['warm_p50_us']} µs | "
            f"{e['warm_p99_us']} µs | {ratio_warm} | {size} |"
        )
    rows.append("")
    rows.append(
        f"SSM GetParameter calls per 10,000 authorized requests (one warm container): "
        f"{results['ssm_get_parameter_per_10000_requests']} (target: 1 per max_age window)"
    )
    ddb = results["dynamodb_calls_per_request"]
    rows.append(
        f"DynamoDB calls per request (warm): authorizer root {ddb['authorizer']}, managed {ddb['authorizer-managed']} "
        f"(policy cached); invoke root {ddb['invoke']}, managed with limits {ddb['invoke-managed']} "
        "(one conditional update before the model call, one update after)"
    )
    if "local_e2e" in results:
        e2e = results["local_e2e"]
        rows.append(
            f"End to end through the local Docker-free API ({e2e['requests']} warm requests): "
            f"p50 {e2e['p50_ms']} ms, p95 {e2e['p95_ms']} ms (target p50 <= 8 ms)"
        )
        if "managed_p50_ms" in e2e:
            rows.append(
                f"Same for a managed key with rpm and a monthly budget: p50 {e2e['managed_p50_ms']} ms "
                f"(+{round(e2e['managed_p50_ms'] - e2e['p50_ms'], 2)} ms over a root key; target <= +3 ms)"
            )
        if "embeddings" in e2e:
            emb = e2e["embeddings"]
            rows.append(
                f"Embeddings through the local API, stand-in answering each Titan call after {emb['delay_ms']} ms: "
                f"1 input p50 {emb['one_p50_ms']} ms, {emb['inputs']} inputs p50 {emb['many_p50_ms']} ms = "
                f"{emb['ratio']}x one call (target < 3x)"
            )
    rows.append(
        "Targets: invoke cold <= 1.5x, authorizer cold <= 1.0x, authorizer warm p50 <= 30 µs (root and managed), "
        "invoke warm p50 <= 2x baseline (plain chat; invoke-tools is a chat request with two tools)."
    )
    rows.append(f"Machine: {results['machine']}{' (FAST mode: smoke numbers)' if results['fast'] else ''}")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())

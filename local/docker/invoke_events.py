"""Run README.md's `sam local invoke` lines exactly as written (in Docker) and check the status each gives.

Each file in events/ must have its line in the README (tests/integration/test_readme.py checks the reverse);
samconfig.toml's [default.local_invoke] supplies env.json, x86_64 and --skip-pull-image, as for a reader.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_lines() -> tuple[str, dict[str, str]]:
    """(the block's variable line, event file name -> its `$S local invoke` line)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from readme_commands import blocks, commands

    for block in blocks("bash"):
        lines = commands(block)
        invokes = [c for c in lines if c.startswith("$S local invoke")]
        if invokes:
            return lines[0], {c.split("-e events/")[1].split()[0]: c for c in invokes}
    raise SystemExit("README.md has no `$S local invoke` block")


def main() -> int:
    expected = json.loads((ROOT / "events" / "expected.json").read_text())
    setup, lines = readme_lines()
    missing = sorted(set(expected) - set(lines))
    if missing:
        print(f"README.md has no sam local invoke line for {missing}", file=sys.stderr)
        return 1
    failures = 0
    for name, expect in expected.items():
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603
            ["bash", "-c", f"{setup}\n{lines[name]}"],  # noqa: S607 - the README's own lines
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=os.environ,
            check=False,
            timeout=300,
        )
        try:
            output = json.loads(result.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            output = {}
        got = output.get("isAuthorized") if "isAuthorized" in expect else output.get("statusCode")
        want = expect.get("isAuthorized", expect.get("status"))
        ok = got == want
        failures += not ok
        print(
            f"    sam local invoke {expect['function']:<18} {name:<32} -> {got} "
            f"({'ok' if ok else f'expected {want}'}, {time.monotonic() - started:.1f} s)",
            flush=True,
        )
        if not ok:
            print(result.stdout[-2000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
    print(f"{len(expected) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

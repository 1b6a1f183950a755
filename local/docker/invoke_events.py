"""`sam local invoke` every file in events/ (in Docker) and check the status each should give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAM = str(ROOT / ".venv-sam" / "bin" / "sam")
TEMPLATE = str(ROOT / ".aws-sam" / "local-build" / "template.yaml")


def main() -> int:
    expected = json.loads((ROOT / "events" / "expected.json").read_text())
    sys.path.insert(0, str(ROOT / "local"))
    from run import LOCAL_OVERRIDES

    failures = 0
    for name, expect in expected.items():
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603
            [
                SAM,
                "local",
                "invoke",
                expect["function"],
                "-t",
                TEMPLATE,
                "-e",
                str(ROOT / "events" / name),
                "--env-vars",
                str(ROOT / "events" / "env.json"),
                "--skip-pull-image",
                "--add-host",
                "host.docker.internal:host-gateway",
                "--parameter-overrides",
                *LOCAL_OVERRIDES,
            ],
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

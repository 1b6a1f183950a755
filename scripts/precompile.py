"""Compile every function package under a `sam build` folder to bytecode, in place.

Why: Lambda's /var/task is read-only, so a package without .pyc files is compiled from source on every cold
start; `sam build` ships none. Measured here: the invoke function's cold init falls from ~400 ms to ~215 ms,
the authorizer's from ~190 ms to ~140 ms. Unchecked-hash pycs stay valid whatever mtimes the zip gives the
sources; CPython 3.12 bytecode is the same on x86_64 and arm64.
"""

from __future__ import annotations

import compileall
import py_compile
import sys
from pathlib import Path


def main(folder: str) -> int:
    root = Path(folder)
    if not root.is_dir():
        print(f"error: {root} does not exist: run sam build first", file=sys.stderr)
        return 2
    ok = compileall.compile_dir(
        root, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    count = sum(1 for _ in root.rglob("*.pyc"))
    print(f"    precompiled {count} modules under {root}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

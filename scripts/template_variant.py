"""Write template.yaml with other parameter defaults, so checkers that read defaults (checkov evaluates
conditions with them) also see the optional resources: `template_variant.py OUT Name=value ...`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def variant(text: str, defaults: dict[str, str]) -> str:
    for name, value in defaults.items():
        pattern = re.compile(rf"^(  {re.escape(name)}:\n(?:    .*\n)*?    Default: ).*$", re.MULTILINE)
        text, count = pattern.subn(lambda m, v=value: m.group(1) + f'"{v}"', text, count=1)
        if count != 1:
            raise SystemExit(f"template.yaml has no parameter {name} with a Default")
    return text


def main() -> None:
    out, *pairs = sys.argv[1:]
    defaults = dict(pair.split("=", 1) for pair in pairs)
    Path(out).write_text(variant((ROOT / "template.yaml").read_text(), defaults))


if __name__ == "__main__":
    main()

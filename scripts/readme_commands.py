"""The commands README.md shows, split the way a reader pastes them: bash blocks into commands (a command ends
where its quotes balance and no backslash continues it), python blocks whole. tests/integration/test_readme.py
runs them; local/docker/invoke_events.py runs the `sam local invoke` lines exactly as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```", re.DOTALL | re.MULTILINE)


def blocks(language: str, text: str | None = None) -> list[str]:
    """The fenced blocks of one language, dedented (blocks inside list items are indented)."""
    text = README.read_text() if text is None else text
    found = []
    for match in FENCE.finditer(text):
        if match.group(2) == language:
            indent = len(match.group(1))
            found.append("\n".join(line[indent:] for line in match.group(3).splitlines()))
    return found


def commands(block: str) -> list[str]:
    """Whole commands of a bash block, comments and blank lines between them dropped."""
    found, pending = [], ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on on the next line
            continue
        found.append(pending)
        pending = ""
    if pending:
        raise ValueError(f"unterminated command in README: {pending[:80]}")
    return found


def key(command: str) -> str:
    """A command without its trailing comment and extra spaces: how the test's tables name it."""
    first = re.split(r"\s{2,}#", command.splitlines()[0])[0]
    return " ".join(first.split())

"""What the command-line tools share: one-line errors and de-duplicated warnings on stderr."""

from __future__ import annotations

import sys

__all__ = ["error", "show_warnings"]


def error(prog: str, message: object, status: int = 2) -> int:
    """Print ``prog: error: message`` as one line on stderr; returns ``status`` (the exit status)."""
    text = " ".join(str(message).split())
    print(f"{prog}: error: {text}", file=sys.stderr)
    return status


def show_warnings(prog: str, caught) -> None:
    """Print each distinct caught warning once, as ``prog: warning: ...`` on stderr."""
    seen = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in seen:
            seen.add(text)
            print(f"{prog}: warning: {text}", file=sys.stderr)

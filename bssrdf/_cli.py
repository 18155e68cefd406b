"""What the command-line tools share: one-line errors, output checks, warnings, broken pipes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["CliError", "Parser", "check_writable", "error", "quiet_broken_pipe", "show_warnings"]


class CliError(Exception):
    """An error reported to the user as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a malformed command line is one line on stderr (no usage block)."""

    def error(self, message: str):
        raise CliError(f"{message} (see --help)")


def parse(parser: argparse.ArgumentParser, argv, prog: str) -> argparse.Namespace | int:
    """``parser.parse_args(argv)``, or the exit status to return: that of ``--help`` (0), or 2 after one
    line on stderr for a malformed command line."""
    try:
        return parser.parse_args(argv)
    except CliError as e:
        return error(prog, e)
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)


def check_writable(path: str | os.PathLike, label: str | None = None) -> Path:
    """``path`` as a Path if a file can be written there (before any work is done), else CliError."""
    p = Path(path)
    what = f"{label} to {str(path)!r}" if label else repr(str(path))
    if p.is_dir():
        raise CliError(f"cannot write {what}: it is a directory")
    parent = p.parent
    if not parent.is_dir():
        raise CliError(f"cannot write {what}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"cannot write {what}: directory {str(parent)!r} is not writable")
    return p


def quiet_broken_pipe() -> None:
    """After BrokenPipeError on stdout (output piped into ``head``): send the rest to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


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

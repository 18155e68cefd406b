"""The command line ``python -m bssrdf.profiles`` (also the ``bssrdf-profiles`` script)."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest

from bssrdf import materials
from bssrdf.profiles import dipole, multipole
from bssrdf.profiles.__main__ import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bssrdf.profiles", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def row_values(stdout: str, label: str) -> list[str]:
    """The numbers (as printed) of the table row starting with ``label``."""
    rows = [line for line in stdout.splitlines() if line.strip().startswith(label)]
    assert len(rows) == 1, f"expected one row {label!r} in:\n{stdout}"
    tail = rows[0].strip()[len(label):]
    return re.findall(NUMBER, tail)


def assert_printed(printed: list[str], expected) -> None:
    """Each printed number equals ``expected`` to its printed precision."""
    expected = np.atleast_1d(expected)
    assert len(printed) == expected.size
    for text, value in zip(printed, expected, strict=True):
        half_ulp = 0.5 * 10.0 ** Decimal(text).as_tuple().exponent
        assert abs(float(text) - float(value)) <= half_ulp * (1 + 1e-9), (text, value)


def assert_one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("bssrdf.profiles: error: ")
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_help(tmp_path):
    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "mm" in proc.stdout
    for option in ("--thickness", "--n-outside", "--r-max", "--backend", "--out", "--list"):
        assert option in proc.stdout


def test_list_in_process(capsys):
    assert main(["--list"]) == 0
    assert capsys.readouterr().out.split() == materials.names()


def test_semi_infinite_total_reflectance(tmp_path):
    proc = run_cli("marble", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert_printed(row_values(proc.stdout, "total R_d"),
                   dipole.total_R_d(materials.get("marble")))
    assert "mm^-2" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_slab_plot_and_totals(tmp_path):
    proc = run_cli("marble", "--thickness", "1", "--out", "x.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "x.png"
    data = png.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temporary file left
    marble = materials.get("marble")
    assert_printed(row_values(proc.stdout, "total R"), multipole.total_R(marble, 1.0))
    assert_printed(row_values(proc.stdout, "total T"), multipole.total_T(marble, 1.0))


def test_unknown_material_suggests(tmp_path):
    proc = run_cli("marbel", cwd=tmp_path)
    line = assert_one_error_line(proc)
    assert "marble" in line.split("marbel", 1)[1]  # suggested, not only echoed
    assert proc.stdout == ""


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_bad_thickness(tmp_path, value):
    proc = run_cli("marble", "--thickness", value, "--out", "x.png", cwd=tmp_path)
    line = assert_one_error_line(proc)
    assert "thickness" in line
    assert list(tmp_path.iterdir()) == []


def test_malformed_option_uses_argparse(tmp_path):
    proc = run_cli("marble", "--thickness", "abc", cwd=tmp_path)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, word", [
    (["--thickness", "0"], "thickness"),
    (["--thickness", "inf"], "thickness"),
    (["--n-outside", "0"], "n-outside"),
    (["--n-outside", "nan"], "n-outside"),
    (["--r-max", "-2"], "r-max"),
    (["--out", "x.jpg"], "x.jpg"),
])
def test_bad_values_in_process(tmp_path, capsys, args, word):
    out = tmp_path / "x.png"
    argv = ["marble", *args] + ([] if "--out" in args else ["--out", str(out)])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bssrdf.profiles: error: ") and word in err[0]
    assert list(tmp_path.iterdir()) == []


def test_output_in_missing_directory(tmp_path):
    proc = run_cli("marble", "--out", "missing/x.png", cwd=tmp_path)
    assert "missing" in assert_one_error_line(proc)
    assert list(tmp_path.iterdir()) == []


def test_thin_slab_warns_once(tmp_path):
    proc = run_cli("marble", "--thickness", "0.3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bssrdf.profiles: warning: ")
    assert "Warning" not in proc.stderr  # no Python warning formatting

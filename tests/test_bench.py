"""``python -m bssrdf.bench mc`` runs end to end and prints its table (speed is never asserted)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bssrdf import backend
from bssrdf.bench.__main__ import MC_CASE_LABELS

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"

needs_cpu = pytest.mark.skipif(not backend.cpu_available(),
                               reason="needs the compiled extension bssrdf._core")


def run_bench(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bssrdf.bench", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@needs_cpu
def test_mc_prints_a_row_per_case(tmp_path):
    proc = run_bench("mc", "--backends", "cpu", "--photons", "2000", "--threads", "1",
                     "--precision", "single,double", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "photons/ms" in out and "events/s" in out
    assert "1094.1 mm" in out          # the cube60 cut, c·5 ns / 1.37
    assert "1.0e+06 photons/ms" in out  # the targets are printed beside the numbers
    for precision in ("single", "double"):
        for label in MC_CASE_LABELS.values():
            rows = [line for line in out.splitlines()
                    if line.startswith("cpu") and f" {precision} " in line and label in line]
            assert len(rows) == 1, out
            numbers = re.findall(NUMBER, rows[0].split(label, 1)[1])
            photons, wall, per_ms, ev_s, ev_photon = (float(x) for x in numbers[:5])
            assert photons == 2000
            assert wall > 0 and per_ms > 0 and ev_s > 0 and ev_photon > 1
            assert "CPU, 1 OpenMP threads" in rows[0]
            if label.startswith("cube60"):
                assert "/s/core" in rows[0]


@needs_cpu
def test_mc_one_case(tmp_path):
    proc = run_bench("mc", "--backends", "cpu", "--photons", "500", "--cases", "skin3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert MC_CASE_LABELS["skin3"] in proc.stdout
    assert MC_CASE_LABELS["cube60"] not in proc.stdout


@pytest.mark.parametrize("args", [
    ("--backends", "numpy"),
    ("--cases", "cube61"),
    ("--precision", "half"),
    ("--photons", "0"),
])
def test_mc_bad_option_is_one_error_line(tmp_path, args):
    proc = run_bench("mc", *args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bssrdf.bench: error: "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_layers_prints_a_row_per_backend(tmp_path):
    proc = run_bench("layers", "--backends", "cpu" if backend.cpu_available() else "numpy",
                     "--min-time", "0.05", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("cpu", "numpy"))]
    assert len(rows) == 1, proc.stdout
    t_R, t_RT = (float(x) for x in re.findall(NUMBER, rows[0])[:2])
    assert 0 < t_R and 0 < t_RT
    assert "target < 200 ms" in rows[0]


def test_layers_rejects_an_unknown_backend(tmp_path):
    proc = run_bench("layers", "--backends", "tpu", cwd=tmp_path)
    assert proc.returncode == 2 and "backends" in proc.stderr


def test_render_prints_a_row_per_method(tmp_path):
    proc = run_bench("render", "--size", "16", "--samples", "2000", "--methods", "clustered,truncated",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("clustered", "truncated"))]
    assert len(rows) == 2, proc.stdout
    assert run_bench("render", "--methods", "octree", cwd=tmp_path).returncode == 2
    assert "pairs/s" in proc.stdout
    proc = run_bench("render", "--size", "8", "--samples", "500", "--methods", "brute", "--backend", "numpy",
                     cwd=tmp_path)
    assert proc.returncode == 0 and any(line.startswith("brute") for line in proc.stdout.splitlines())
    bad = run_bench("render", "--backend", "cuda", "--methods", "truncated", cwd=tmp_path)
    assert bad.returncode == 2 and "brute" in bad.stderr

"""The layered diffusion model (Donner & Jensen 2005) against the Monte Carlo tracer.

Cases and comparison: bssrdf.profiles.layered_check (``python -m bssrdf.profiles.layered_check`` writes
the same table with 2e6 photons per case to paper_figures/layered_validation.md). Here 3e5 photons per
case; the bounds are what the diffusion model meets where it is expected to hold, with margin for the
Monte Carlo noise, and the failing cases (a top layer thinner than a mean free path, a strongly absorbing
top) are shown to fail.

Measured (3e5 photons, seed 1; model/MC − 1 for totals, pooled MC/model over 2–8 mm for profiles):
  two, mismatched            R −0.2%            R(r) 1.134 ± 0.005
  two, on glass              R −1.5%, T +0.0%   R(r) 0.997 ± 0.005, T(r) 1.010 ± 0.006
  three, forward scattering  R +1.3%, T +2.1%   R(r) 1.111 ± 0.006, T(r) 1.003 ± 0.006
  thin top (d = 0.4 ℓ)       R +0.5%            R(r) 1.861 ± 0.006   (diffusion fails)
  absorbing top (α' = 0.5)   R +34%             R(r) 1.994 ± 0.051   (diffusion fails)
The multiply scattered far field is 0–13% above the model: each internal interface re-launches the
light crossing it as a pencil beam one mean free path inside the next layer (see test_layered.py's
split-layer test), and diffusion's extrapolated boundaries and σtr carry ~3% errors of their own.
"""

from __future__ import annotations

import pytest

from bssrdf import backend
from bssrdf.profiles import layered_check

pytestmark = pytest.mark.skipif(not backend.cpu_available(), reason="needs the CPU extension (tracer)")

PHOTONS = 300_000
SMOOTH = ["two, mismatched", "two, on glass", "three, forward scattering"]
FAILING = ["thin top (d = ℓ/2)", "absorbing top (α' = 0.5)"]


@pytest.fixture(scope="module")
def results():
    return {}


def _run(results, name):
    if name not in results:
        results[name] = layered_check.compare(layered_check.CASES[name], PHOTONS, seed=1, backend="cpu")
    return results[name]


@pytest.mark.parametrize("name", SMOOTH)
def test_diffusion_holds_for_thick_layers_with_index_mismatch(results, name):
    c = _run(results, name)
    assert abs(c.R_total_error) < 0.03, c.R_total_error
    if c.T_mc > 0:
        assert abs(c.T_total_error) < 0.04, c.T_total_error
        assert abs(c.T_ratio - 1) < 0.15, c.T_ratio
    assert 0.9 < c.R_ratio < 1.2, c.R_ratio


@pytest.mark.parametrize("name", FAILING)
def test_diffusion_fails_where_expected(results, name):
    c = _run(results, name)
    assert c.R_ratio > 1.5, c.R_ratio           # the far field is off by a factor ~2


def test_report_table(results, capsys):
    rows = [_run(results, n) for n in SMOOTH + FAILING]
    text = layered_check.table(rows)
    assert text.count("\n") == len(rows) + 1
    with capsys.disabled():
        print("\n" + text)

"""``bssrdf.figures``: every figure runs at a tiny size, the command behaves, the notebooks execute.

The figures' physics is checked where it is computed (profiles, tracer, fits: their own tests); here
each figure module must run end to end with few photons and write its PNG, PDF, data and caption,
and the notebooks in ``notebooks/`` must execute top to bottom (nbclient), as iadpython tests its own.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from bssrdf import backend, figures
from bssrdf.figures.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {"j01", "j02", "j03", "j04", "j05", "j06", "d01", "d02", "d03", "d04", "d05", "d06", "d07"}
TINY = 2000          # photons per Monte Carlo run
pytestmark = pytest.mark.skipif(not backend.cpu_available(), reason="needs the CPU extension (tracer)")


def test_every_required_figure_is_registered():
    specs = figures.registry()
    assert REQUIRED <= set(specs), REQUIRED - set(specs)
    for s in specs.values():
        assert s.paper in ("jensen2001", "donner2005") and s.photons >= 1 and s.title


@pytest.mark.parametrize("fid", sorted(figures.registry()))
def test_figure_runs_at_a_tiny_size(fid, tmp_path):
    spec = figures.registry()[fid]
    out = figures.make(fid, photons=TINY, backend="cpu", progress=False)
    stem = figures.write(spec, out, tmp_path, seconds=0.0)
    for suffix in (".png", ".pdf", ".h5", ".txt"):
        assert stem.with_suffix(suffix).stat().st_size > 0, suffix
    caption = stem.with_suffix(".txt").read_text()
    assert "photons" in caption and "seed" in caption, caption
    with h5py.File(stem.with_suffix(".h5")) as f:
        assert len(f.keys()) > 0 and f.attrs["caption"]
    assert stem.parent.name == spec.paper and stem.name.startswith(fid + "_")
    import matplotlib.pyplot as plt

    plt.close(out.figure)


def test_list_and_bad_arguments(capsys, tmp_path):
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(i in listed for i in REQUIRED)
    assert main(["--only", "x99", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown figure" in err[0]
    assert main(["--photons", "0", "--out", str(tmp_path)]) == 2


def test_a_failing_figure_does_not_stop_the_others(capsys, tmp_path, monkeypatch):
    from bssrdf.figures import _core

    specs = figures.registry()
    first, second = sorted(REQUIRED)[:2]
    broken = _core.FigureSpec(first, specs[first].paper, specs[first].name, "broken", 1, "no.such.module")
    monkeypatch.setattr(_core, "registry", lambda: {first: broken, second: specs[second]})
    status = main(["--only", first, second, "--photons", str(TINY), "--backend", "cpu", "--quiet",
                   "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == 1
    assert f"{first} FAILED" in captured.err and f"failed: {first}" in captured.out
    assert list((tmp_path / specs[second].paper).glob(f"{second}_*.png"))


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("BSSRDF_NOTEBOOK_PHOTONS", str(TINY))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


def test_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"jensen2001", "donner2005"}


def test_rendered_figures_cap_the_samples():
    """--photons 1e8 (meant for Monte Carlo) asks a rendered figure for at most 10× its default samples;
    fewer than the default shrink the image by √(n/default)."""
    from bssrdf.figures import _render as rf
    from bssrdf.figures._core import Context

    n, scale = rf.samples_and_scale(Context(photons=100_000_000), 20_000)
    assert (n, scale) == (200_000, 1.0)
    n, scale = rf.samples_and_scale(Context(photons=5_000), 20_000)
    assert n == 5_000 and scale == pytest.approx(0.5)

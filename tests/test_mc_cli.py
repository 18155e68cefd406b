"""The command line ``python -m bssrdf.mc``: TOML and options, HDF5 output, plots, errors, Ctrl-C.

Every run traces at most 20000 photons on the CPU backend. One test runs the real entry point in
a subprocess; the others call ``main(argv)`` in-process.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

import bssrdf
from bssrdf import Layer, Medium, backend, materials
from bssrdf.mc import _run
from bssrdf.mc.__main__ import main
from bssrdf.mc.config import EXAMPLE_TOML, KEYS, ConfigError, parse_channel, parse_count, parse_layer, resolve

pytestmark = pytest.mark.skipif(not backend.cpu_available(), reason="needs the CPU extension bssrdf._core")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ERROR_PREFIX = "bssrdf.mc: error: "

RUN_TOML = """\
# a two-layer stack: numbers over one channel of a measured material
photons = 1.5e4
seed = 7
r_max = 2.0            # mm
n_r = 20
n_z = 10
z_max = 1.5            # mm
n_above = 1.0
n_below = 1.33
backend = "cpu"
threads = 1
precision = "double"
out = "run.h5"

[[layer]]
sigma_a = 0.5          # mm^-1
sigma_s = 10.0         # mm^-1
g = 0.8
eta = 1.4
thickness = 0.3        # mm

[[layer]]
material = "Skin1"
channel = "g"
thickness = 1.0
"""
RUN_LAYERS = (Layer(Medium(0.5, 10.0, 0.8, 1.4), 0.3), Layer(materials.get("skin1").channel(1), 1.0))
FAST = ["--backend", "cpu", "--threads", "1", "--r-max", "2", "--n-r", "20"]
SLAB = ["--layer", "1,9,0.75,1.4,0.5"]


def _files(path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(ERROR_PREFIX), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- the real entry point ---------------------------------------------------------------------------
def test_help_subprocess(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bssrdf.mc", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for unit in ("mm^-1", "mm^-2", "[mm]", "in mm", "degrees"):
        assert unit in text
    for option in ["--layer", "--material", "--channel", "--thickness", "--quiet"] + \
            ["--" + k.replace("_", "-") for k in KEYS]:
        assert option in text, option
    assert "[[layer]]" in text and 'material = "marble"' in text  # the TOML schema and example
    assert _files(tmp_path) == []


def test_toml_run_subprocess(tmp_path):
    (tmp_path / "run.toml").write_text(RUN_TOML)
    proc = subprocess.run([sys.executable, "-m", "bssrdf.mc", "run.toml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "15000 photons, seed 7, backend cpu (double)" in proc.stdout  # result.summary()
    assert "wrote run.h5" in proc.stdout
    assert _files(tmp_path) == ["run.h5", "run.toml"]  # no temporary file left

    res = bssrdf.mc.load(tmp_path / "run.h5")
    assert res.layers == RUN_LAYERS
    assert (res.n_photons, res.n_requested, res.seed, res.backend, res.precision) == \
        (15000, 15000, 7, "cpu", "double")
    assert (res.n_above, res.n_below, res.partial) == (1.0, 1.33, False)
    np.testing.assert_allclose(res.r_edges, np.linspace(0.0, 2.0, 21))
    np.testing.assert_allclose(res.z_edges, np.linspace(0.0, 1.5, 11))
    assert res.R_r.shape == (20,) and res.A_z.shape == (10,) and res.A_layers.shape == (2,)
    assert abs(res.energy_balance - 1.0) < 1e-3
    assert res.T_total > 0 and res.R_diffuse > 0
    assert res.extra["input_toml"] == RUN_TOML
    assert res.extra["command_line"] == "python -m bssrdf.mc run.toml"
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert f.attrs["seed"] == "7" and int(f.attrs["n_photons"]) == 15000
        assert f["R_r"].attrs["units"] == "mm^-2" and f["A_z"].attrs["units"] == "mm^-1"
        assert f.attrs["bssrdf_version"] == bssrdf.__version__


# -- options and TOML -------------------------------------------------------------------------------
def test_options_override_toml(in_tmp, capsys):
    (in_tmp / "run.toml").write_text(RUN_TOML)
    argv = ["run.toml", "--seed", "11", "--photons", "3e3", "--n-r", "8", "--precision", "single",
            "--out", "b.h5", "--layer", "1,9,0.75,1.4,0.5", "--layer", "0.2,5,0,1.3,inf"]
    assert main(argv) == 0, capsys.readouterr().err
    assert _files(in_tmp) == ["b.h5", "run.toml"]
    res = bssrdf.mc.load("b.h5")
    assert (res.seed, res.n_photons, res.precision, len(res.r_edges)) == (11, 3000, "single", 9)
    assert res.r_edges[-1] == 2.0 and res.n_below == 1.33  # kept from the file
    assert res.layers == (Layer(Medium(1.0, 9.0, 0.75, 1.4), 0.5),
                          Layer(Medium(0.2, 5.0, 0.0, 1.3), math.inf))  # --layer replaces [[layer]]
    assert res.extra["command_line"].endswith("--layer 0.2,5,0,1.3,inf")
    assert "seed = 11" in res.extra["config_toml"]


def test_material_layer(in_tmp, capsys):
    argv = ["--material", "marble", "--channel", "B", "--thickness", "1", "--photons", "2000",
            "--seed", "3", *FAST]
    assert main(argv) == 0, capsys.readouterr().err
    res = bssrdf.mc.load("mc_result.h5")  # the default --out
    assert res.layers == (Layer(materials.get("marble").channel(2), 1.0),)
    assert "material 'marble', channel B" in res.extra["config_toml"]
    assert "input_toml" not in res.extra


def test_resolved_config_round_trip(in_tmp):
    (in_tmp / "run.toml").write_text(RUN_TOML)
    cfg = resolve("run.toml", {"seed": 2 ** 64 - 1, "incidence_angle": 30.0})
    (in_tmp / "again.toml").write_text(cfg.to_toml())
    again = resolve("again.toml")
    assert again.layers == cfg.layers == RUN_LAYERS
    assert again.values == cfg.values
    assert again.simulate_kwargs() == cfg.simulate_kwargs()


def test_example_toml_of_help_runs(in_tmp, capsys):
    (in_tmp / "example.toml").write_text(EXAMPLE_TOML)
    argv = ["example.toml", "--photons", "2000", "--backend", "cpu", "--threads", "1", "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out == ""  # --quiet
    assert _files(in_tmp) == ["example.toml", "skin_on_marble.h5", "skin_on_marble.png"]
    res = bssrdf.mc.load("skin_on_marble.h5")
    assert res.layers[1] == Layer(materials.get("marble").channel(0), math.inf)


ROUGH_TOML = """\
photons = 4000
seed = 3
r_max = 2.0
n_r = 10
backend = "cpu"
threads = 1
out = "rough.h5"
n_below = 1.2
roughness_below = 0.4  # GGX alpha of the stack's bottom

[[layer]]
sigma_a = 0.5
sigma_s = 10.0
g = 0.8
eta = 1.4
thickness = 0.3
roughness = 0.25       # GGX alpha of this layer's top

[[layer]]
material = "Skin1"
channel = "g"
thickness = 1.0
roughness = 0.5
"""


def test_rough_interfaces_from_toml(in_tmp, capsys):
    """Layer key roughness (numbers and materials), top-level roughness_below: run, file, resolved TOML."""
    (in_tmp / "run.toml").write_text(ROUGH_TOML)
    assert main(["run.toml", "--quiet"]) == 0, capsys.readouterr().err
    res = bssrdf.mc.load("rough.h5")
    assert [L.roughness for L in res.layers] == [0.25, 0.5] and res.roughness_below == 0.4
    assert res.stderr("R_specular") > 0  # a rough top: R_specular tallied
    assert abs(res.energy_balance - res.roulette_net - 1.0) < 1e-6
    (in_tmp / "again.toml").write_text(res.extra["config_toml"])
    again = resolve("again.toml")
    assert again.layers == res.layers and again.values["roughness_below"] == 0.4
    # --roughness-below overrides the file
    cfg = resolve("run.toml", {"roughness_below": 0.0})
    assert cfg.simulate_kwargs()["roughness_below"] == 0.0


@pytest.mark.parametrize("name", ["x.png", "x.pdf", "x.svg"])
def test_plot(in_tmp, capsys, name):
    assert main([*SLAB, "--photons", "5000", "--plot", name, *FAST]) == 0
    out = capsys.readouterr().out
    assert f"wrote mc_result.h5\nwrote {name}" in out
    assert _files(in_tmp) == sorted(["mc_result.h5", name])
    data = (in_tmp / name).read_bytes()
    assert len(data) > 5000
    assert data.startswith({"x.png": PNG_SIGNATURE, "x.pdf": b"%PDF", "x.svg": b"<?xml"}[name])


def test_no_plot_overrides_toml(in_tmp, capsys):
    (in_tmp / "run.toml").write_text(RUN_TOML.replace('out = "run.h5"', 'out = "run.h5"\nplot = "run.png"'))
    assert main(["run.toml", "--photons", "1000", "--no-plot", "--quiet"]) == 0, capsys.readouterr().err
    assert _files(in_tmp) == ["run.h5", "run.toml"]
    assert main(["run.toml", "--photons", "1000", "--no-plot", "--plot", "x.png"]) == 2
    assert "--no-plot" in _one_error_line(capsys.readouterr().err)


def test_failed_save_leaves_no_plot(in_tmp, capsys, monkeypatch):
    def full_disk(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bssrdf.mc.MCResult, "save", full_disk)
    assert main([*SLAB, "--photons", "1000", "--plot", "p.png", *FAST]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "cannot write 'mc_result.h5': No space left on device" in line
    assert _files(in_tmp) == []  # the plot's temporary file is gone, and no plot without the result


def test_absorbing_slab_closed_form(in_tmp, capsys):
    """σs = 0, matched indices: T_total = exp(−σa d) and A(z) = σa exp(−σa z), closed forms."""
    sigma_a, d = 1.3, 0.7
    argv = ["--layer", f"{sigma_a},0,0,1,{d}", "--photons", "20000", "--seed", "5", "--n-z", "7",
            "--quiet", *FAST]
    assert main(argv) == 0, capsys.readouterr().err
    res = bssrdf.mc.load("mc_result.h5")
    T = math.exp(-sigma_a * d)
    assert abs(res.T_total - T) < 4 * res.stderr("T_total")
    assert 0 < res.stderr("T_total") < 2 * math.sqrt(T * (1 - T) / 20000)
    assert res.T_unscattered == res.T_total and res.R_diffuse == 0 and res.R_specular == 0
    z = res.z_edges
    expected = (np.exp(-sigma_a * z[:-1]) - np.exp(-sigma_a * z[1:])) / np.diff(z)
    zscores = (res.A_z - expected) / res.stderr("A_z")
    assert np.all(np.abs(zscores) < 5), zscores


def test_summary_and_files_listed(in_tmp, capsys):
    assert main([*SLAB, "--photons", "1000", "--out", "s.h5", *FAST]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Monte Carlo, 1000 photons, seed 0, backend cpu")
    assert "R_diffuse" in out and out.rstrip().endswith("wrote s.h5")


# -- bad input: one line, exit 2, no file -----------------------------------------------------------
BAD_TOML = {
    "unknown_key.toml": ("photons = 10\nr_max = 1\nphotn = 3\n", "unknown key 'photn'"),
    "unknown_layer_key.toml": ("photons = 10\nr_max = 1\n[[layer]]\nsigma_a = 1\nsigma_s = 1\ng = 0\n"
                               "eta = 1\nthikness = 1\n", "thikness"),
    "malformed.toml": ("photons = \nr_max = 1\n", "malformed TOML"),
    "wrong_type.toml": ('photons = 10\nr_max = "1"\n', "r_max must be a number"),
    "missing_eta.toml": ("photons = 10\nr_max = 1\n[[layer]]\nsigma_a = 1\nsigma_s = 1\ng = 0\n",
                         "missing eta"),
    "both_kinds.toml": ('photons = 10\nr_max = 1\n[[layer]]\nmaterial = "marble"\nchannel = "r"\n'
                        "sigma_a = 1\n", "either material"),
    "zero_photons.toml": ("photons = 0\nr_max = 1\n[[layer]]\nmaterial = 'marble'\nchannel = 'r'\n",
                          "bad.toml: photons must be an integer"),
    "bad_g.toml": ("photons = 10\nr_max = 1\n[[layer]]\nsigma_a = 1\nsigma_s = 1\ng = -1\neta = 1\n",
                   "[[layer]] 1: g must be"),
    "unknown_material.toml": ("photons = 10\nr_max = 1\n[[layer]]\nmaterial = 'marbel'\nchannel = 0\n",
                              "unknown material 'marbel'; did you mean marble"),
    "layer_not_table.toml": ("photons = 10\nr_max = 1\nlayer = 3\n", "[[layer]]"),
    "invalid_utf8.toml": (b"photons = 10\n# \xff\xfe\n", "UTF-8"),
    "bad_roughness.toml": ("photons = 10\nr_max = 1\n[[layer]]\nsigma_a = 1\nsigma_s = 1\ng = 0\neta = 1.4\n"
                           "thickness = 1\nroughness = 1.5\n", "[[layer]] 1: roughness must be in [0, 1]"),
    "bad_material_roughness.toml": ("photons = 10\nr_max = 1\n[[layer]]\nmaterial = 'marble'\nchannel = 0\n"
                                    "roughness = 'x'\n", "[[layer]] 1: roughness must be a number"),
    "bad_roughness_below.toml": ("photons = 10\nr_max = 1\nroughness_below = -0.1\n[[layer]]\n"
                                 "material = 'marble'\nchannel = 0\nthickness = 1\n",
                                 "bad.toml: roughness_below must be in [0, 1]"),
}

BAD_ARGS = [
    (["--layer", "1,-9,0.75,1.4,0.5"], "sigma_s must be finite and in [0"),
    (["--layer=-1,9,0.75,1.4,0.5"], "sigma_a must be"),
    (["--layer", "1,9,1.0,1.4,0.5"], "g must be finite and in (-1, 1); got 1.0"),
    (["--layer", "1,9,0.5,0,0.5"], "eta must be"),
    (["--layer", "1,9,0.5,1.4,0"], "thickness must be finite and > 0 mm; got 0.0"),
    (["--layer", "1,9,0.75"], "expected 5 comma-separated numbers"),
    (["--layer", "1,9,x,1.4,1"], "g is not a number: 'x'"),
    (["--layer", "1,9,0,1,inf", "--layer", "1,9,0,1,1"], "--layer #1 '1,9,0,1,inf': only the last layer"),
    (["--layer", "0,9,0,1,inf"], "semi-infinite base with sigma_a = 0"),
    (["--photons", "0"], "--photons must be an integer"),
    (["--photons", "1.5"], "--photons: expected a whole number"),
    (["--photons", "many"], "--photons: expected a whole number"),
    (["--r-max", "0"], "--r-max must be finite and > 0 mm"),
    (["--r-max", "-2"], "--r-max must be finite and > 0 mm"),
    (["--r-max", "nan"], "--r-max must be finite"),
    (["--n-r", "0"], "--n-r must be an integer"),
    (["--seed", "-1"], "--seed must be an integer in [0,"),
    (["--incidence-angle", "90"], "--incidence-angle must be in [0, 90) degrees"),
    (["--n-above", "0"], "--n-above must be finite and > 0"),
    (["--roughness-below", "1.5"], "--roughness-below must be in [0, 1] (GGX alpha); got 1.5"),
    (["--max-path-length", "-1"], "--max-path-length must be"),
    (["--threads", "0"], "--threads must be"),  # overrides FAST's --threads 1
    (["--precision", "half"], "invalid choice: 'half'"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["--plot", "x.jpg"], "cannot tell the plot format of 'x.jpg'"),
    (["--out", "missing_dir/x.h5"], "directory 'missing_dir' does not exist"),
    (["--plot", "missing_dir/x.png"], "directory 'missing_dir' does not exist"),
    (["--out", "same.png", "--plot", "same.png"], "same file"),
    (["--material", "marble", "--channel", "r"], "either --layer options or --material"),
]

BAD_MATERIAL = [
    (["--material", "marbel", "--channel", "r"], "unknown material 'marbel'; did you mean marble"),
    (["--material", "marble"], "choose one with channel r, g or b"),
    (["--material", "marble", "--channel", "3"], "--channel: channel must be r, g or b"),
    (["--material", "marble", "--channel", "r", "--thickness", "-1"], "--thickness: thickness must be"),
    (["--channel", "r", "--layer", "1,9,0,1,1"], "--channel applies to --material"),
]


def _assert_bad(argv, expected, tmp_path, capsys, keep=()):
    status = main(argv)
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert status == 2, captured.err
    assert expected in line, line
    assert captured.out == ""
    assert _files(tmp_path) == sorted(keep)  # neither the result nor the plot


@pytest.mark.parametrize("args, expected", BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_bad_options(in_tmp, capsys, args, expected):
    base = ["--photons", "100", *FAST, "--plot", "p.png", *SLAB]
    if args[0].startswith("--layer"):
        base = base[:-2]  # the case's own layers
    _assert_bad(base + args, expected, in_tmp, capsys)


@pytest.mark.parametrize("args, expected", BAD_MATERIAL, ids=[" ".join(a) for a, _ in BAD_MATERIAL])
def test_bad_material(in_tmp, capsys, args, expected):
    _assert_bad(["--photons", "100", *FAST, "--plot", "p.png", *args], expected, in_tmp, capsys)


@pytest.mark.parametrize("name", list(BAD_TOML))
def test_bad_toml(in_tmp, capsys, name):
    text, expected = BAD_TOML[name]
    path = in_tmp / "bad.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    _assert_bad(["bad.toml", "--plot", "p.png", "--backend", "cpu"], expected, in_tmp, capsys,
                keep=["bad.toml"])


@pytest.mark.parametrize("argv, expected", [
    (["no_such.toml"], "cannot read 'no_such.toml': No such file"),
    (["."], "cannot read '.'"),
    (["--r-max", "1", *SLAB], "--photons is required"),
    (["--photons", "10", *SLAB], "--r-max is required"),
    (["--photons", "10", "--r-max", "1"], "no layers"),
])
def test_missing_inputs(in_tmp, capsys, argv, expected):
    _assert_bad(argv, expected, in_tmp, capsys)


@pytest.mark.skipif(backend.cuda_available(), reason="a GPU is present")
def test_cuda_backend_without_gpu(in_tmp, capsys):
    _assert_bad(["--photons", "10", "--r-max", "1", *SLAB, "--backend", "cuda"], "CUDA", in_tmp, capsys)


def test_energy_check_failure_is_status_1(in_tmp, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise bssrdf.mc.EnergyConservationError("Monte Carlo energy check failed: 0.9 (expected 1)")

    monkeypatch.setattr(bssrdf.mc, "simulate", broken)
    assert main(["--photons", "10", *FAST, *SLAB]) == 1
    assert "energy check failed" in _one_error_line(capsys.readouterr().err)
    assert _files(in_tmp) == []


# -- Ctrl-C ------------------------------------------------------------------------------------------
def _interrupt_after_first_launch(monkeypatch, action):
    """Make the first launch of the tracer end with ``action()`` (a Ctrl-C, as the user sends it)."""
    make_runner = _run._make_runner

    def patched(*args, **kwargs):
        runner = make_runner(*args, **kwargs)
        run = runner.run
        calls = []

        def run_then_interrupt(*a):
            t = run(*a)
            calls.append(1)
            if len(calls) == 1:
                action()
            return t

        runner.run = run_then_interrupt
        return runner

    monkeypatch.setattr(_run, "_make_runner", patched)


def test_ctrl_c_saves_partial_result(in_tmp, capsys, monkeypatch):
    before = signal.getsignal(signal.SIGINT)   # default_int_handler, or SIG_IGN under nohup
    _interrupt_after_first_launch(monkeypatch, lambda: signal.raise_signal(signal.SIGINT))
    status = main([*SLAB, "--photons", "1e9", "--plot", "p.png", *FAST])
    captured = capsys.readouterr()
    assert status == 130, captured.err
    assert "PARTIAL" in captured.out and "wrote mc_result.h5" in captured.out
    note = [line for line in captured.err.splitlines() if "interrupted" in line]
    assert len(note) == 1 and "marked partial" in note[0] and "mc_result.h5" in note[0]
    assert _files(in_tmp) == ["mc_result.h5", "p.png"]
    res = bssrdf.mc.load("mc_result.h5")
    assert res.partial and 0 < res.n_photons < res.n_requested == 10**9
    with h5py.File("mc_result.h5", "r") as f:
        assert bool(f.attrs["partial"])
    assert signal.getsignal(signal.SIGINT) is before  # handler restored


def test_ctrl_c_twice_writes_nothing(in_tmp, capsys, monkeypatch):
    def second_ctrl_c():
        raise KeyboardInterrupt

    _interrupt_after_first_launch(monkeypatch, second_ctrl_c)
    assert main([*SLAB, "--photons", "1e9", *FAST]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0] and "nothing written" in err[0]
    assert _files(in_tmp) == []


# -- small parsers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [("1000", 1000), ("1e6", 10**6), ("1_000_000", 10**6),
                                         ("2.5e3", 2500), ("1E9", 10**9), (" 7 ", 7)])
def test_parse_count(text, value):
    assert parse_count(text) == value and isinstance(parse_count(text), int)


@pytest.mark.parametrize("text", ["1.5", "abc", "inf", "nan", "", "1e-3"])
def test_parse_count_rejects(text):
    with pytest.raises(ValueError, match="whole number"):
        parse_count(text)


def test_parse_layer_and_channel():
    assert parse_layer(" 0.1, 10 ,0.9,1.4, inf") == Layer(Medium(0.1, 10.0, 0.9, 1.4), math.inf)
    with pytest.raises(ConfigError, match="expected 5"):
        parse_layer("1,2,3,4,5,6")
    assert [parse_channel(c) for c in ("r", "G", "blue", "2", 1)] == [0, 1, 2, 2, 1]
    for bad in ("x", "3", -1, True, 1.0):
        with pytest.raises(ValueError, match="channel must be"):
            parse_channel(bad)

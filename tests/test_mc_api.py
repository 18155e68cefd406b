"""Monte Carlo tracer: generator, inputs, bookkeeping, files, interruption, CPU vs GPU.

Physics against published and independent references is in test_mc_physics.py.
"""

from __future__ import annotations

import math
import os
import signal
import threading

import numpy as np
import pytest

import bssrdf
from bssrdf import backend
from bssrdf.mc import EnergyConservationError, Layer, simulate
from bssrdf.mc import _run as run_mod

pytestmark = pytest.mark.skipif(not backend.cpu_available(), reason="needs the CPU extension")

SLAB = Layer(bssrdf.Medium(sigma_a=1.0, sigma_s=9.0, g=0.75, eta=1.0), 0.2)  # MCML manual's slab


def _cpu(layers, n, **kw):
    kw.setdefault("r_max", 1.0)
    kw.setdefault("n_r", 10)
    return simulate(layers, n, backend="cpu", progress=False, **kw)


# -- the generator ---------------------------------------------------------------------------
@pytest.mark.parametrize("ctr,key,want", [
    # Random123's known-answer vectors (tests/kat_vectors of the Random123 distribution)
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_known_answers(ctr, key, want):
    assert backend._core().philox4x32_10(*ctr, *key) == want


def test_photon_streams_are_uniform_and_distinct():
    core = backend._core()
    a = np.array(core.mc_uniforms_f64(7, 0, 25_000))  # 4 numbers per event
    assert 0.0 < a.min() and a.max() < 1.0
    # mean and variance of U(0,1): 1/2 and 1/12, within 5 standard errors
    assert abs(a.mean() - 0.5) < 5 * math.sqrt(1 / 12 / a.size)
    assert abs(a.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / a.size)
    # event k of photon i draws Philox block (k, 0, i lo, i hi) under key (seed lo, seed hi)
    block1 = np.array(core.philox4x32_10(1, 0, 0, 0, 7, 0))
    assert np.array_equal(a[4:8], (block1 + 0.5) / 2**32)
    f = np.array(core.mc_uniforms_f32(7, 0, 2))
    assert np.array_equal(f[4:8], ((block1 >> 9) + 0.5) / 2**23)
    assert core.mc_uniforms_f64(7, 1, 1) != core.mc_uniforms_f64(7, 0, 1)
    assert core.mc_uniforms_f64(8, 0, 1) != core.mc_uniforms_f64(7, 0, 1)
    big = core.mc_uniforms_f64(2**64 - 1, 2**40 + 3, 1)
    want = np.array(core.philox4x32_10(0, 0, 3, 2**8, 0xFFFFFFFF, 0xFFFFFFFF))
    assert np.array_equal(big, (want + 0.5) / 2**32)


@pytest.mark.parametrize("suffix,tol", [("f32", 2e-7), ("f64", 1.5e-15)])
def test_azimuth_sincos_polynomials(suffix, tol):
    """The tracer's branch-free sin/cos of 2 pi xi against libm over [0, 1], quadrant edges included."""
    fn = getattr(backend._core(), f"mc_sincos_2pi_{suffix}")
    xi = np.concatenate([np.linspace(0.0, 1.0, 20001), [0.125, 0.375, 0.625, 0.875, 1 - 2**-24]])
    if suffix == "f32":
        xi = xi.astype(np.float32).astype(np.float64)
    got = np.array([fn(x) for x in xi])
    np.testing.assert_allclose(got[:, 0], np.sin(2 * np.pi * xi), rtol=0, atol=tol)
    np.testing.assert_allclose(got[:, 1], np.cos(2 * np.pi * xi), rtol=0, atol=tol)


def test_python_layout_constants_match_the_header():
    core = backend._core()
    assert (run_mod.N_SCALARS, run_mod.MAX_LAYERS) == (core.mc_n_scalars, core.mc_max_layers)
    assert (run_mod.CONFIG_HEADER, run_mod.CONFIG_PER_LAYER) == (core.mc_config_header,
                                                                core.mc_config_per_layer)
    # EVENTS last; the scalar of rough interfaces just before it (mc.h's enum)
    assert (run_mod.R_SPECULAR, run_mod.EVENTS) == (9, 10) == \
        tuple(range(run_mod.N_SCALARS - 2, run_mod.N_SCALARS))


# -- inputs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(n_photons=0), "n_photons"),
    (dict(n_photons=1.5), "n_photons"),
    (dict(r_max=0.0), "r_max"),
    (dict(r_max=float("nan")), "r_max"),
    (dict(n_r=0), "n_r"),
    (dict(n_above=-1.0), "n_above"),
    (dict(n_below=0.0), "n_below"),
    (dict(roughness_below=1.5), r"roughness_below must be in \[0, 1\]"),
    (dict(roughness_below=-0.1), "roughness_below"),
    (dict(roughness_below=float("nan")), "roughness_below"),
    (dict(roughness_below="rough"), "roughness_below"),
    (dict(seed=-1), "seed"),
    (dict(seed=2**64), "seed"),
    (dict(incidence_angle=90.0), "incidence_angle"),
    (dict(max_path_length=0.0), "max_path_length"),
    (dict(precision="half"), "precision"),
    (dict(backend="numpy"), "backend"),
    (dict(n_threads=0), "n_threads"),
    (dict(layers=[]), "at least one"),
    (dict(layers=[SLAB, "skin"]), r"layers\[1\]"),
    (dict(layers=[Layer(bssrdf.Medium([1, 2], [3, 4]), 1.0)]), "single-channel"),
    (dict(layers=[Layer(bssrdf.Medium(1, 1), float("inf")), SLAB]), "semi-infinite"),
    (dict(layers=[Layer(bssrdf.Medium(0.0, 1.0), float("inf"))]), "never ends"),
    (dict(layers=[SLAB] * 33), "at most"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    args = dict(layers=[SLAB], n_photons=10, r_max=1.0, n_r=10)
    args.update(kwargs)
    layers, n = args.pop("layers"), args.pop("n_photons")
    with pytest.raises(ValueError, match=match):
        simulate(layers, n, **args)


@pytest.mark.parametrize("thickness", [0.0, -1.0, float("nan")])
def test_layer_checks_thickness(thickness):
    with pytest.raises(ValueError, match="thickness"):
        Layer(bssrdf.Medium(1.0, 1.0), thickness)


# -- bookkeeping -----------------------------------------------------------------------------
def test_energy_balance_and_units():
    res = _cpu([SLAB], 20_000, n_z=20)
    assert res.R_specular == 0.0
    assert abs(res.energy_balance - res.roulette_net + res.W_cut - 1.0) < 1e-6
    assert res.A_total == pytest.approx(res.A_layers.sum())
    # R_r [mm^-2] integrates over the annuli to the part of R_diffuse inside r_max
    area = np.pi * np.diff(res.r_edges**2)
    assert (res.R_r * area).sum() <= res.R_diffuse + 1e-12
    # A_z [mm^-1] integrates over the slab's depth to A_total (z_max = thickness by default)
    assert res.z_edges[-1] == pytest.approx(0.2)
    assert (res.A_z * np.diff(res.z_edges)).sum() == pytest.approx(res.A_total, rel=1e-9)
    assert res.A_outside_z == 0.0
    for name in bssrdf.mc.TALLIES:
        err = np.asarray(res.stderr(name))
        assert np.all(np.isfinite(err)) and np.all(err >= 0), name
    with pytest.raises(KeyError):
        res.stderr("R_nonsense")


def test_ledger_check_raises_naming_the_tallies():
    plan = run_mod._plan([SLAB], 1.0, 1.0, 1.0, 10, None, None, 0.0, None, np.float32)
    ints = np.zeros(run_mod.N_SCALARS + 1, dtype=object)
    n = 1000
    ints[run_mod.R_DIFFUSE] = int(0.1 * n * 2**32)
    ints[run_mod.T_TOTAL] = int(0.6 * n * 2**32)     # 0.3 of the weight is missing
    with pytest.raises(EnergyConservationError, match="R_diffuse 0.1.*T_total 0.6.*A_total 0"):
        run_mod._check_ledger(ints, n, plan, events=0, dtype=np.float32)


def test_split_layer_equals_one_layer():
    """An interface between two layers of the same medium changes nothing (steps carry over)."""
    m = bssrdf.Medium(sigma_a=0.5, sigma_s=5.0, g=0.5, eta=1.4)
    one = _cpu([Layer(m, 0.6)], 40_000)
    two = _cpu([Layer(m, 0.25), Layer(m, 0.35)], 40_000, seed=1)
    for name in ("R_diffuse", "T_total", "A_total", "R_single", "T_unscattered"):
        # crossing the extra interface is an event of its own (new random numbers): compare
        # statistically
        diff = getattr(two, name) - getattr(one, name)
        assert abs(diff) < 4 * math.hypot(one.stderr(name), two.stderr(name)), name
    assert two.A_layers.sum() == pytest.approx(two.A_total)


def test_path_cut_closed_form():
    """Pure absorber (albedo 0): weight survives a hop of 1 mm with probability exp(-mu_t)."""
    layer = Layer(bssrdf.Medium(sigma_a=1.0, sigma_s=0.0), 10.0)
    res = _cpu([layer], 40_000, max_path_length=1.0)
    expect = math.exp(-1.0)
    assert abs(res.W_cut - expect) < 4 * res.stderr("W_cut") + 1e-3
    assert abs(res.W_cut + res.A_total - 1.0) < 1e-6


def test_oblique_unscattered_transmission_closed_form():
    """Index-matched absorbing slab at 40 degrees: T = exp(-mu_a d / cos 40°) (Beer-Lambert)."""
    layer = Layer(bssrdf.Medium(sigma_a=0.7, sigma_s=0.0, eta=1.0), 1.3)
    res = _cpu([layer], 20_000, incidence_angle=40.0, precision="double")
    expect = math.exp(-0.7 * 1.3 / math.cos(math.radians(40)))
    assert abs(res.T_unscattered - expect) < 4 * res.stderr("T_unscattered")
    assert res.T_total == res.T_unscattered and res.R_diffuse == 0.0
    # with a mismatched index the specular part is Fresnel's at 40 degrees
    res = _cpu([Layer(bssrdf.Medium(0.7, 0.0, eta=1.5), 1.3)], 1_000, incidence_angle=40.0)
    assert res.R_specular == pytest.approx(float(bssrdf.fresnel.F_r(math.cos(math.radians(40)), 1.5)))


def test_reproducible_and_thread_independent():
    a = _cpu([SLAB], 5_000, seed=3, n_threads=1)
    b = _cpu([SLAB], 5_000, seed=3, n_threads=2)
    for name in bssrdf.mc.TALLIES:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(a.stderr(name), b.stderr(name))
    c = _cpu([SLAB], 5_000, seed=4)
    assert c.R_diffuse != a.R_diffuse


def test_launch_sizes_change_nothing(monkeypatch):
    """Photon i is in batch i mod 64 whatever launch traces it: tallies and errors are bit-identical."""
    a = _cpu([SLAB], 6_000, seed=9)
    monkeypatch.setattr(run_mod, "MAX_LAUNCH", 257)  # launches of 256/257 photons instead of a few big
    b = _cpu([SLAB], 6_000, seed=9)
    for name in bssrdf.mc.TALLIES:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(a.stderr(name), b.stderr(name))


# every interface rough (the top, so photons enter through a rough top; inner ones; the bottom), a clear
# film, oblique light: every branch of the rough-interface step
ROUGH_STACK = [Layer(bssrdf.Medium(0.2, 8.0, 0.8, 1.4), 0.5, roughness=0.3),
               Layer(bssrdf.Medium(0.0, 0.0, 0.0, 1.5), 0.2, roughness=0.1),
               Layer(bssrdf.Medium(0.05, 3.0, 0.0, 1.33), 2.0, roughness=0.6)]


@pytest.mark.parametrize("stack", ["smooth", "rough"])
@pytest.mark.parametrize("mode", [0, 2], ids=["gpu-loop", "generic-simd"])
@pytest.mark.parametrize("precision,tol", [("double", 1e-9), ("single", 2e-3)])
def test_cpu_builds_trace_the_same_photons(monkeypatch, mode, precision, tol, stack):
    """The default CPU lanes (AVX2 build here), the generic SIMD build and mc_trace_lane (the loop the
    GPU kernel runs) trace the same photons: the same tallies up to the rounding of the vector log
    (in double, the same tallies bit for bit: checked for the rough stack)."""
    layers = [Layer(bssrdf.Medium(0.2, 8.0, 0.8, 1.4), 0.5), Layer(bssrdf.Medium(0.05, 3.0, 0.0, 1.33), 2.0)]
    kw = dict(r_max=3.0, n_r=30, seed=5, precision=precision, n_below=1.5, max_path_length=40.0)
    if stack == "rough":
        layers = ROUGH_STACK
        kw.update(roughness_below=0.4, incidence_angle=35.0)
    default = _cpu(layers, 20_000, **kw)
    real_init = run_mod._CpuRunner.__init__

    def other_init(self, *a, **k):
        real_init(self, *a, **k)
        self.mode = mode

    monkeypatch.setattr(run_mod._CpuRunner, "__init__", other_init)
    other = _cpu(layers, 20_000, **kw)
    assert other.events == pytest.approx(default.events, rel=tol)
    for name in ("R_diffuse", "T_total", "A_total", "R_single", "T_unscattered", "W_cut"):
        assert getattr(other, name) == pytest.approx(getattr(default, name), abs=tol), name
    np.testing.assert_allclose(other.A_z, default.A_z, rtol=0, atol=tol * default.A_z.max())
    if stack == "rough":
        assert other.R_specular == pytest.approx(default.R_specular, abs=tol)
        assert default.R_specular > 0
        if precision == "double":
            for name in bssrdf.mc.TALLIES:
                np.testing.assert_array_equal(getattr(other, name), getattr(default, name), err_msg=name)
            assert other.events == default.events


# -- files -----------------------------------------------------------------------------------
def test_hdf5_round_trip(tmp_path):
    res = _cpu([SLAB, Layer(bssrdf.Medium(0.1, 2.0, 0.9, 1.4), float("inf"))], 3_000, n_above=1.2)
    path = res.save(tmp_path / "sub" / "run.h5")
    assert sorted(os.listdir(path.parent)) == ["run.h5"]  # no temporary left behind
    back = bssrdf.mc.load(path)
    assert back.layers == res.layers
    assert (back.n_above, back.seed, back.n_photons, back.backend) == (1.2, 0, 3_000, "cpu")
    for name in bssrdf.mc.TALLIES:
        np.testing.assert_array_equal(getattr(back, name), getattr(res, name))
        np.testing.assert_array_equal(back.stderr(name), res.stderr(name))
    import h5py

    with h5py.File(path) as f:
        assert f["R_r"].attrs["units"] == "mm^-2"
        assert f.attrs["bssrdf_version"] == bssrdf.__version__


def test_hdf5_round_trip_rough(tmp_path):
    """Each layer's roughness and roughness_below are saved and read back; a file without them (written
    before rough interfaces existed) reads as smooth."""
    layers = [Layer(bssrdf.Medium(0.5, 5.0, 0.5, 1.4), 0.3, roughness=0.3),
              Layer(bssrdf.Medium(0.1, 2.0, 0.9, 1.3), 0.5, roughness=0.1)]
    res = _cpu(layers, 2_000, roughness_below=0.6, n_below=1.5)
    assert res.stderr("R_specular") > 0
    path = res.save(tmp_path / "rough.h5")
    back = bssrdf.mc.load(path)
    assert back.layers == res.layers and back.roughness_below == 0.6
    for name in bssrdf.mc.TALLIES:
        np.testing.assert_array_equal(getattr(back, name), getattr(res, name))
        np.testing.assert_array_equal(back.stderr(name), res.stderr(name))
    import h5py

    with h5py.File(path, "r+") as f:  # make it an old file
        rows = f["layers"][()]
        del f["layers"]
        f.create_dataset("layers", data=rows[["sigma_a", "sigma_s", "g", "eta", "thickness"]])
        del f.attrs["roughness_below"]
    old = bssrdf.mc.load(path)
    assert [L.roughness for L in old.layers] == [0.0, 0.0] and old.roughness_below == 0.0
    assert old.R_diffuse == res.R_diffuse


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    res = _cpu([SLAB], 500)
    import h5py

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(h5py.File, "create_dataset", boom)
    with pytest.raises(OSError):
        res.save(tmp_path / "run.h5")
    assert os.listdir(tmp_path) == []


# -- interruption ----------------------------------------------------------------------------
@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs main thread")
def test_ctrl_c_returns_a_partial_result():
    before = signal.getsignal(signal.SIGINT)   # default_int_handler, or SIG_IGN under nohup
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        res = _cpu([SLAB], 10**9)
    finally:
        timer.cancel()
    assert res.partial
    assert 0 < res.n_photons < 10**9
    assert res.n_batches == 64 and np.isfinite(res.stderr("R_diffuse")) and res.stderr("R_diffuse") > 0
    assert abs(res.energy_balance - res.roulette_net - 1.0) < 1e-6
    assert "PARTIAL" in res.summary()
    assert signal.getsignal(signal.SIGINT) is before   # the run restored the handler it found


# -- GPU ---------------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.parametrize("stack", ["smooth", "rough"])
@pytest.mark.parametrize("precision", ["single", "double"])
def test_gpu_traces_the_same_photons_as_the_cpu(precision, stack):
    layers = [Layer(bssrdf.Medium(0.2, 8.0, 0.8, 1.4), 0.5), Layer(bssrdf.Medium(0.05, 3.0, 0.0, 1.33), 2.0)]
    kw = dict(r_max=3.0, n_r=30, seed=11, precision=precision, progress=False, n_above=1.0, n_below=1.5)
    names = ("R_diffuse", "T_total", "A_total", "R_single", "T_unscattered")
    if stack == "rough":
        layers = ROUGH_STACK
        kw.update(roughness_below=0.4, incidence_angle=35.0)
        names += ("R_specular",)
    cpu = simulate(layers, 50_000, backend="cpu", **kw)
    gpu = simulate(layers, 50_000, backend="cuda", **kw)
    tol = 1e-9 if precision == "double" else 2e-3
    for name in names:
        assert getattr(gpu, name) == pytest.approx(getattr(cpu, name), abs=tol), name
    np.testing.assert_allclose(gpu.R_r, cpu.R_r, rtol=0.05 if precision == "single" else 1e-9,
                               atol=3 * cpu.stderr("R_r").max() if precision == "single" else 0)
    again = simulate(layers, 50_000, backend="cuda", **kw)
    for name in bssrdf.mc.TALLIES:
        np.testing.assert_array_equal(getattr(again, name), getattr(gpu, name))


@pytest.mark.cuda
def test_gpu_large_tally_arrays_use_global_memory():
    res = simulate([SLAB], 20_000, backend="cuda", r_max=1.0, n_r=4000, n_z=4000, progress=False)
    cpu = simulate([SLAB], 20_000, backend="cpu", r_max=1.0, n_r=4000, n_z=4000, progress=False)
    assert res.R_diffuse == pytest.approx(cpu.R_diffuse, abs=2e-3)
    assert "global" in res.device

"""Layered composition (Donner & Jensen 2005): bssrdf.profiles.layered against closed forms.

References, none computed by the code under test:
- the closed-form dipole (Jensen 2001) and multipole image/modal sums (bssrdf.profiles.multipole, whose
  own tests check them against the papers' values) for the transform of a single layer;
- the classical adding formulas for total fluxes, on totals from multipole.total_R/total_T (their
  closed-form geometric series), for the k = 0 composition;
- numerical quadrature ∫2πr R(r) dr of the transformed profile against the exact R̂(0).
The Monte Carlo comparisons are in tests/test_layered_mc.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import integrate

import bssrdf
from bssrdf import backend
from bssrdf.profiles import DiffusionValidityWarning, dipole, layered, multipole

INF = float("inf")
MARBLE = bssrdf.materials.get("marble")
SKIN = bssrdf.Medium([0.032, 0.17, 0.48], [0.74, 0.88, 1.01], 0.0, 1.4)   # Donner & Jensen-like, mm⁻¹
RADII = np.concatenate([[0.0, 1e-7, 1e-5], np.geomspace(1e-4, 60.0, 500)])


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiffusionValidityWarning)
        return fn(*args, **kwargs)


def _assert_transform_close(got, ref, *, rel=1e-5, floor=1e-9, abs_peak=1e-9):
    """Relative error ≤ rel where |ref| ≥ floor·peak and not near a sign change; absolute ≤ abs_peak·peak."""
    peak = np.abs(ref).max(axis=0)
    err = np.abs(got - ref)
    assert np.all(err <= abs_peak * peak), (err / peak).max()
    big = np.abs(ref) >= floor * peak
    # a profile that changes sign (thin slab under index mismatch) is not judged relatively at its zero
    smooth = np.ones_like(big)
    smooth[1:-1] = (np.sign(ref[:-2]) == np.sign(ref[1:-1])) & (np.sign(ref[2:]) == np.sign(ref[1:-1]))
    sel = big & smooth
    assert np.all(err[sel] <= rel * np.abs(ref[sel])), (err[sel] / np.abs(ref[sel])).max()


# -- 1. one layer: the transform against closed forms ---------------------------------------------------
@pytest.mark.parametrize("medium", [MARBLE, SKIN], ids=["marble", "skin"])
def test_semi_infinite_layer_is_the_dipole(medium):
    got = layered.R(RADII, [bssrdf.Layer(medium, INF)], backend="numpy")
    _assert_transform_close(got, dipole.R_d(RADII, medium, backend="numpy"))
    assert np.all(layered.T(RADII, [bssrdf.Layer(medium, INF)], backend="numpy") == 0.0)


@pytest.mark.parametrize("d", [0.3, 1.0, 5.0])
@pytest.mark.parametrize("medium", [MARBLE, SKIN], ids=["marble", "skin"])
def test_one_layer_composed_with_nothing_is_the_multipole(medium, d):
    # The multipole's image sum converged to rtol 1e-8 and its modal sum far out (multipole.py);
    # the layered model's FFTLog inverse of the exact R̂(k), T̂(k). Measured: relative 1e-11 to 1e-8
    # where |R| ≥ 1e-9 R(0), absolute ≤ 3e-10 R(0) everywhere (0.3 mm slabs included, whose R(r)
    # turns negative far out under this index mismatch).
    layers = [bssrdf.Layer(medium, d)]
    kw = dict(n_above=1.2, n_below=1.5)
    for lay_fn, ref_fn in ((layered.R, multipole.R), (layered.T, multipole.T)):
        got = _quiet(lay_fn, RADII, layers, backend="numpy", **kw)
        ref = _quiet(ref_fn, RADII, medium, d, backend="numpy", **kw)
        _assert_transform_close(got, ref, rel=1e-5)


def test_totals_of_the_transformed_profiles():
    # ∫2πr R(r) dr of the profile (FFTLog, interpolated) against R̂(0), for a three-layer stack: the
    # integral as ∫2πr²R d(ln r) by Simpson's rule on 40001 log-spaced radii from 1e-7 to 2000 mm (the
    # profile is flat below and negligible above). The issue asks 1e-4; measured ≤ 2e-9.
    layers = [bssrdf.Layer(SKIN, 0.25), bssrdf.Layer(MARBLE, 1.0), bssrdf.Layer(SKIN, 2.0)]
    u = np.linspace(math.log(1e-7), math.log(2000.0), 40001)
    r = np.exp(u)
    for fn, total in ((layered.R, layered.total_R), (layered.T, layered.total_T)):
        exact = _quiet(total, layers, 1.0, 1.33)
        prof = _quiet(fn, r, layers, 1.0, 1.33, backend="numpy")
        val = integrate.simpson(2 * math.pi * (r * r)[:, None] * prof, x=u, axis=0)
        np.testing.assert_allclose(val, exact, rtol=1e-7)


# -- 2. composition ------------------------------------------------------------------------------------
def _adding(layers, n_above, n_below):
    """Classical adding of total fluxes (Kubelka 1954), from the bottom up, on the multipole's totals of
    each layer lit from above (R, T) and from below (R', T': the slab's faces swapped)."""
    n = [n_above] + [float(L.medium.eta[0]) if L.medium.eta.ndim else float(L.medium.eta) for L in layers]
    n += [n_below]
    tot = []
    for i, L in enumerate(layers):
        if L.semi_infinite:
            tot.append((dipole.total_R_d(L.medium, n[i]), 0.0, None, None))
            continue
        R = _quiet(multipole.total_R, L.medium, L.thickness, n[i], n[i + 2])
        T = _quiet(multipole.total_T, L.medium, L.thickness, n[i], n[i + 2])
        Rb = _quiet(multipole.total_R, L.medium, L.thickness, n[i + 2], n[i])
        Tb = _quiet(multipole.total_T, L.medium, L.thickness, n[i + 2], n[i])
        tot.append((R, T, Rb, Tb))
    R, T = tot[-1][0], tot[-1][1]
    for R1, T1, R1b, T1b in reversed(tot[:-1]):
        R, T = R1 + T1 * R * T1b / (1 - R * R1b), T1 * T / (1 - R * R1b)
    return R, T


STACKS = {
    "two, mismatched": ([bssrdf.Layer(bssrdf.Medium(0.05, 2.0, 0.0, 1.4), 1.5),
                         bssrdf.Layer(bssrdf.Medium(0.02, 1.0, 0.0, 1.33), INF)], 1.0, 1.0),
    "three, on glass": ([bssrdf.Layer(bssrdf.Medium(0.1, 4.0, 0.5, 1.45), 0.8),
                         bssrdf.Layer(bssrdf.Medium(0.02, 2.0, 0.0, 1.35), 2.0),
                         bssrdf.Layer(bssrdf.Medium(0.05, 1.0, 0.0, 1.5), 3.0)], 1.0, 1.5),
    "four, no absorption": ([bssrdf.Layer(bssrdf.Medium(0.0, 2.0, 0.0, 1.3), 1.0),
                             bssrdf.Layer(bssrdf.Medium(0.0, 5.0, 0.0, 1.6), 0.5),
                             bssrdf.Layer(bssrdf.Medium(0.0, 1.0, 0.0, 1.0), 2.0),
                             bssrdf.Layer(bssrdf.Medium(0.0, 3.0, 0.0, 1.4), 1.0)], 1.2, 1.0),
}


@pytest.mark.parametrize("name", list(STACKS))
def test_k0_composition_is_the_adding_formula(name):
    layers, n_above, n_below = STACKS[name]
    R, T = _adding(layers, n_above, n_below)
    assert _quiet(layered.total_R, layers, n_above, n_below) == pytest.approx(R, rel=1e-10, abs=1e-14)
    assert _quiet(layered.total_T, layers, n_above, n_below) == pytest.approx(T, rel=1e-10, abs=1e-14)
    if name == "four, no absorption":   # diffusion conserves energy: R + T = 1
        assert R + T == pytest.approx(1.0, abs=1e-12)


def test_reflectance_from_below_is_used_and_matters():
    # Layer 1 sees n = 1 above and 1.33 below: lit from below its R̂₁' differs from R̂₁. Taking the
    # paper's equations literally (R̂₁ in the denominator) changes the total by +7.5% here; the
    # Monte Carlo tracer sides with the bottom-lit one (tests/test_layered_mc.py, "two, mismatched").
    layers, n_above, n_below = STACKS["two, mismatched"]
    slabs = layered._slabs(layers, n_above, n_below, 0.0)
    k0 = np.zeros((1, 1))
    right = float(layered._compose(np, slabs, k0)[0].ravel()[0])
    literal = float(layered._compose(np, slabs, k0, symmetric=True)[0].ravel()[0])
    assert right == pytest.approx(float(layered.total_R(layers, n_above, n_below)), rel=1e-14)
    assert 0.06 < literal / right - 1 < 0.09, (literal, right)
    # with matched indices on both faces the two are the same
    same = [bssrdf.Layer(bssrdf.Medium(0.05, 2.0, 0.0, 1.0), 1.5),
            bssrdf.Layer(bssrdf.Medium(0.02, 1.0, 0.0, 1.0), INF)]
    s = layered._slabs(same, 1.0, 1.0, 0.0)
    assert float(layered._compose(np, s, k0)[0].ravel()[0]) == pytest.approx(
        float(layered._compose(np, s, k0, symmetric=True)[0].ravel()[0]), rel=1e-14)


@pytest.mark.parametrize("medium, d", [(MARBLE, 4.0), (bssrdf.Medium([0.05, 0.2], [2.0, 1.0], 0.0, 1.4), 6.0),
                                       (bssrdf.Medium(0.02, 1.3, 0.0, 1.0), 6.0)],
                         ids=["marble", "two-channel", "weakly-absorbing"])
def test_split_layer_composes_close_to_the_whole(medium, d):
    # Two identical halves against the undivided slab. The composition treats the mid-plane as a
    # boundary (index matched: F_dr(1) ≈ 0.0016, extrapolation 2D) through which the flux leaves one
    # half, and re-launches what crosses as a pencil beam whose diffusion source sits one reduced mean
    # free path ℓ *inside* the next half: light is carried forward by part of ℓ at each crossing. So
    # R changes little and T gains. Measured: total R −0.1% to −0.8%, R(r ≤ 2 mm) within 0.4%; total T
    # +2.7% to +16%, i.e. ln(T_split/T) = σtr·δ with δ ≈ 0.2–0.5 ℓ. Bounds: |ΔR|/R < 1% and
    # 0 < ln(T_split/T) < σtr ℓ (a shift by less than one ℓ).
    whole, halves = [bssrdf.Layer(medium, d)], [bssrdf.Layer(medium, d / 2)] * 2
    R_w, R_h = layered.total_R(whole), layered.total_R(halves)
    T_w, T_h = layered.total_T(whole), layered.total_T(halves)
    assert np.all(np.abs(R_h / R_w - 1) < 0.01), R_h / R_w
    shift = np.log(T_h / T_w) / np.atleast_1d(medium.sigma_tr)
    assert np.all((shift > 0) & (shift < np.atleast_1d(medium.mfp))), shift / medium.mfp
    r = np.array([0.0, 0.5, 1.0, 2.0])
    ratio = layered.R(r, halves, backend="numpy") / layered.R(r, whole, backend="numpy")
    assert np.all(np.abs(ratio - 1) < 0.005), ratio


def test_rough_interfaces_change_A_continuously():
    # α → 0 joins the smooth model; roughness lowers the internal diffuse reflectance of a boundary
    # with total internal reflection (n 1.4 in air), so more light leaves at the top: R rises.
    med = bssrdf.Medium(0.02, 2.0, 0.0, 1.4)
    smooth = layered.total_R([bssrdf.Layer(med, 2.0)])
    tiny = layered.total_R([bssrdf.Layer(med, 2.0, roughness=1e-4)])
    rough = layered.total_R([bssrdf.Layer(med, 2.0, roughness=0.5)])
    assert tiny == pytest.approx(smooth, rel=2e-4)
    assert rough > smooth * 1.02
    # a rough interface between equal indices is invisible
    same = [bssrdf.Layer(med, 1.0), bssrdf.Layer(med, 1.0, roughness=0.8)]
    assert layered.total_R(same) == pytest.approx(layered.total_R([bssrdf.Layer(med, 1.0)] * 2), rel=1e-14)
    # roughness_below acts on the bottom face only
    slab = [bssrdf.Layer(med, 2.0)]
    assert layered.total_T(slab, roughness_below=0.5) > layered.total_T(slab)


def test_entry_transmittance():
    med = bssrdf.Medium(0.02, 2.0, 0.0, 1.5)
    assert float(layered.entry_transmittance([bssrdf.Layer(med, 1.0)])) == pytest.approx(0.96, rel=1e-12)
    # a rough top reflects less of a normal beam (tilted facets see smaller Fresnel reflectance):
    # ρ(μ = 1) = 0.0378 at α = 0.3 against 0.04 (an independent integration: tests/test_microfacet.py)
    rough = float(layered.entry_transmittance([bssrdf.Layer(med, 1.0, roughness=0.3)]))
    assert 0.961 < rough < 0.963


def test_shapes_kinds_and_float32():
    layers = [bssrdf.Layer(SKIN, 0.5), bssrdf.Layer(MARBLE, INF)]
    r = np.linspace(0, 5, 12).reshape(3, 4)
    out = layered.R(r, layers, backend="numpy")
    assert out.shape == (3, 4, 3) and out.dtype == np.float64
    out32 = layered.R(r.astype(np.float32), layers, backend="numpy")
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, rtol=1e-6)
    scalar = [bssrdf.Layer(SKIN.channel(0), 0.5), bssrdf.Layer(MARBLE.channel(0), INF)]
    assert layered.R(np.array([0.0, 1.0]), scalar, backend="numpy").shape == (2,)
    assert layered.total_R(layers).shape == (3,)
    R_hat, T_hat = layered.transforms(np.array([[0.0, 1.0]]), layers)
    assert R_hat.shape == (1, 2, 3) and np.all(T_hat == 0)
    if backend.cpu_available():
        np.testing.assert_array_equal(layered.R(r, layers, backend="cpu"), out)


@pytest.mark.parametrize("kwargs, match", [
    (dict(layers=[]), "empty stack"),
    (dict(layers="marble"), "sequence of bssrdf.Layer"),
    (dict(layers=[bssrdf.Layer(MARBLE, INF), bssrdf.Layer(MARBLE, 1.0)]), r"layers\[0\].*only the last"),
    (dict(layers=[bssrdf.Layer(MARBLE, 1.0), bssrdf.Layer(MARBLE.channel(0), 1.0)]), "same channels"),
    (dict(layers=[bssrdf.Layer(MARBLE, 1.0), MARBLE]), r"layers\[1\] must be a bssrdf.Layer"),
    (dict(roughness_below=1.5), "roughness_below must be in"),
    (dict(n_above=0.0), "n_above"),
    (dict(n_below=[1.0, 1.2]), "n_below"),
    (dict(r=np.array([-1.0])), "r must be finite and >= 0"),
])
def test_bad_input(kwargs, match):
    args = dict(r=np.array([0.0, 1.0]), layers=[bssrdf.Layer(MARBLE, 1.0)])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        layered.R(args.pop("r"), args.pop("layers"), **args, backend="numpy")


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_bad_thickness_and_roughness_in_layer(bad):
    with pytest.raises(ValueError, match="thickness"):
        bssrdf.Layer(MARBLE, bad)
    with pytest.raises(ValueError, match="roughness"):
        bssrdf.Layer(MARBLE, 1.0, roughness=bad - 2.0)


def test_thin_layer_warns():
    with pytest.warns(DiffusionValidityWarning, match="clamped"):
        layered.R(np.array([0.0]), [bssrdf.Layer(MARBLE, 0.2), bssrdf.Layer(MARBLE, INF)], backend="numpy")


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a CUDA device")
def test_gpu_matches_numpy():
    import cupy as cp

    layers = [bssrdf.Layer(SKIN, 0.25, roughness=0.3), bssrdf.Layer(MARBLE, 1.0), bssrdf.Layer(SKIN, INF)]
    r = np.linspace(0, 20, 1024)
    ref = layered.R(r, layers, backend="numpy")
    got = layered.R(cp.asarray(r), layers, backend="cuda")
    assert isinstance(got, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(got), ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    got_T = layered.T(r, layers, backend="cuda")   # NumPy radii, GPU computation: NumPy back
    assert isinstance(got_T, np.ndarray)


def test_cumulative_against_the_dipole_closed_form():
    # ∫₀^r 2πs R_d(s) ds of the dipole in closed form: each source at height z contributes
    # 2π(e^{−σtr z} − z e^{−σtr δ}/δ), δ = sqrt(r² + z²) (Jensen 2001's sources integrated by parts),
    # times α'/(4π). Measured: within 3e-11 of the total at every r.
    from bssrdf.fresnel import A

    m = MARBLE
    r = np.array([0.0, 1e-9, 1e-6, 1e-3, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 1e4])
    got = layered.cumulative_R(r, [bssrdf.Layer(m, INF)], backend="numpy")
    st = m.sigma_t_prime
    z_r = 1 / st
    z_v = z_r + 4 * A(m.eta) / (3 * st)

    def part(z):
        d = np.sqrt(r[:, None] ** 2 + z * z)
        return np.exp(-m.sigma_tr * z) - z * np.exp(-m.sigma_tr * d) / d

    ref = m.albedo_prime / 2 * (part(z_r) + part(z_v))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * float(ref.max()))
    layers = [bssrdf.Layer(SKIN, 0.5), bssrdf.Layer(MARBLE, 2.0)]
    far = _quiet(layered.cumulative_T, np.array([1e4]), layers, backend="numpy")[0]
    np.testing.assert_allclose(far, _quiet(layered.total_T, layers), rtol=1e-9)

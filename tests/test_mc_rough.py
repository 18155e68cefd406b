"""Rough (GGX) interfaces of the Monte Carlo tracer against an independent reference.

The tracer crosses a rough interface by sampling a microfacet normal from the GGX distribution of
visible normals (Heitz 2018), choosing reflection or refraction by Fresnel at that facet, and drawing
the facet again while the outgoing direction is on the wrong side of the surface (bssrdf/mc.h,
``rough_dielectric``, ``rough_step``): the outcome is conditioned on a valid direction, and the
interface conserves energy. The reference here is the rough dielectric BSDF of Walter, Marschner, Li &
Torrance 2007 ("Microfacet models for refraction through rough surfaces", EGSR) with GGX D and the
masking G1 of the *incident* direction only (the tracer applies no masking weight to the outgoing
one), integrated numerically (scipy's adaptive quadrature) over the *outgoing* directions: the
unnormalised reflectance ρ' = ∫ f_r |cos θ_o| dω_o and transmittance τ' = ∫ f_t |cos θ_o| dω_o are the
probabilities of a valid reflection and refraction for one facet drawn from the visible normals, and
the model's ρ = ρ'/(ρ' + τ'), τ = τ'/(ρ' + τ'). That is a different method from the tracer's (a
deterministic integral over o, with the half-vector Jacobians of Walter's eqs. 14 and 16 built into
f_r and f_t, against random microfacet normals), so agreement validates the visible-normal sampling,
the Fresnel decision, the refraction and the redraws together.

Statistical agreement: |z| < 4 against the run's own standard error (64 batches), fixed seeds, 1e5
photons or more; the reference's own error (quad at epsrel 1e-8) is negligible. Measured values are
noted beside each check (CPU, single precision).

Units: mm and mm⁻¹ (the slabs are clear, so only their indices matter).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import integrate

from bssrdf import Layer, Medium, backend, mc

pytestmark = pytest.mark.skipif(not backend.cpu_available(), reason="needs the CPU extension")

Z_MAX = 4.0
ALPHAS = (0.1, 0.3, 0.7)


# -- the reference: Walter et al. 2007, integrated over outgoing directions ----------------------------
def _fresnel(c: float, eta: float) -> float:
    """Unpolarised Fresnel reflectance at incidence cosine c ≥ 0, eta = n_t / n_i (1 under TIR)."""
    s2 = (1.0 - c * c) / (eta * eta)
    if s2 >= 1.0:
        return 1.0
    ct = math.sqrt(1.0 - s2)
    rs = (c - eta * ct) / (c + eta * ct)
    rp = (eta * c - ct) / (eta * c + ct)
    return 0.5 * (rs * rs + rp * rp)


def _ggx_D(hz: float, alpha: float) -> float:
    """GGX D(h) = α² / (π cos⁴θ_h (α² + tan²θ_h)²) for cos θ_h = hz > 0 (Walter eq. 33)."""
    if hz <= 0.0:
        return 0.0
    c2 = hz * hz
    return alpha * alpha / (math.pi * c2 * c2 * (alpha * alpha + (1.0 - c2) / c2) ** 2)


def _smith_G1(vz: float, alpha: float) -> float:
    """Smith G1 = 2 / (1 + sqrt(1 + α² tan²θ_v)) (Walter eq. 34; the side checks are the caller's)."""
    c2 = vz * vz
    return 2.0 / (1.0 + math.sqrt(1.0 + alpha * alpha * (1.0 - c2) / c2))


def _bsdf_cos(ix, iz, ox, oy, oz, n_i, n_o, alpha) -> float:
    """Walter's f_r or f_t (by the side of o) times |o·n|, for i = (ix, 0, iz) on the n_i side (+z), with
    the masking G1 of i only (module notes)."""
    if oz > 0.0:  # reflection: h_r = (i + o) / |i + o| (Walter eq. 13), f_r eq. 20
        hx, hy, hz = ix + ox, oy, iz + oz
        ln = math.sqrt(hx * hx + hy * hy + hz * hz)
        hx, hy, hz = hx / ln, hy / ln, hz / ln
        ih, oh = ix * hx + iz * hz, ox * hx + oy * hy + oz * hz
        if ih <= 0.0 or oh <= 0.0:  # the per-side checks χ+ of G1
            return 0.0
        return _fresnel(ih, n_o / n_i) * _ggx_D(hz, alpha) * _smith_G1(iz, alpha) / (4.0 * iz)
    # refraction: h_t = −(n_i i + n_o o), oriented to +z (Walter eq. 16), f_t eq. 21
    hx, hy, hz = -(n_i * ix + n_o * ox), -(n_o * oy), -(n_i * iz + n_o * oz)
    ln = math.sqrt(hx * hx + hy * hy + hz * hz)
    s = 1.0 / ln if hz >= 0.0 else -1.0 / ln
    hx, hy, hz = hx * s, hy * s, hz * s
    ih, oh = ix * hx + iz * hz, ox * hx + oy * hy + oz * hz
    if ih <= 0.0 or oh >= 0.0:  # i above the facet, o below it
        return 0.0
    return (ih * -oh * n_o * n_o * (1.0 - _fresnel(ih, n_o / n_i)) * _ggx_D(hz, alpha) * _smith_G1(iz, alpha)
            / (iz * (n_i * ih + n_o * oh) ** 2))


@functools.cache
def walter_valid(theta_deg: float, n_i: float, n_o: float, alpha: float) -> tuple[float, float]:
    """(ρ', τ'): ∫ f |cos θ_o| dω_o over the upper (ρ') and lower (τ') hemisphere for light from the n_i
    side at θ_i degrees, dω_o = sin θ_o dθ_o dφ_o, by nested scipy quad with a breakpoint at the specular
    (ρ') or refracted (τ') angle, φ over [0, π] twice (symmetry)."""
    th = math.radians(theta_deg)
    ix, iz = math.sin(th), math.cos(th)

    def over_phi(theta_o, sign):
        s, c = math.sin(theta_o), math.cos(theta_o)
        f = lambda phi: _bsdf_cos(ix, iz, s * math.cos(phi), s * math.sin(phi), sign * c,  # noqa: E731
                                  n_i, n_o, alpha)
        return 2.0 * s * integrate.quad(f, 0.0, math.pi, epsabs=1e-11, epsrel=1e-8, limit=200)[0]

    out = []
    for sign, ratio in ((1.0, 1.0), (-1.0, n_i / n_o)):
        st = ratio * ix
        peak = math.asin(st) if st < 1.0 else math.pi / 2
        points = [peak] if 0.0 < peak < math.pi / 2 else None
        out.append(integrate.quad(over_phi, 0.0, math.pi / 2, args=(sign,), points=points, epsabs=1e-10,
                                  epsrel=1e-8, limit=200)[0])
    return out[0], out[1]


def walter_albedos(theta_deg: float, n_i: float, n_o: float, alpha: float) -> tuple[float, float]:
    """(ρ, τ) of the tracer's model: the valid outcomes of one facet, normalised (ρ + τ = 1)."""
    r, t = walter_valid(theta_deg, n_i, n_o, alpha)
    return r / (r + t), t / (r + t)


def test_reference_limits():
    # The reference itself: as α → 0 it tends to Fresnel's smooth interface (ρ → F, τ → 1 − F, every facet
    # valid); the chance that one facet gives an invalid direction (a redraw) grows with α; beyond the
    # critical angle (60° from n 1.5 into air) a smooth interface transmits nothing and a rough one some.
    for theta, n_i, n_o in ((0.0, 1.0, 1.5), (60.0, 1.0, 1.5), (30.0, 1.5, 1.0)):
        rho, tau = walter_albedos(theta, n_i, n_o, 0.0025)
        F = _fresnel(math.cos(math.radians(theta)), n_o / n_i)
        assert rho == pytest.approx(F, abs=2e-4) and tau == pytest.approx(1 - F, abs=2e-4), (theta, rho, F)
        assert sum(walter_valid(theta, n_i, n_o, 0.0025)) == pytest.approx(1.0, abs=1e-4)
    redraws = [1 - sum(walter_valid(60.0, 1.0, 1.5, a)) for a in ALPHAS]
    assert 0 < redraws[0] < redraws[1] < redraws[2] < 0.5, redraws
    rho, tau = walter_albedos(60.0, 1.5, 1.0, 0.1)
    assert 0.9 < rho < 1.0 and 0.0 < tau < 0.05


def _run(layers, n_photons, *, seed, **kw):
    return mc.simulate(layers, n_photons, r_max=1.0, n_r=1, seed=seed, backend="cpu", progress=False, **kw)


def _z(name, value, stderr, ref):
    z = (value - ref) / stderr
    assert abs(z) < Z_MAX, f"{name}: MC {value:.6f} ± {stderr:.6f}, reference {ref:.6f}, z {z:+.2f}"
    return z


# -- (a) a rough top, lit from air ---------------------------------------------------------------------
# A clear layer (σa = σs = 0) of n 1.5 with a rough top, over a semi-infinite medium of the same index
# (n_below 1.5): a photon the top transmits crosses the slab and leaves through the index-matched bottom,
# so T_total is the top's transmittance τ and R_specular its reflectance ρ (what event 0 reflects), with
# ρ + τ = 1. 1e5 photons. Measured (seeds 11–16, single precision), MC ± standard error vs reference (z):
#   α 0.1,  0°: R_s 0.039210±0.000642 vs 0.039763 (−0.86), T 0.960790 vs 0.960237 (+0.86)
#   α 0.1, 60°: R_s 0.088490±0.000895 vs 0.088411 (+0.09), T 0.911510 vs 0.911589 (−0.09)
#   α 0.3,  0°: R_s 0.037140±0.000665 vs 0.037745 (−0.91), T 0.962860 vs 0.962255 (+0.91)
#   α 0.3, 60°: R_s 0.074670±0.000819 vs 0.074212 (+0.56), T 0.925330 vs 0.925788 (−0.56)
#   α 0.7,  0°: R_s 0.029170±0.000514 vs 0.029445 (−0.53), T 0.970830 vs 0.970555 (+0.53)
#   α 0.7, 60°: R_s 0.050780±0.000614 vs 0.050197 (+0.95), T 0.949220 vs 0.949803 (−0.95)
ROUGH_TOP_CASES = [(a, th) for a in ALPHAS for th in (0.0, 60.0)]


@pytest.mark.parametrize("alpha,theta", ROUGH_TOP_CASES, ids=[f"a{a}-{t:g}deg" for a, t in ROUGH_TOP_CASES])
def test_rough_top_matches_walter(alpha, theta):
    seed = 11 + ROUGH_TOP_CASES.index((alpha, theta))
    res = _run([Layer(Medium(0.0, 0.0, 0.0, 1.5), 1.0, roughness=alpha)], 100_000, seed=seed, n_above=1.0,
               n_below=1.5, incidence_angle=theta)
    rho, tau = walter_albedos(theta, 1.0, 1.5, alpha)
    _z("R_specular", res.R_specular, res.stderr("R_specular"), rho)
    _z("T_total", res.T_total, res.stderr("T_total"), tau)
    # nothing else happens: no scattering, nothing comes back, nothing absorbed
    assert res.R_diffuse == 0.0 and res.A_total == 0.0 and res.T_unscattered == res.T_total
    assert res.energy_balance == pytest.approx(1.0, abs=1e-6)


# -- (b) light inside glass meeting a rough bottom into air --------------------------------------------
# To isolate the first crossing, the glass continues above the slab: n_above = 1.5 = the slab's index, a
# smooth top. The beam enters undeviated at θ (any angle, also beyond the critical 41.8°, where a smooth
# bottom would reflect everything), and whatever the rough bottom reflects leaves through the
# index-matched top and never comes back: R_diffuse is the bottom's reflectance ρ from inside, T_total
# its transmittance τ, with R_specular exactly 0. 1e5 photons. Measured (seeds 21–29, single precision),
# MC ± standard error vs reference (z):
#   α 0.1,  0°: T 0.956020±0.000636 vs 0.955911 (+0.17)  α 0.1, 30°: 0.890320±0.000930 vs 0.891551 (−1.32)
#   α 0.1, 60°: T 0.027310±0.000493 vs 0.026438 (+1.77)  α 0.3,  0°: 0.928700±0.000741 vs 0.928341 (+0.48)
#   α 0.3, 30°: T 0.763140±0.001419 vs 0.763652 (−0.36)  α 0.3, 60°: 0.190220±0.001257 vs 0.189755 (+0.37)
#   α 0.7,  0°: T 0.852090±0.001115 vs 0.851481 (+0.55)  α 0.7, 30°: 0.719890±0.001567 vs 0.720594 (−0.45)
#   α 0.7, 60°: T 0.496740±0.001763 vs 0.497287 (−0.31)
# (R_diffuse = 1 − T_total in every case: the same z with the opposite sign.) At 60° a smooth bottom
# would transmit nothing; α 0.1 transmits 2.6%, α 0.7 half.
ROUGH_BOTTOM_CASES = [(a, th) for a in ALPHAS for th in (0.0, 30.0, 60.0)]


@pytest.mark.parametrize("alpha,theta", ROUGH_BOTTOM_CASES,
                         ids=[f"a{a}-{t:g}deg" for a, t in ROUGH_BOTTOM_CASES])
def test_rough_bottom_from_inside_matches_walter(alpha, theta):
    seed = 21 + ROUGH_BOTTOM_CASES.index((alpha, theta))
    res = _run([Layer(Medium(0.0, 0.0, 0.0, 1.5), 1.0)], 100_000, seed=seed, n_above=1.5, n_below=1.0,
               roughness_below=alpha, incidence_angle=theta)
    rho, tau = walter_albedos(theta, 1.5, 1.0, alpha)
    assert res.R_specular == 0.0 and res.stderr("R_specular") == 0.0  # a smooth, index-matched top
    _z("T_total", res.T_total, res.stderr("T_total"), tau)
    _z("R_diffuse", res.R_diffuse, res.stderr("R_diffuse"), rho)
    assert res.R_unscattered == res.R_diffuse and res.A_total == 0.0


# -- (c) α → 0 reproduces the smooth interfaces --------------------------------------------------------
STACK = [Layer(Medium(0.2, 8.0, 0.8, 1.4), 0.5), Layer(Medium(0.05, 3.0, 0.0, 1.33), 2.0)]


def _with_roughness(layers, alpha):
    return [Layer(L.medium, L.thickness, roughness=alpha) for L in layers]


def test_tiny_roughness_reproduces_smooth_tallies():
    # Every interface rough with α = 1e-3 (top, the inner one, the bottom over n_below 1.5) against the
    # smooth stack, at 30°, 2e5 photons each (independent seeds): all totals agree within 4 combined
    # standard errors. Measured (seeds 31, 32):
    #   R_specular     smooth 0.029051 ± 0.000000, α 1e-3 0.029010 ± 0.000345 (z −0.12)
    #   R_diffuse      smooth 0.347532 ± 0.000682, α 1e-3 0.347176 ± 0.000800 (z −0.34)
    #   R_single       smooth 0.004528 ± 0.000124, α 1e-3 0.004624 ± 0.000132 (z +0.53)
    #   T_total        smooth 0.113552 ± 0.000544, α 1e-3 0.114236 ± 0.000508 (z +0.92)
    #   T_unscattered  smooth 0.000034 ± 0.000012, α 1e-3 0.000015 ± 0.000009 (z −1.27)
    #   A_total        smooth 0.509865 ± 0.000434, α 1e-3 0.509578 ± 0.000567 (z −0.40)
    kw = dict(n_above=1.0, n_below=1.5, incidence_angle=30.0)
    smooth = _run(STACK, 200_000, seed=31, **kw)
    rough = _run(_with_roughness(STACK, 1e-3), 200_000, seed=32, roughness_below=1e-3, **kw)
    assert smooth.stderr("R_specular") == 0.0 and rough.stderr("R_specular") > 0.0
    for name in ("R_specular", "R_diffuse", "R_single", "T_total", "T_unscattered", "A_total"):
        a, b = getattr(smooth, name), getattr(rough, name)
        err = math.hypot(smooth.stderr(name), rough.stderr(name))
        assert abs(b - a) < Z_MAX * err, f"{name}: smooth {a:.6f}, α 1e-3 {b:.6f} (z {(b - a) / err:+.2f})"
    np.testing.assert_array_less(np.abs(rough.A_layers - smooth.A_layers),
                                 Z_MAX * np.hypot(rough.stderr("A_layers"), smooth.stderr("A_layers")))


def test_tiny_roughness_absorbing_glass_closed_form():
    # The absorbing glass slab of test_mc_physics (σs = 0, σa 0.7 mm⁻¹, d 1.3 mm, n 1.5 in air, normal
    # incidence: T = (1 − R)² e^{−τ} / (1 − R² e^{−2τ}), R = 0.04), with both faces rough at α = 1e-3: a
    # nearly smooth microfacet surface gives the closed form of the smooth one. 2e5 photons. Measured
    # (seed 33):
    #   R_specular  0.039855 ± 0.000454 (−0.32) against 0.040000
    #   T_total     0.371665 ± 0.001187 (+0.51) against 0.371063
    #   R_diffuse   0.005905 ± 0.000166 (−0.42) against 0.005974
    sigma_a, d, n = 0.7, 1.3, 1.5
    res = _run([Layer(Medium(sigma_a, 0.0, 0.0, n), d, roughness=1e-3)], 200_000, seed=33,
               roughness_below=1e-3)
    R = ((n - 1.0) / (n + 1.0)) ** 2
    t = math.exp(-sigma_a * d)
    _z("R_specular", res.R_specular, res.stderr("R_specular"), R)
    _z("T_total", res.T_total, res.stderr("T_total"), (1 - R) ** 2 * t / (1 - R**2 * t**2))
    _z("R_diffuse", res.R_diffuse, res.stderr("R_diffuse"), (1 - R) ** 2 * R * t**2 / (1 - R**2 * t**2))


# -- the ledger and the entry ---------------------------------------------------------------------------
ROUGH3 = [Layer(Medium(0.3, 20.0, 0.8, 1.4), 0.1, roughness=0.4),       # epidermis-like, rough top
          Layer(Medium(0.0, 0.0, 0.0, 1.5), 0.2, roughness=0.2),        # a clear film, rough above
          Layer(Medium(0.05, 5.0, 0.5, 1.33), 1.0, roughness=0.7)]      # base, rough above


@pytest.mark.parametrize("precision", ["single", "double"])
def test_energy_ledger_closes_in_a_rough_three_layer_stack(precision):
    # Every run checks the ledger R_specular + R_diffuse + T_total + A_total + W_cut −
    # roulette_net = 1 in exact fixed-point integers (simulate raises EnergyConservationError otherwise);
    # here with every interface rough, a rough bottom into glass, oblique light and a path cut.
    res = _run(ROUGH3, 50_000, seed=41, n_above=1.0, n_below=1.2, roughness_below=0.3, incidence_angle=45.0,
               max_path_length=30.0, precision=precision)
    total = res.energy_balance - res.roulette_net + res.W_cut
    assert total == pytest.approx(1.0, abs=1e-6)
    for name in ("R_specular", "R_diffuse", "T_total", "A_total"):
        assert getattr(res, name) > 0 and res.stderr(name) > 0, name
    assert (res.A_layers > 0).tolist() == [True, False, True]  # the clear film absorbs nothing


def test_ledger_check_counts_the_tallied_specular():
    plan = mc._run._plan(ROUGH3, 1.0, 1.2, 1.0, 10, None, None, 0.0, None, np.float32, 0.3)
    assert plan.rough_top and plan.w0 == 1.0 and plan.roughness_below == 0.3
    ints = np.zeros(mc._run.N_SCALARS + 3, dtype=object)
    n = 1000
    ints[mc._run.R_DIFFUSE] = int(0.6 * n * 2**32)     # 0.4 of the weight is missing
    with pytest.raises(mc.EnergyConservationError, match="R_specular 0,.*R_diffuse 0.6"):
        mc._run._check_ledger(ints, n, plan, events=0, dtype=np.float32)
    ints[mc._run.R_SPECULAR] = int(0.4 * n * 2**32) + 2
    mc._run._check_ledger(ints, n, plan, events=0, dtype=np.float32)


def test_entry_through_a_rough_top():
    # Photons start above a rough top: a photon reflected on entry ends as R_specular (a tally with an
    # error, not Fresnel's exact value); one reflected back down by the top from inside stays inside, as
    # with a smooth top. A rough top over an index-matched layer is smooth (nothing to refract at), and so
    # is a rough bottom under a semi-infinite base (never reached).
    layer = Layer(Medium(0.1, 10.0, 0.9, 1.4), float("inf"), roughness=0.5)
    res = _run([layer], 20_000, seed=43, roughness_below=0.9)
    assert 0.0 < res.R_specular < 0.1 and res.stderr("R_specular") > 0
    assert res.T_total == 0.0
    matched = _run([Layer(Medium(0.1, 10.0, 0.9, 1.0), float("inf"), roughness=0.5)], 5_000, seed=43)
    assert matched.R_specular == 0.0 and matched.stderr("R_specular") == 0.0
    plan = mc._run._plan([layer], 1.0, 1.0, 1.0, 10, None, None, 30.0, None, np.float64)
    assert plan.rough_top and plan.config[2] == pytest.approx(0.5) and plan.config[4] == 1.0  # sin 30°, w0
    # a roughness below float32's smallest normal number is packed as 0: smooth on every backend
    plan = mc._run._plan([Layer(layer.medium, 1.0, roughness=1e-40)], 1.0, 1.0, 1.0, 10, None, None, 0.0,
                         None, np.float32, 1e-300)
    assert not plan.rough_top and plan.config[10] == 0.0 and plan.config[-1] == 0.0


@pytest.mark.parametrize("precision", ["single", "double"])
def test_roughness_of_an_index_matched_interface_changes_nothing(precision):
    # α > 0 between equal indices is no interface: the run equals the smooth one bit for bit. The CPU
    # lanes then run their build with the rough-interface step (any_rough), the smooth run the one
    # without it, so this also checks that both builds trace the smooth steps alike.
    smooth = [Layer(Medium(0.2, 8.0, 0.8, 1.4), 0.5), Layer(Medium(0.05, 3.0, 0.0, 1.4), 2.0)]
    rough = [smooth[0], Layer(smooth[1].medium, 2.0, roughness=0.5)]
    kw = dict(seed=5, precision=precision, incidence_angle=20.0, r_max=3.0, n_r=30)
    a = mc.simulate(smooth, 20_000, backend="cpu", progress=False, **kw)
    b = mc.simulate(rough, 20_000, backend="cpu", progress=False, **kw)
    for name in mc.TALLIES:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.events == b.events

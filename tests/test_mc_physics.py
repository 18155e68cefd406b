"""The Monte Carlo tracer (bssrdf.mc) against independent physical references.

Black-box regression tests in the manner of MCX's test scripts: each runs the CPU tracer with a fixed
seed and a small photon count and asserts a physical result against a reference from outside this
package: published MCML benchmark values, adding-doubling (iadpython), closed forms, and the diffusion
and single-scattering models where they are known to hold. Statistical agreement is judged by the
z-score against the run's own standard error (64 batches), |z| < 4, plus an explicit absolute or
relative allowance for the reference's own accuracy, stated and justified at each check. Measured
values and z-scores are noted beside each check. Most were taken when the generator drew one number
at a time (before each event drew one Philox block), so the same seeds now give other samples of
the same distributions; the MCML and adding-doubling values rechecked with the current generator
are in the closing note of issue 3 (all |z| < 1.3), and the thin-slab table was measured with it.

Units: mm and mm⁻¹; R_r, T_r, R_r_single in mm⁻², A_z in mm⁻¹, all per unit incident power.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from bssrdf import Layer, Medium, mc
from bssrdf.profiles import dipole, multipole, single

Z_MAX = 4.0
INF = math.inf


def _run(layers, n_photons, *, seed, r_max=1.0, n_r=1, **kw):
    """The tracer on the CPU backend, quietly."""
    return mc.simulate(layers, n_photons, r_max=r_max, n_r=n_r, seed=seed, backend="cpu",
                       progress=False, **kw)


def _assert_agrees(name, value, stderr, ref, *, abs_tol, ref_err=0.0):
    """|value − ref| ≤ Z_MAX·stderr + ref_err (ref_err: the reference's own error) and ≤ abs_tol."""
    diff = value - ref
    z = diff / stderr if stderr > 0 else math.copysign(math.inf, diff) if diff else 0.0
    msg = (f"{name}: MC {value:.6f} ± {stderr:.6f}, reference {ref:.6f} (own error {ref_err:.2g}), "
           f"Δ {diff:+.6f}, z {z:+.2f}")
    assert abs(diff) <= Z_MAX * stderr + ref_err, msg
    assert abs(diff) < abs_tol, msg


def _annulus_means(profile, edges, n_nodes=32):
    """Mean of a smooth radial profile over each annulus: ∫2πr f dr / (π(b² − a²)), Gauss–Legendre."""
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    a, b = edges[:-1, None], edges[1:, None]
    r = 0.5 * (b - a) * x + 0.5 * (a + b)                      # (bins, nodes)
    f = np.asarray(profile(r.ravel()), dtype=np.float64).reshape(r.shape)
    return np.sum(0.5 * (b - a) * w * 2.0 * np.pi * r * f, axis=1) / (np.pi * (b[:, 0] ** 2 - a[:, 0] ** 2))


def _adding_doubling(a, b, g, n, *, slide_above=1.0, slide_below=1.0, b_below=0.0, quad_pts=16):
    """UR1, UT1 of iadpython 0.5.3 (Prahl's adding-doubling) for normal incidence.

    iadpython's n_above/n_below are glass *slides* between the sample and air (not semi-infinite
    media); b_below is the optical thickness of the lower slide (large: all light entering it is lost).
    Tests call it after their tracer run: iadpython's OpenBLAS threads keep spinning for a moment after
    its matrix products and slow an OpenMP launch that follows at once (up to ~0.1–0.7 s on 2 cores).
    """
    import iadpython  # the [test] extra; imported here so that only these checks need it

    s = iadpython.Sample(a=a, b=b, g=g, n=n, n_above=slide_above, n_below=slide_below, quad_pts=quad_pts)
    s.b_below = b_below
    UR1, UT1, _, _ = s.rt()
    return float(UR1), float(UT1)


# -- 1. published MCML benchmarks ------------------------------------------------------------------
def test_mcml_van_de_hulst_slab():
    # MCML manual (Wang & Jacques 1992, "MCML - Monte Carlo modeling of photon transport in multi-layered
    # tissues: a user's guide", ch. 6; also Wang, Jacques, Zheng 1995, Comput. Methods Programs Biomed.
    # 47:131): slab n = 1, μa 10, μs 90 cm⁻¹, g 0.75, d 0.02 cm against van de Hulst's tables
    # (Multiple Light Scattering, 1980): R_d 0.09739, T_t 0.66096.
    # Measured (seed 11, 1e6 photons, 0.1 s): R_d 0.097295 ± 0.000245 (z −0.39), T_t 0.661224 ± 0.000336
    # (z +0.78).
    m = Medium(sigma_a=1.0, sigma_s=9.0, g=0.75, eta=1.0)
    res = _run([Layer(m, 0.2)], 1_000_000, seed=11)
    assert res.R_specular == 0.0
    _assert_agrees("R_d", res.R_diffuse, res.stderr("R_diffuse"), 0.09739, abs_tol=0.003)
    _assert_agrees("T_t", res.T_total, res.stderr("T_total"), 0.66096, abs_tol=0.003)


def test_mcml_giovanelli_semi_infinite():
    # MCML manual ch. 6 (as above): semi-infinite medium n = 1.5 under air, μa 10, μs 90 cm⁻¹, g 0 →
    # R_d 0.2600 (Giovanelli 1955, Optica Acta 2:153), a figure that includes the specular 0.04.
    # Measured (seed 12, 1e6 photons, 1.5 s): 0.04 + 0.219925 = 0.259925 ± 0.000243 (z −0.31).
    m = Medium(sigma_a=1.0, sigma_s=9.0, g=0.0, eta=1.5)
    res = _run([Layer(m, INF)], 1_000_000, seed=12, n_above=1.0)
    assert res.R_specular == pytest.approx(0.04, abs=1e-12)   # ((1.5 − 1)/(1.5 + 1))²
    assert res.T_total == 0.0
    _assert_agrees("R_s + R_d", res.R_specular + res.R_diffuse, res.stderr("R_diffuse"), 0.2600,
                   abs_tol=0.003)


# -- 2. total R and T against adding-doubling --------------------------------------------------------
# (id, albedo, optical thickness, g, n_slab, slide above, slide below, photons)
# The sample is 1 mm thick (σt = optical thickness in mm⁻¹); "slides" are non-absorbing glass layers of
# index 1.5 between the sample and air, traced as layers with σa = σs = 0 (in iadpython they are the
# n_above/n_below slides). Tracer run times on 2 idle cores in brackets. The thick high-albedo cases cost most
# (~70 scattering events per photon, ~6e5 photons/s).
AD_CASES = [
    ("thin-isotropic-matched", 0.5, 0.5, 0.0, 1.0, 1.0, 1.0, 1_000_000),         # [0.05 s]
    ("forward-thin-glass-in-air", 0.95, 1.0, 0.9, 1.5, 1.0, 1.0, 1_000_000),     # [0.15 s]
    ("glass-like-in-air", 0.99, 4.0, 0.5, 1.5, 1.0, 1.0, 800_000),               # [0.5 s]
    ("slide-above-only", 0.99, 8.0, 0.0, 1.33, 1.5, 1.0, 800_000),               # [0.7 s]
    ("slides-both-forward", 0.999, 4.0, 0.9, 1.4, 1.5, 1.5, 800_000),            # [0.35 s]
    ("slide-below-only", 0.5, 0.5, 0.0, 1.5, 1.0, 1.5, 1_000_000),               # [0.2 s]
    ("thick-forward", 0.999, 16.0, 0.9, 1.4, 1.0, 1.0, 800_000),                 # [1.6 s]
    ("thick-isotropic", 0.999, 16.0, 0.0, 1.4, 1.0, 1.0, 800_000),               # [1.3 s]
    ("opaque-absorbing-matched", 0.8, 16.0, 0.5, 1.0, 1.0, 1.0, 500_000),        # [0.35 s]
]
# Measured (seed 21): Δ = MC − AD(16 points), z = Δ/stderr, δ = |AD(16) − AD(12)|
#   case                         R: Δ        z      δ           T: Δ        z      δ
#   thin-isotropic-matched       +0.000068  +0.41  2.5e-7      −0.000396  −0.86  1.1e-7
#   forward-thin-glass-in-air    +0.000605  +3.36  1.0e-3      −0.001387  −4.60  3.4e-3 (AD20: +0.72, +0.78)
#   glass-like-in-air            −0.000353  −0.83  8.7e-5      +0.000278  +0.63  6.8e-5
#   slide-above-only             −0.000599  −1.49  2.0e-4      +0.000381  +1.38  3.3e-5
#   slides-both-forward          +0.000681  +1.55  2.2e-4      −0.000716  −1.60  2.3e-4
#   slide-below-only             −0.000084  −0.59  3.4e-5      −0.000248  −0.54  3.0e-5
#   thick-forward                −0.000682  −1.31  2.8e-4      +0.000605  +1.16  3.1e-4
#   thick-isotropic              −0.000834  −2.55  1.4e-4      +0.000730  +2.46  8.0e-5
#   opaque-absorbing-matched     +0.000431  +1.22  3.5e-7      +0.000006  +0.99  2.4e-9
# thick-isotropic with more photons (5e6 each, seeds 7–11): R − AD(20) = −1.6, −1.1, −3.6, −3.0, −1.0 (×1e-4,
# ±1.5e-4 each): MC's R sits ~2e-4 below AD for this case (combined z ≈ −3 with seed 21). Single and
# double precision give the same tallies to 1e-6 (seed 8); the same slab at n = 1.0 agrees (z +0.55), and
# b = 8 at n = 1.2, 1.4, 1.4, 1.6, 2.0 gives R z = +0.9, −1.9, −0.1, +1.8, +0.2 against AD(20): no
# consistent offset. AD's own convergence (R at 12/16/20 points: 0.816703, 0.816563, 0.816509) is of that
# order, so this is not evidence of a tracer bug; the bound (4σ + δ) passes.


@pytest.mark.parametrize("case", AD_CASES, ids=[c[0] for c in AD_CASES])
def test_totals_match_adding_doubling(case):
    # Reference: adding-doubling, Prahl's iadpython 0.5.3 (S. Prahl, https://github.com/scottprahl/iadpython;
    # Prahl, van Gemert, Welch 1993, Appl. Opt. 32:559). UR1 includes the specular reflection, UT1 the
    # unscattered transmission, so they compare with R_specular + R_diffuse and T_total.
    # Adding-doubling's own accuracy: 16 quadrature points (4, the default, are ~2e-3 off; above ~20
    # the release's quadrature weights lose precision, physics.md). Its error is estimated per case as
    # δ = |AD(16) − AD(12)| and allowed on top of 4 standard errors: for thin, strongly forward slabs with
    # an index mismatch AD at 16 points is still ~1.5e-3 off in T (δ ≈ 3e-3 there; AD at 20 points
    # agrees with MC to 1e-4). The absolute bound 3e-3 applies whatever δ is.
    _, a, b, g, n, slide_above, slide_below, n_photons = case
    sample = Medium(sigma_a=(1.0 - a) * b, sigma_s=a * b, g=g, eta=n)
    layers = [Layer(sample, 1.0)]
    if slide_above != 1.0:
        layers.insert(0, Layer(Medium(0.0, 0.0, 0.0, slide_above), 1.0))
    if slide_below != 1.0:
        layers.append(Layer(Medium(0.0, 0.0, 0.0, slide_below), 1.0))
    res = _run(layers, n_photons, seed=21)
    assert res.energy_balance - res.roulette_net == pytest.approx(1.0, abs=1e-5)
    R16, T16 = _adding_doubling(a, b, g, n, slide_above=slide_above, slide_below=slide_below)
    R12, T12 = _adding_doubling(a, b, g, n, slide_above=slide_above, slide_below=slide_below, quad_pts=12)
    _assert_agrees("R_s + R_d", res.R_specular + res.R_diffuse, res.stderr("R_diffuse"), R16,
                   ref_err=abs(R16 - R12), abs_tol=0.003)
    _assert_agrees("T_total", res.T_total, res.stderr("T_total"), T16, ref_err=abs(T16 - T12),
                   abs_tol=0.003)


def test_reflectance_over_semi_infinite_glass_matches_adding_doubling():
    # The tracer's n_below (a semi-infinite medium below the stack) against adding-doubling with an
    # opaque lower slide (optical thickness 30: light entering it never returns), which is the same
    # boundary for the reflectance (iadpython 0.5.3, absorbing_glass_RT). Slab a 0.95, b 2, g 0.5, n 1.33.
    # Measured (seed 22, 1e6 photons, 0.2 s): 0.172246 ± 0.000301 against 0.172487 (δ 1.6e-4), z −0.80.
    a, b, g, n = 0.95, 2.0, 0.5, 1.33
    res = _run([Layer(Medium(sigma_a=(1 - a) * b, sigma_s=a * b, g=g, eta=n), 1.0)], 1_000_000,
               seed=22, n_below=1.5)
    R16, _ = _adding_doubling(a, b, g, n, slide_below=1.5, b_below=30.0)
    R12, _ = _adding_doubling(a, b, g, n, slide_below=1.5, b_below=30.0, quad_pts=12)
    _assert_agrees("R_s + R_d", res.R_specular + res.R_diffuse, res.stderr("R_diffuse"), R16,
                   ref_err=abs(R16 - R12), abs_tol=0.003)


# -- 3. radial profiles against diffusion, far from the source ---------------------------------------
# Medium: g = 0, σa 0.03, σs 2.97 mm⁻¹ (albedo 0.99, σ't 3 mm⁻¹, ℓ = 1/3 mm, σtr 0.52 mm⁻¹), n = 1.
DIFFUSIVE = Medium(sigma_a=0.03, sigma_s=2.97, g=0.0, eta=1.0)
FAR = 4.5    # mm: 13.5 transport mean free paths, σtr r ≥ 2.3
MODEL_ERR = 0.06


def _compare_far(name, mc_vals, mc_err, model, edges):
    """Bins beyond FAR: |MC − model| ≤ 4σ + MODEL_ERR·model, and the pooled ratio within 1 ± MODEL_ERR."""
    centers = 0.5 * (edges[1:] + edges[:-1])
    far = edges[:-1] >= FAR
    assert far.sum() >= 4
    diff = mc_vals[far] - model[far]
    tol = Z_MAX * mc_err[far] + MODEL_ERR * model[far]
    assert np.all(np.abs(diff) <= tol), (
        f"{name}: r {centers[far]}, MC/model {mc_vals[far] / model[far]}, z {diff / mc_err[far]}")
    area = np.pi * (edges[1:] ** 2 - edges[:-1] ** 2)[far]
    ratio = np.sum(mc_vals[far] * area) / np.sum(model[far] * area)
    ratio_err = math.sqrt(np.sum((mc_err[far] * area) ** 2)) / np.sum(model[far] * area)
    assert abs(ratio - 1.0) <= Z_MAX * ratio_err + MODEL_ERR, (name, ratio, ratio_err)
    return ratio


def test_semi_infinite_profile_matches_dipole_far_from_source():
    # Reference: the dipole (Jensen et al. 2001, eq. 5 as corrected, physics.md), multiple scattering
    # only, compared with R_r − R_r_single (the tracer tallies single scattering apart). Bins 0.5 mm wide,
    # the dipole averaged over each annulus. Standard error: that of R_r, which bounds the error of
    # R_r − R_r_single up to O(mean²/N) terms (a photon exits once, into one of the two tallies).
    #
    # Model-error allowance 6% beyond 4.5 mm (13.5 ℓ): diffusion's far field differs from transport
    # mainly through the extrapolation length (2D = 0.667 ℓ against Milne's 0.710 ℓ for g = 0) and the
    # decay constant (σtr against the transport eigenvalue, 0.4% apart at albedo 0.99). With 3e6
    # photons (seed 3) the measured MC/dipole ratio was 0.957 ± 0.006 at 4.25 mm, 0.976, 0.978, 0.978,
    # 0.987 (±0.7–1.1%) from 4.75 to 6.25 mm and 1.00 ± 0.02 beyond, i.e. < 3% beyond 4.5 mm.
    res = _run([Layer(DIFFUSIVE, INF)], 1_000_000, seed=31, r_max=9.0, n_r=18)
    multiple = res.R_r - res.R_r_single
    err = res.stderr("R_r")
    model = _annulus_means(lambda r: np.ravel(dipole.R_d(r, DIFFUSIVE, backend="numpy")), res.r_edges)
    ratio = _compare_far("dipole", multiple, err, model, res.r_edges)
    # measured (seed 31, 1e6 photons, 2.2 s): MC/dipole 0.962, 0.988, 0.967, 1.002, 0.984, 1.016, 0.999,
    # 1.073, 1.012 (±1.2–3.2%, max |z| 3.2 against the dipole alone) in the bins from 4.75 to 8.75 mm;
    # pooled over them 0.982 (a regression pin: diffusion's far field here is 2–3% high)
    assert 0.95 < ratio < 1.02

    # Near the source diffusion fails, and it is not hidden: the dipole overestimates the multiply
    # scattered exitance by 20–35% within 1.5 mm (4.5 ℓ). Measured (seed 31): MC/dipole 0.808, 0.735, 0.806
    # (±0.2–0.3%, z −126, −164, −73) for the bins [0, 0.5], [0.5, 1], [1, 1.5] mm. The dipole's total
    # (0.746) is instead close to MC's total *including* single scattering (0.753): the diffusion
    # source stands in for all orders.
    near = res.r_centers < 1.5
    near_ratio = multiple[near] / model[near]
    assert np.all(near_ratio < 0.85), near_ratio
    assert 0.70 < near_ratio[1] < 0.77, near_ratio

    # The total diffuse reflectance against adding-doubling for an (effectively) semi-infinite slab,
    # optical thickness 1e4 (iadpython 0.5.3, 16 points): UR1 = 0.752721. Measured (seed 31): 0.752688 ±
    # 0.000361 (z −0.09); an independent NumPy tracer (4e5 photons, written for this check): 0.7531.
    R16, _ = _adding_doubling(0.99, 1e4, 0.0, 1.0)
    R12, _ = _adding_doubling(0.99, 1e4, 0.0, 1.0, quad_pts=12)
    _assert_agrees("R_d (semi-infinite)", res.R_diffuse, res.stderr("R_diffuse"), R16,
                   ref_err=abs(R16 - R12), abs_tol=0.003)


def test_slab_profiles_match_multipole_far_from_source():
    # Reference: the multipole (Donner & Jensen 2005, physics.md), converged series, multiple scattering
    # only: R against R_r − R_r_single, T against T_r (far from the beam the unscattered and singly
    # scattered transmission are negligible: the slab is 9 ℓ thick, unscattered T = e^{−9} lands at r = 0).
    # Slab: DIFFUSIVE, d = 3 mm, n = 1 both sides. Same 6% model-error allowance beyond 4.5 mm (13.5 ℓ).
    # Measured (seed 32, 1e6 photons, 0.5 s), MC/multipole in the bins 4.75–6.75 mm: R 0.954, 1.001, 1.003,
    # 0.956, 1.016 (±1.6–3.3%), T 0.982, 0.931, 0.964, 0.954, 1.014 (±1.7–3.1%; max |z| 3.6 against the
    # model alone); pooled R 0.978, T 0.965. In the slab the image sum also carries the
    # extrapolation-length error into the decay constant κ₁ = sqrt(σtr² + (π/L)²), L = d + 2z_b.
    d = 3.0
    res = _run([Layer(DIFFUSIVE, d)], 1_000_000, seed=32, r_max=7.0, n_r=14)
    model_R = _annulus_means(lambda r: np.ravel(multipole.R(r, DIFFUSIVE, d, backend="numpy")), res.r_edges)
    model_T = _annulus_means(lambda r: np.ravel(multipole.T(r, DIFFUSIVE, d, backend="numpy")), res.r_edges)
    ratio_R = _compare_far("multipole R", res.R_r - res.R_r_single, res.stderr("R_r"), model_R,
                           res.r_edges)
    ratio_T = _compare_far("multipole T", res.T_r, res.stderr("T_r"), model_T, res.r_edges)
    assert 0.94 < ratio_R < 1.02 and 0.94 < ratio_T < 1.02, (ratio_R, ratio_T)

    # Near the source: the multipole overestimates R by 20–35% within 1.5 mm (measured, seed 32:
    # MC/multipole 0.808, 0.730, 0.803 ± 0.2%), as the dipole does; T_r within 1 mm of the axis holds the
    # unscattered and singly scattered transmission the model leaves out (MC/multipole 1.19, 1.09).
    near = res.r_centers < 1.5
    near_ratio = (res.R_r - res.R_r_single)[near] / model_R[near]
    assert np.all(near_ratio < 0.85), near_ratio


def test_thin_slab_clamp_against_monte_carlo():
    # The multipole's source clamp z0 = min(ℓ, d/2) (foundation issue) keeps thin slabs finite; here
    # is how far it is from the truth. Medium σa 0.02, σs 1.3 mm⁻¹, g 0, n 1 (ℓ = 0.758 mm); totals
    # R = ∫R dA and T against MC's R_diffuse and T_total. Measured (4e5 photons, seed 2):
    #   d/ℓ   MC R    MC T    multipole R = T (clamped below 2ℓ)
    #   0.5   0.198   0.792   0.488
    #   1.0   0.326   0.650   0.483
    #   2.0   0.488   0.457   0.468
    #   3.0   0.574   0.339   R 0.562, T 0.340
    #   5.0   0.654   0.203   R 0.645, T 0.201
    # At d ≥ 3ℓ the totals agree within 3%; below 2ℓ the clamped model puts the source mid-slab, so R = T,
    # while MC's light goes mostly straight through: off by a factor 2.5 in R at d = ℓ/2. The warning is
    # warranted, and the clamp is a regularisation, not a model of thin slabs.
    m = Medium(0.02, 1.3, 0.0, 1.0)
    ell = float(m.mfp)
    for f in (3.0, 5.0):
        d = f * ell
        res = _run([Layer(m, d)], 100_000, seed=2)
        R, T = float(multipole.total_R(m, d)), float(multipole.total_T(m, d))
        assert abs(res.R_diffuse / R - 1) < 0.03 and abs(res.T_total / T - 1) < 0.03, (f, res.R_diffuse, R)
    d = 0.5 * ell
    with pytest.warns(UserWarning):
        R, T = float(multipole.total_R(m, d)), float(multipole.total_T(m, d))
    res = _run([Layer(m, d)], 100_000, seed=2)
    assert R == pytest.approx(T, rel=1e-6)          # the source mid-slab: symmetric
    assert R / res.R_diffuse > 2.0 and res.T_total / T > 1.5, (R, T, res.R_diffuse, res.T_total)


# -- 4. single scattering ------------------------------------------------------------------------------
SINGLE_CASES = [  # (σa, σs, g, η of the medium, in air)
    (1.0, 1.0, 0.0, 1.0),
    (1.0, 1.0, 0.6, 1.3),
    (1.0, 1.0, -0.3, 1.5),
    (1.0, 1.0, 0.5, 1.5),
]


@pytest.mark.parametrize("case", SINGLE_CASES, ids=lambda c: f"g{c[2]}-eta{c[3]}")
def test_single_scattering_tally_matches_R_1(case):
    # Reference: the exact once-scattered exitance of a normally incident pencil beam on a semi-infinite
    # medium (Jensen et al. 2001's single-scattering term evaluated exactly for the radial profile,
    # physics.md; bssrdf.profiles.single.R_1, itself checked against adaptive quadrature to 1e-10 in
    # tests/test_single.py), averaged over each annulus with scipy's adaptive quadrature. In a
    # semi-infinite medium a once-scattered photon reflected back at the surface must scatter again,
    # so R_r_single estimates exactly R_1 (Fresnel in with T_in, out with T_out, none beyond θ_c).
    # Every bin with relative standard error below 25% must have |z| < 4, and R_single must match
    # total_R_1 = ∫2πr R_1 dr. Measured (seed 41, 1e6 photons, 0.2–0.3 s each), bins used, max |z|,
    # R_single (z): g 0 η 1: 15/15, 1.49, 0.076523 ± 0.000184 vs 0.076713 (−1.03); g 0.6 η 1.3: 11/15,
    # 2.59, 0.006626 ± 0.000052 vs 0.006598 (+0.54); g −0.3 η 1.5: 12/15, 1.65, 0.056145 ± 0.000158 vs
    # 0.056366 (−1.40); g 0.5 η 1.5: 9/15, 1.30, 0.006252 ± 0.000052 vs 0.006215 (+0.71).
    sigma_a, sigma_s, g, eta = case
    m = Medium(sigma_a=sigma_a, sigma_s=sigma_s, g=g, eta=eta)
    sigma_t = sigma_a + sigma_s
    res = _run([Layer(m, INF)], 1_000_000, seed=41, r_max=3.0 / sigma_t, n_r=15)
    e = res.r_edges

    def ring(lo, hi):
        val, _ = integrate.quad(lambda r: 2.0 * np.pi * r * float(single.R_1(r, m, backend="numpy")),
                                lo, hi, epsabs=0.0, epsrel=1e-9, limit=200)
        return val / (np.pi * (hi * hi - lo * lo))

    ref = np.array([ring(lo, hi) for lo, hi in zip(e[:-1], e[1:], strict=True)])
    err = res.stderr("R_r_single")
    tally = res.R_r_single
    enough = (tally > 0) & (err < 0.25 * np.abs(tally))
    assert enough.sum() >= 6
    z = (tally[enough] - ref[enough]) / err[enough]
    assert np.all(np.abs(z) < Z_MAX), f"bins r = {res.r_centers[enough]}: z = {z}"
    total = float(single.total_R_1(m))
    _assert_agrees("R_single", res.R_single, res.stderr("R_single"), total, abs_tol=1e-3)


# -- 5. reproducibility ---------------------------------------------------------------------------------
STACK = [Layer(Medium(sigma_a=0.5, sigma_s=5.0, g=0.8, eta=1.4), 0.3),
         Layer(Medium(sigma_a=0.1, sigma_s=2.0, g=0.0, eta=1.33), 1.0)]


def _stack_run(seed, n_threads=None):
    return _run(STACK, 100_000, seed=seed, r_max=3.0, n_r=30, n_below=1.5, n_threads=n_threads)


def _assert_identical(a, b):
    assert set(a.tallies) == set(b.tallies)
    for name in a.tallies:
        assert np.array_equal(a.tallies[name], b.tallies[name]), name
        assert np.array_equal(a.errors[name], b.errors[name], equal_nan=True), name
    assert a.events == b.events


def test_same_seed_is_bit_identical_and_thread_count_does_not_matter():
    # design.md: a counter-based generator keyed by (seed, photon index) and integer (fixed-point)
    # tallies make a run reproducible bit for bit, whatever the thread layout.
    one = _stack_run(seed=5, n_threads=1)
    two = _stack_run(seed=5, n_threads=2)
    again = _stack_run(seed=5)
    _assert_identical(one, two)
    _assert_identical(two, again)


def test_different_seeds_differ_but_agree_statistically():
    a, b = _stack_run(seed=5), _stack_run(seed=6)
    for name in ("R_diffuse", "R_single", "T_total", "A_total"):
        va, vb = getattr(a, name), getattr(b, name)
        assert va != vb, name
        assert abs(va - vb) < Z_MAX * math.hypot(a.stderr(name), b.stderr(name)), name
    assert not np.array_equal(a.R_r, b.R_r)
    assert not np.array_equal(a.T_r, b.T_r)


# -- 6. closed forms: a purely absorbing slab -----------------------------------------------------------
def test_absorbing_slab_index_matched():
    # σs = 0, n = 1 everywhere: Beer–Lambert, T = e^{−σa d}, nothing reflected, A(z) = σa e^{−σa z}.
    # The tracer follows MCML (absorption by weight at interaction sites, w ← w·albedo): with albedo 0 a
    # packet deposits all its weight at its first interaction, so T is a binomial fraction, exact only in
    # expectation (not deterministic). Its standard error must then be the binomial one,
    # sqrt(p(1 − p)/N), up to the scatter of a 64-batch estimate (χ with 63 dof: ±9% per σ).
    sigma_a, d, n = 0.7, 1.3, 1_000_000
    res = _run([Layer(Medium(sigma_a=sigma_a, sigma_s=0.0, g=0.0, eta=1.0), d)], n, seed=61,
               r_max=1.0, n_r=4, n_z=13)
    # exact bookkeeping: nothing reflects or scatters, transmitted light stays on the axis (first bin)
    assert res.R_specular == 0.0 and res.R_diffuse == 0.0 and res.R_single == 0.0
    assert res.T_total == res.T_unscattered
    assert np.all(res.T_r[1:] == 0.0)
    assert res.T_r[0] * np.pi * res.r_edges[1] ** 2 == pytest.approx(res.T_total, rel=1e-12)
    assert res.T_total + res.A_total == pytest.approx(1.0, abs=1e-6)
    # in expectation: Beer–Lambert. Measured (seed 61, 1e6 photons): T 0.403192 ± 0.000462 against
    # e^{−0.91} = 0.402524 (z +1.44); stderr / binomial 0.943; A_z max |z| 1.83 over 13 bins.
    p = math.exp(-sigma_a * d)
    _assert_agrees("T", res.T_total, res.stderr("T_total"), p, abs_tol=0.003)
    assert 0.64 < res.stderr("T_total") / math.sqrt(p * (1 - p) / n) < 1.36
    # A(z), bin means of σa e^{−σa z}
    z = res.z_edges
    A_exact = -np.diff(np.exp(-sigma_a * z)) / np.diff(z)
    zs = (res.A_z - A_exact) / res.stderr("A_z")
    assert np.all(np.abs(zs) < Z_MAX), zs


def test_absorbing_glass_slab_in_air_multiple_reflections():
    # σs = 0, n = 1.5 in air, normal incidence: the incoherent sum over internal reflections
    # (e.g. Born & Wolf; iadpython's absorbing_glass_RT), R = ((n − 1)/(n + 1))² = 0.04, τ = σa d:
    #   T = (1 − R)² e^{−τ} / (1 − R² e^{−2τ}),   R_diffuse = (1 − R)² R e^{−2τ} / (1 − R² e^{−2τ}).
    # (R_diffuse excludes the specular R.) Measured (seed 62, 1e6 photons): T 0.371230 ± 0.000565 against
    # 0.371063 (z +0.30), R_diffuse 0.006061 ± 0.000067 against 0.005974 (z +1.30).
    sigma_a, d, n_slab = 0.7, 1.3, 1.5
    res = _run([Layer(Medium(sigma_a=sigma_a, sigma_s=0.0, g=0.0, eta=n_slab), d)], 1_000_000, seed=62)
    R = ((n_slab - 1.0) / (n_slab + 1.0)) ** 2
    t = math.exp(-sigma_a * d)
    assert res.R_specular == pytest.approx(R, rel=1e-12)
    assert res.T_total == res.T_unscattered and res.R_diffuse == res.R_unscattered
    assert res.R_single == 0.0
    T_ref = (1 - R) ** 2 * t / (1 - R**2 * t**2)
    R_ref = (1 - R) ** 2 * R * t**2 / (1 - R**2 * t**2)
    _assert_agrees("T", res.T_total, res.stderr("T_total"), T_ref, abs_tol=0.003)
    _assert_agrees("R_diffuse", res.R_diffuse, res.stderr("R_diffuse"), R_ref, abs_tol=0.001)

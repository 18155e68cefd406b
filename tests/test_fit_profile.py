"""bssrdf.fit.fit_profile: round trips against profiles of known media.

- Monte Carlo round trip: profiles traced by bssrdf.mc for known σa, σ's (three channels, the tracer's own
  noise) are fitted back by the ``mc`` model within their reported uncertainties, while the ``dipole`` model,
  fitted to the same data, misses at least one coefficient by many of its own standard errors (the
  diffusion approximation fails within a few mean free paths of the source).
- Calibration of the estimator: profiles from the closed-form dipole model with Gaussian noise of known size
  are fitted back; over many noise draws the z-scores have unit spread and the reduced χ² is near 1.
- Scale, multipole, poorly constrained data, unit conversions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bssrdf
from bssrdf import backend
from bssrdf.fit import FitError, fit_profile, profile_from_arrays
from bssrdf.fit.mc_table import reference_profile

needs_cpu = pytest.mark.skipif(not backend.cpu_available(),
                               reason="needs the compiled extension bssrdf._core")

# three channels of one g = 0 medium at eta 1.3 (reduced albedos 0.990, 0.968, 0.930)
TRUE_SA = np.array([0.01, 0.05, 0.15])
TRUE_SSP = np.array([1.0, 1.5, 2.0])
ETA = 1.3
R_MAX, N_R = 6.0, 120
PHOTONS = 400_000


@pytest.fixture(scope="module")
def mc_profiles(tmp_path_factory):
    """Monte Carlo R(r) of the three channels (semi-infinite), saved as bssrdf HDF5 results."""
    folder = tmp_path_factory.mktemp("fit_mc")
    paths, results = [], []
    for c in range(3):
        medium = bssrdf.Medium(TRUE_SA[c], TRUE_SSP[c], g=0.0, eta=ETA)
        res = bssrdf.mc.simulate([bssrdf.Layer(medium, math.inf)], PHOTONS, r_max=R_MAX, n_r=N_R, seed=77 + c,
                                 backend="cpu", progress=False, n_threads=1)
        path = folder / f"{'RGB'[c]}.h5"
        res.save(path)
        paths.append(path)
        results.append(res)
    return paths, results


def _z(result, c):
    return ((result.sigma_a[c] - TRUE_SA[c]) / result.sigma_a_stderr[c],
            (result.sigma_s_prime[c] - TRUE_SSP[c]) / result.sigma_s_prime_stderr[c])


@needs_cpu
def test_mc_model_recovers_monte_carlo_profiles(mc_profiles):
    paths, _ = mc_profiles
    fit = fit_profile(paths, model="mc")
    assert fit.channels == ["R", "G", "B"]
    assert fit.medium.eta.tolist() == [ETA] * 3          # taken from the files
    for c in range(3):
        za, zs = _z(fit, c)
        assert abs(za) < 3.5 and abs(zs) < 3.5, (c, fit.summary())
        # and the reported uncertainties are small enough to mean something
        assert fit.sigma_a_stderr[c] < 0.1 * TRUE_SA[c] and fit.sigma_s_prime_stderr[c] < 0.05 * TRUE_SSP[c]
    assert not fit.poorly_constrained.any()
    assert fit.chi2_reduced < 3.0


@needs_cpu
def test_dipole_is_biased_where_mc_is_not(mc_profiles):
    """Same data: the dipole (with its exact single-scattering term) misses by many standard errors."""
    paths, _ = mc_profiles
    mc = fit_profile(paths, model="mc")
    dip = fit_profile(paths, model="dipole")
    z_dip = np.array([_z(dip, c) for c in range(3)])
    z_mc = np.array([_z(mc, c) for c in range(3)])
    assert np.max(np.abs(z_mc)) < 3.5
    assert np.max(np.abs(z_dip)) > 5.0, dip.summary()
    # the dipole's relative error of sigma_s' is several times the mc model's
    err_dip = np.abs(dip.sigma_s_prime / TRUE_SSP - 1)
    err_mc = np.abs(mc.sigma_s_prime / TRUE_SSP - 1)
    assert np.max(err_dip) > 3 * np.max(err_mc)
    # and its fit is poor: chi^2 far above 1 (the bias is visible in the residuals)
    assert dip.chi2_reduced > 3 * mc.chi2_reduced


@needs_cpu
def test_unknown_scale_recovers_scale_and_coefficients(mc_profiles):
    _, results = mc_profiles
    r = results[0].r_centers
    edges = results[0].r_edges
    k = 0.37
    values = np.column_stack([res.R_r for res in results]) * k
    errors = np.column_stack([res.stderr("R_r") for res in results]) * k
    data = profile_from_arrays(r, values, errors, channels=list("RGB"), r_edges=edges, absolute=False)
    with pytest.raises(ValueError, match="arbitrary units"):
        fit_profile(data, model="mc", eta=ETA)
    fit = fit_profile(data, model="mc", eta=ETA, unknown_scale=True)
    assert abs(fit.scale[0] - k) < 3.5 * fit.scale_stderr[0]
    for c in range(3):
        za, zs = _z(fit, c)
        assert abs(za) < 3.5 and abs(zs) < 3.5
    # a free scale costs precision
    fixed = fit_profile(data.__class__(**{**data.__dict__, "values": values / k, "errors": errors / k,
                                          "absolute": True}), model="mc", eta=ETA)
    assert np.all(fit.sigma_s_prime_stderr > fixed.sigma_s_prime_stderr)


def _noisy_dipole(seed, rel=0.03, sa=TRUE_SA, ssp=TRUE_SSP, n=200):
    r = np.linspace(0.05, 8.0, n)
    clean = reference_profile(r, sa, ssp, ETA)
    rng = np.random.default_rng(seed)
    return r, clean * np.exp(rel * rng.standard_normal(clean.shape)), rel * clean


def test_uncertainties_are_calibrated():
    """Closed-form dipole data with known log-normal noise: z-scores of 40 fits have unit spread."""
    z, chi = [], []
    for seed in range(40):
        r, values, errors = _noisy_dipole(seed)
        fit = fit_profile((r, values, errors), model="dipole", eta=ETA)
        z += [(fit.sigma_a - TRUE_SA) / fit.sigma_a_stderr,
              (fit.sigma_s_prime - TRUE_SSP) / fit.sigma_s_prime_stderr]
        chi.append(fit.chi2_reduced)
    z = np.concatenate(z)
    assert abs(np.mean(z)) < 0.25
    assert 0.8 < np.std(z) < 1.2                      # 240 z-scores: spread 1 within ~±0.1
    assert abs(np.mean(chi) - 1.0) < 0.05


def test_no_uncertainties_errors_from_scatter():
    r, values, _ = _noisy_dipole(3, rel=0.05)
    fit = fit_profile((r, values), model="dipole", eta=ETA)
    assert fit.chi2_reduced is None
    assert any("no uncertainties" in n for n in fit.notes)
    za = (fit.sigma_a - TRUE_SA) / fit.sigma_a_stderr
    assert np.all(np.abs(za) < 4)
    # the scatter estimate: the rms of the log residuals is the noise level, 0.05
    r2, v2, e2 = _noisy_dipole(3, rel=0.05)
    with_errors = fit_profile((r2, v2, e2), model="dipole", eta=ETA)
    np.testing.assert_allclose(fit.sigma_a_stderr, with_errors.sigma_a_stderr, rtol=0.15)


def test_multipole_round_trip_and_thickness_rules():
    d = 3.0
    medium = bssrdf.Medium.from_reduced(TRUE_SA, TRUE_SSP, eta=ETA)
    r = np.linspace(0.05, 8.0, 150)
    from bssrdf.profiles import multipole, single

    clean = (np.asarray(multipole.R(r, medium, d, backend="numpy"))
             + np.asarray(single.R_1(r, medium, backend="numpy")))
    rng = np.random.default_rng(5)
    values = clean * np.exp(0.02 * rng.standard_normal(clean.shape))
    fit = fit_profile((r, values, 0.02 * clean), model="multipole", eta=ETA, thickness=d)
    assert np.all(np.abs((fit.sigma_a - TRUE_SA) / fit.sigma_a_stderr) < 4)
    assert np.all(np.abs((fit.sigma_s_prime - TRUE_SSP) / fit.sigma_s_prime_stderr) < 4)
    with pytest.raises(ValueError, match="thickness"):
        fit_profile((r, values), model="multipole", eta=ETA)
    with pytest.raises(ValueError, match="multipole"):
        fit_profile((r, values), model="dipole", eta=ETA, thickness=d)


def test_poorly_constrained_fit_says_so():
    """Six points far in the tail: only sigma_tr is determined; the report flags it."""
    r = np.linspace(6.0, 7.0, 6)
    clean = reference_profile(r, TRUE_SA[:1], TRUE_SSP[:1], ETA)
    fit = fit_profile((r, clean * 1.0, 0.05 * clean), model="dipole", eta=ETA, unknown_scale=True)
    assert fit.poorly_constrained[0]
    assert any("POORLY CONSTRAINED" in n for n in fit.notes)
    assert "POORLY CONSTRAINED" in fit.summary()


def test_bad_inputs_name_the_problem(monkeypatch):
    r, values, errors = _noisy_dipole(1)
    with pytest.raises(ValueError, match="too few points"):
        fit_profile((r[:3], values[:3], errors[:3]), model="dipole")
    bad = values.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_profile((r, bad), model="dipole")
    with pytest.raises(ValueError, match="radii"):
        fit_profile((-r, values), model="dipole")
    with pytest.raises(ValueError, match="model"):
        fit_profile((r, values), model="tripole")
    # a fit that does not converge is a FitError (a ValueError), not a confident number
    import bssrdf.fit.profile as fp

    monkeypatch.setattr(fp, "MAX_NFEV", 1)
    with pytest.raises(FitError, match="did not converge"):
        fit_profile((r, values, errors), model="dipole", eta=ETA)


def test_mc_model_refuses_media_outside_its_table():
    """Pure single scattering (alpha' = 0.003, below the table's 0.0199): a clear FitError, not a number."""
    from bssrdf.fit.mc_table import single_scattering

    r = np.linspace(0.05, 4.0, 80)
    clean = single_scattering(ETA).R_1(r[:, None], np.array([1.0]), np.array([0.003]))
    with pytest.raises(FitError, match="edge of the Monte Carlo table"):
        fit_profile((r, clean, 0.01 * clean), model="mc", eta=ETA)


def test_csv_units_are_converted(tmp_path):
    r, values, errors = _noisy_dipole(2, n=60)
    mm = tmp_path / "mm.csv"
    cm = tmp_path / "cm.csv"
    pairs = np.stack([values, errors], axis=2).reshape(r.size, -1)      # R, R_err, G, G_err, B, B_err

    def table(rr, vv):
        return "\n".join(",".join(f"{x:.12g}" for x in (rr[i], *vv[i])) for i in range(rr.size))

    rows = table(r, pairs)
    mm.write_text("# a measurement\n# units: mm^-2\nr_mm,R,R_err,G,G_err,B,B_err\n" + rows + "\n")
    rows_cm = table(r / 10, pairs * 100)
    cm.write_text("# units: cm^-2\nr_cm,R,R_err,G,G_err,B,B_err\n" + rows_cm + "\n")
    a = fit_profile(mm, model="dipole", eta=ETA)
    b = fit_profile(cm, model="dipole", eta=ETA)
    np.testing.assert_allclose(a.sigma_a, b.sigma_a, rtol=1e-7)
    np.testing.assert_allclose(a.sigma_s_prime, b.sigma_s_prime, rtol=1e-7)
    assert a.channels == ["R", "G", "B"]


def test_export_profile_table_is_read_and_fitted_back(tmp_path):
    """A bssrdf.export profile table (skin1's dipole R_d, HDF5): the dipole alone fits it back exactly."""
    from bssrdf.export.table import write_table

    skin = bssrdf.materials.get("skin1")
    path = write_table(skin, tmp_path / "skin1.h5")
    fit = fit_profile(path, model="dipole", single_scattering=False, r_max=10.0)
    np.testing.assert_allclose(fit.sigma_a, skin.sigma_a, rtol=1e-8)
    np.testing.assert_allclose(fit.sigma_s_prime, skin.sigma_s_prime, rtol=1e-8)
    assert fit.medium.eta.tolist() == [1.3] * 3 and fit.chi2_reduced is None

"""bssrdf.fit.fit_totals: inverse adding-doubling.

- Prahl's ``iad`` README example: ``iad -r 0.4 -t 0.1 -d 1`` (a 1 mm slab, g = 0, matched boundaries, M_R and
  M_T the total reflectance and transmittance, specular and unscattered light included) gives
  μa = 0.4673 mm⁻¹, μs' = 3.9317 mm⁻¹; reproduced within 1 %.
- Monte Carlo cross-check: the fitted medium traced by bssrdf.mc reflects and transmits the R and T it was
  fitted to (within the tracer's error).
- Uncertainties: the linear propagation agrees with the spread of refits to perturbed measurements.
"""

from __future__ import annotations

import numpy as np
import pytest

import bssrdf
from bssrdf import backend
from bssrdf.fit import FitError, fit_totals

needs_cpu = pytest.mark.skipif(not backend.cpu_available(),
                               reason="needs the compiled extension bssrdf._core")

IAD_MU_A, IAD_MU_SP = 0.4673, 3.9317   # iad README, "Inverting a single measurement on the command line"


def test_iad_readme_example():
    fit = fit_totals(0.4, 0.1, 1.0, eta=1.0, g=0.0)
    assert abs(fit.sigma_a[0] / IAD_MU_A - 1) < 0.01
    assert abs(fit.sigma_s_prime[0] / IAD_MU_SP - 1) < 0.01
    # the forward model reproduces the measurement (iad itself prints M_R fit 0.4000, M_T fit 0.0999)
    assert abs(fit.extra["R_fit"][0] - 0.4) < 1e-6 and abs(fit.extra["T_fit"][0] - 0.1) < 1e-6
    assert fit.medium.eta.tolist() == [1.0]


@needs_cpu
@pytest.mark.parametrize("eta", [1.0, 1.4])
def test_fitted_medium_reproduces_R_and_T_in_monte_carlo(eta):
    R, T, d = 0.4, 0.1, 1.0
    fit = fit_totals(R, T, d, eta=eta)
    layer = bssrdf.Layer(fit.medium.channel(0), d)
    res = bssrdf.mc.simulate([layer], 200_000, r_max=1.0, n_r=1, seed=11, backend="cpu", progress=False,
                             precision="double")
    R_mc = res.R_specular + res.R_diffuse
    # MC error plus the adding-doubling quadrature's own (~1e-3 at 16 points)
    assert abs(R_mc - R) < 3 * res.stderr("R_diffuse") + 2e-3, (R_mc, res.stderr("R_diffuse"))
    assert abs(res.T_total - T) < 3 * res.stderr("T_total") + 2e-3, (res.T_total, res.stderr("T_total"))


def test_several_channels_and_excluded_parts():
    fit = fit_totals([0.4, 0.3, 0.2], [0.1, 0.2, 0.3], 2.0, eta=1.4, labels=["450nm", "550nm", "650nm"])
    assert fit.channels == ["450nm", "550nm", "650nm"]
    np.testing.assert_allclose(fit.extra["R_fit"], [0.4, 0.3, 0.2], atol=1e-6)
    # without the specular reflection the same R needs more scattering
    diffuse = fit_totals(0.4, 0.1, 2.0, eta=1.4, specular_included=False)
    assert diffuse.sigma_s_prime[0] > fit.sigma_s_prime[0]


def test_standard_errors_match_the_spread_of_refits():
    R, T, sR, sT = 0.4, 0.1, 0.004, 0.002
    fit = fit_totals(R, T, 1.0, eta=1.4, R_err=sR, T_err=sT)
    rng = np.random.default_rng(3)
    draws = np.array([[f.sigma_a[0], f.sigma_s_prime[0]] for f in
                      (fit_totals(R + sR * rng.standard_normal(), T + sT * rng.standard_normal(), 1.0,
                                  eta=1.4)
                       for _ in range(30))])
    spread = draws.std(axis=0, ddof=1)
    # 30 draws: the sample spread is within ~±35 % of the true one at 3 sigma
    assert 0.65 < spread[0] / fit.sigma_a_stderr[0] < 1.4
    assert 0.65 < spread[1] / fit.sigma_s_prime_stderr[0] < 1.4
    rho = np.corrcoef(draws.T)[0, 1]
    assert abs(rho - fit.corr_a_s[0]) < 0.35


@pytest.mark.parametrize("R, T, match", [
    (0.7, 0.4, "R \\+ T"),
    (0.4, 0.0, "T"),
    (1.2, 0.1, "R"),
    (np.nan, 0.1, "finite"),
])
def test_inconsistent_measurements(R, T, match):
    with pytest.raises(ValueError, match=match):
        fit_totals(R, T, 1.0)


def test_unreachable_measurement_is_a_fit_error():
    # a 10 mm slab cannot transmit 95 % while reflecting 4 %: no coefficients reproduce it
    with pytest.raises(FitError, match="no sigma_a, sigma_s' reproduce"):
        fit_totals(0.001, 0.95, 10.0, eta=1.4)

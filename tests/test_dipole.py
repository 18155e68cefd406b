"""Dipole (Jensen et al. 2001): closed-form identities and published check values."""

import numpy as np
import pytest

from bssrdf import Medium
from bssrdf.profiles import dipole

from .conftest import HOST_BACKENDS, radial_integral

MARBLE_RED = Medium.from_reduced(sigma_a=0.0021, sigma_s_prime=2.19, eta=1.5)


def test_marble_red_check_values():
    # physics.md: R_d(0) ≈ 0.39075, R_d(1 mm) ≈ 0.034847 mm⁻², total ≈ 0.830191
    R = dipole.R_d(np.array([0.0, 1.0]), MARBLE_RED)
    assert R[0] == pytest.approx(0.39075, rel=2e-5)
    assert R[1] == pytest.approx(0.034847, rel=2e-5)
    assert dipole.total_R_d(MARBLE_RED) == pytest.approx(0.830191, rel=1e-6)


@pytest.mark.parametrize("backend", HOST_BACKENDS)
@pytest.mark.parametrize("eta", [1.0, 1.3, 1.6])
def test_integral_of_profile_equals_closed_form_total(backend, eta):
    # ∫ 2πr R_d dr = (α'/2)(1 + e^{-4/3 A sqrt(3(1-α'))}) e^{-sqrt(3(1-α'))} to 1e-6 relative.
    albedos = np.array([0.01, 0.1, 0.5, 0.9, 0.99, 0.999])
    sigma_t_prime = 1.7
    m = Medium.from_reduced(sigma_a=(1 - albedos) * sigma_t_prime,
                            sigma_s_prime=albedos * sigma_t_prime, eta=eta)
    numeric = radial_integral(lambda r: dipole.R_d(r, m, backend=backend))
    np.testing.assert_allclose(numeric, dipole.total_R_d(m), rtol=1e-6)


def test_outside_index_enters_as_relative_eta():
    m = Medium.from_reduced(0.01, 1.0, eta=1.95)
    same = Medium.from_reduced(0.01, 1.0, eta=1.5)
    r = np.linspace(0, 3, 7)
    np.testing.assert_allclose(dipole.R_d(r, m, n_outside=1.3), dipole.R_d(r, same), rtol=1e-14)


def test_source_positions():
    assert float(dipole.z_r(MARBLE_RED)) == pytest.approx(1 / 2.1921)
    from bssrdf.fresnel import A
    assert float(dipole.z_v(MARBLE_RED)) == pytest.approx((1 + 4 / 3 * float(A(1.5))) / 2.1921)


def test_output_shape_follows_r_and_medium():
    rgb = Medium.from_reduced([0.01, 0.02, 0.03], [1.0, 1.1, 1.2])
    assert dipole.R_d(np.zeros((4, 5)), rgb).shape == (4, 5, 3)
    assert dipole.R_d(np.zeros((4, 5)), MARBLE_RED).shape == (4, 5)
    assert dipole.R_d(0.5, MARBLE_RED).shape == ()
    assert dipole.R_d(np.array([], dtype=float), rgb).shape == (0, 3)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_bad_radii_raise(bad):
    with pytest.raises(ValueError, match="r must be"):
        dipole.R_d(np.array([0.0, bad]), MARBLE_RED)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="n_outside"):
        dipole.R_d(np.array([1.0]), MARBLE_RED, n_outside=0.0)
    with pytest.raises(ValueError, match="backend"):
        dipole.R_d(np.array([1.0]), MARBLE_RED, backend="gpu")
    with pytest.raises(ValueError, match="sigma_t'"):
        dipole.R_d(np.array([1.0]), Medium(0.0, 0.0))
    with pytest.raises(TypeError, match="Medium"):
        dipole.R_d(np.array([1.0]), {"sigma_a": 1})

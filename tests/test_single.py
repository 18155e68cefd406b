"""Single scattering R_1(r): quadrature accuracy and closed-form totals."""

import numpy as np
import pytest

from bssrdf import Medium
from bssrdf.profiles import single

from .conftest import HOST_BACKENDS, radial_integral


@pytest.mark.parametrize("backend", HOST_BACKENDS)
@pytest.mark.parametrize("g, eta", [(0.0, 1.0), (0.0, 1.3), (0.9, 1.5), (-0.9, 1.6), (0.5, 0.8)])
def test_gauss_legendre_matches_adaptive_quadrature(backend, g, eta):
    # The θ-quadrature of the kernels against adaptive quadrature of the original z-integral:
    # relative error < 1e-10 for σt r from 1e-9 to 30 (the accuracy stated in the docs;
    # measured max 6e-11).
    m = Medium(sigma_a=0.3, sigma_s=1.7, g=g, eta=eta)
    r = np.geomspace(5e-10, 15.0, 14)  # σt r from 1e-9 to 30
    fast = single.R_1(r, m, backend=backend)
    slow = np.array([single.R_1_adaptive(x, 0.3, 1.7, g, eta) for x in r])
    np.testing.assert_allclose(fast, slow, rtol=1e-10)


def test_isotropic_index_matched_total_is_closed_form():
    # η = 1, g = 0: ∫2πr R_1 dr = (α/2)(1 − ln 2)
    m = Medium(sigma_a=[0.1, 1.0], sigma_s=[1.0, 1.0])
    expected = m.albedo / 2 * (1 - np.log(2))
    np.testing.assert_allclose(single.total_R_1(m), expected, rtol=1e-12)
    np.testing.assert_allclose(radial_integral(lambda r: single.R_1(r, m), r_min=1e-12),
                               expected, rtol=1e-6)


def test_profile_integrates_to_total_with_fresnel_and_anisotropy():
    m = Medium(sigma_a=0.05, sigma_s=2.0, g=0.6, eta=1.4)
    assert radial_integral(lambda r: single.R_1(r, m), r_min=1e-12) == pytest.approx(
        float(single.total_R_1(m)), rel=1e-6)


def test_small_radius_behaves_as_one_over_r():
    # As r → 0 the attenuation vanishes and every exit angle θ < θ_c contributes:
    # r R_1 → T_in σs ∫₀^{θc} cos θ p(−cos θ) T_out(cos θ) dθ.
    from scipy import integrate

    from bssrdf.fresnel import F_r
    g, eta, sigma_s = 0.3, 1.3, 1.0
    m = Medium(sigma_a=0.1, sigma_s=sigma_s, g=g, eta=eta)

    def hg(mu):
        return (1 - g * g) / (4 * np.pi * (1 + g * g - 2 * g * mu) ** 1.5)

    theta_c = np.arcsin(1 / eta)
    ang, _ = integrate.quad(lambda t: np.cos(t) * hg(-np.cos(t)) * (1 - float(F_r(np.cos(t), 1 / eta))),
                            0, theta_c, epsabs=1e-14)
    limit = (1 - float(F_r(1.0, eta))) * sigma_s * ang
    # at σt r = 1.1e-8 the remaining correction is O(σt r log σt r)
    assert float(single.R_1(1e-8, m)) * 1e-8 == pytest.approx(limit, rel=1e-6)
    assert np.isinf(single.R_1(0.0, m))


def test_no_scattering_gives_zero():
    assert float(single.R_1(1.0, Medium(0.5, 0.0))) == 0.0


def test_bad_node_count():
    with pytest.raises(ValueError, match="n_nodes"):
        single.R_1(1.0, Medium(0.5, 1.0), n_nodes=0)

"""Medium: derived quantities and input validation."""

import numpy as np
import pytest

from bssrdf import Medium


def test_derived_quantities_follow_their_definitions():
    m = Medium(sigma_a=[0.01, 0.1, 1.0], sigma_s=[2.0, 3.0, 4.0], g=0.5, eta=1.4)
    assert m.shape == (3,)
    np.testing.assert_allclose(m.sigma_s_prime, [1.0, 1.5, 2.0])
    np.testing.assert_allclose(m.sigma_t_prime, [1.01, 1.6, 3.0])
    np.testing.assert_allclose(m.albedo_prime, [1.0 / 1.01, 1.5 / 1.6, 2.0 / 3.0])
    np.testing.assert_allclose(m.sigma_tr, np.sqrt(3 * np.array([0.01, 0.1, 1.0]) * [1.01, 1.6, 3.0]))
    np.testing.assert_allclose(m.D, 1 / (3 * np.array([1.01, 1.6, 3.0])))
    np.testing.assert_allclose(m.mfp, 1 / np.array([1.01, 1.6, 3.0]))
    np.testing.assert_allclose(m.eta, [1.4, 1.4, 1.4])


def test_scalar_medium_has_empty_shape():
    m = Medium(0.1, 1.0)
    assert m.shape == () and m.n_channels == 1
    assert float(m.albedo) == pytest.approx(1 / 1.1)


def test_from_reduced_sets_sigma_s_from_g():
    m = Medium.from_reduced(sigma_a=0.1, sigma_s_prime=[1.0, 2.0], g=0.8, eta=1.3)
    np.testing.assert_allclose(m.sigma_s, [5.0, 10.0])
    np.testing.assert_allclose(m.sigma_s_prime, [1.0, 2.0])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(sigma_a=-0.1, sigma_s=1.0), "sigma_a"),
        (dict(sigma_a=np.nan, sigma_s=1.0), "sigma_a"),
        (dict(sigma_a=0.1, sigma_s=[1.0, -2.0]), "sigma_s"),
        (dict(sigma_a=0.1, sigma_s=np.inf), "sigma_s"),
        (dict(sigma_a=0.1, sigma_s=1.0, g=1.0), "g"),
        (dict(sigma_a=0.1, sigma_s=1.0, g=-1.0), "g"),
        (dict(sigma_a=0.1, sigma_s=1.0, eta=0.0), "eta"),
        (dict(sigma_a=0.1, sigma_s=1.0, eta=-1.3), "eta"),
        (dict(sigma_a=[0.1, 0.2], sigma_s=[1.0, 2.0, 3.0]), "channel counts"),
        (dict(sigma_a=[[0.1]], sigma_s=1.0), "sigma_a"),
        (dict(sigma_a="abc", sigma_s=1.0), "sigma_a"),
    ],
)
def test_bad_values_raise_with_the_parameter_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Medium(**kwargs)


def test_error_message_states_value_and_range():
    with pytest.raises(ValueError) as e:
        Medium(sigma_a=[0.1, -3.0], sigma_s=1.0)
    msg = str(e.value)
    assert "-3.0" in msg and "channel 1" in msg and "[0" in msg and "mm^-1" in msg


def test_from_reduced_validates_too():
    with pytest.raises(ValueError, match="sigma_s_prime"):
        Medium.from_reduced(0.1, -1.0)
    with pytest.raises(ValueError, match="g"):
        Medium.from_reduced(0.1, 1.0, g=1.5)


def test_media_are_immutable_and_comparable():
    m = Medium([0.1, 0.2], [1.0, 2.0])
    with pytest.raises(ValueError):
        m.sigma_a[0] = 5.0
    assert m == Medium([0.1, 0.2], [1.0, 2.0])
    assert m != Medium([0.1, 0.2], [1.0, 2.5])
    assert m.channel(1) == Medium(0.2, 2.0)

"""Shared fixtures: which backends exist here, and numerical helpers for the tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from bssrdf import backend

HOST_BACKENDS = [b for b in ("cpu", "numpy") if b in backend.available_backends()]


def pytest_collection_modifyitems(config, items):
    if backend.cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def radial_integral(profile, r_min=1e-9, r_max=1e4, n=40001):
    """∫ 2πr f(r) dr over [0, ∞) for a profile f(r) → (..., C), by Simpson's rule in ln r.

    The part below r_min is ≈ π r_min² f(0); profiles here decay exponentially well before r_max.
    """
    u = np.linspace(np.log(r_min), np.log(r_max), n)
    r = np.exp(u)
    f = np.asarray(profile(r))
    integrand = 2.0 * np.pi * (r**2).reshape((-1,) + (1,) * (f.ndim - 1)) * f
    return integrate.simpson(integrand, x=u, axis=0)

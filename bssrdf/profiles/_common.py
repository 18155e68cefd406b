"""Helpers shared by the profile models: input checks and result shapes."""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend as _backend
from .._validate import as_float_array, check_range
from ..medium import Medium


class DiffusionValidityWarning(UserWarning):
    """A diffusion model is evaluated where its assumptions fail (see the message)."""


def check_medium(medium, *, diffusion: bool = True) -> Medium:
    if not isinstance(medium, Medium):
        raise TypeError(f"medium must be a bssrdf.Medium; got {type(medium).__name__}")
    if diffusion and np.any(medium.sigma_t_prime <= 0):
        raise ValueError("diffusion profiles need sigma_t' = sigma_a + sigma_s' > 0 mm^-1; got "
                         f"sigma_t' = {medium.sigma_t_prime.tolist()}")
    return medium


def radii(r):
    """Validate radii [mm]: real, finite, >= 0. Returns the array (NumPy or CuPy, not copied)."""
    xp = _backend.array_module(r)
    arr = r if xp is not np else np.asarray(r)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"r must be an array of real radii in mm; got dtype {arr.dtype}")
    if arr.size and not bool(xp.all(xp.isfinite(arr) & (arr >= 0))):
        bad = arr[~(xp.isfinite(arr) & (arr >= 0))].ravel()[0]
        raise ValueError(f"r must be finite and >= 0 mm; got {float(bad)!r}")
    return arr


def relative_eta(medium: Medium, n_outside, name: str = "n_outside") -> np.ndarray:
    """eta = n_medium / n_outside per channel (n_outside a scalar or per channel, > 0)."""
    n = check_range(name, as_float_array(name, n_outside), lo=0.0, lo_open=True)
    if n.ndim == 1 and medium.shape != n.shape:
        raise ValueError(f"{name} has {n.size} channels but the medium has shape {medium.shape}")
    return np.broadcast_to(medium.eta / n, medium.shape).astype(np.float64)


def channel_vector(a) -> np.ndarray:
    """A per-channel parameter as a contiguous 1-D float64 array (length 1 for scalars)."""
    return np.ascontiguousarray(np.atleast_1d(np.asarray(a, dtype=np.float64)))


def out_shape(r, medium: Medium) -> tuple[int, ...]:
    return tuple(r.shape) + medium.shape


def warn_validity(message: str) -> None:
    warnings.warn(message, DiffusionValidityWarning, stacklevel=3)

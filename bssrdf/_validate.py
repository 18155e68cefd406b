"""Input checks shared by the public entry points.

Every check raises ``ValueError`` naming the parameter, the offending value and the valid
range, as promised in the design (see README, "Errors").
"""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(name: str, value) -> np.ndarray:
    """``value`` as a float64 array of ndim 0 or 1; other shapes or non-numbers raise."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or a 1-D sequence of them; got {value!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or one value per channel (1-D); got shape {arr.shape}")
    if arr.ndim == 1 and arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


def _first_bad(arr: np.ndarray, ok: np.ndarray) -> str:
    bad = np.flatnonzero(~np.atleast_1d(ok))[0]
    val = np.atleast_1d(arr)[bad].item()
    return f"{val!r}" if arr.ndim == 0 else f"{val!r} (channel {bad})"


def check_range(name: str, arr: np.ndarray, *, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False, unit: str = "") -> np.ndarray:
    """Check finiteness and an interval; the message states the interval."""
    ok = np.isfinite(arr)
    if lo is not None:
        ok &= (arr > lo) if lo_open else (arr >= lo)
    if hi is not None:
        ok &= (arr < hi) if hi_open else (arr <= hi)
    if not np.all(ok):
        left = "(" if lo_open else "["
        right = ")" if hi_open or hi is None else "]"
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        unit_s = f" {unit}" if unit else ""
        raise ValueError(
            f"{name} must be finite and in {left}{lo_s}, {hi_s}{right}{unit_s}; "
            f"got {_first_bad(arr, ok)}"
        )
    return arr


def positive_scalar(name: str, value, *, unit: str = "", allow_inf: bool = False) -> float:
    """A real scalar > 0 (optionally +inf)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number > 0{(' ' + unit) if unit else ''}; got {value!r}")
    v = float(value)
    if allow_inf and v == float("inf"):
        return v
    if not (np.isfinite(v) and v > 0):
        unit_s = f" {unit}" if unit else ""
        raise ValueError(f"{name} must be finite and > 0{unit_s}; got {value!r}")
    return v

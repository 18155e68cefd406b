"""Helpers shared by the rendered figures (``jensen2001_j05.py``, ``jensen2001_j06.py``, ``donner2005_d07``).

These figures render with :mod:`bssrdf.render` (Jensen & Buhler 2002's two-pass method) instead of running
Monte Carlo. Their ``PHOTONS`` is the number of irradiance samples of pass 1 (the "photons" of the
renderer); ``--photons N`` sets it, and below the default the image shrinks with it too
(:func:`image_size`), so that the tests' tiny setting renders a small image in a moment.

Units: lengths in mm, σ in mm⁻¹, irradiance in W mm⁻², radiance in W mm⁻² sr⁻¹ (any power unit for W).
"""

from __future__ import annotations

import time

import numpy as np

from .. import render
from ._core import Context

__all__ = ["samples_and_scale", "image_size", "timed_render", "tonemapped", "show_image", "fmt3",
           "luminance"]

MIN_PIXELS = 24
"""Smallest image side [pixels] of a scaled-down render."""


MAX_SAMPLES_FACTOR = 10
"""``--photons`` beyond the default adds irradiance samples up to this many times the default: the
Monte Carlo figures' ``--photons 1e8`` must not ask a renderer for 1e8 samples."""


def samples_and_scale(ctx: Context, default: int) -> tuple[int, float]:
    """Irradiance samples for this run (``--photons`` or the figure's default, at most
    :data:`MAX_SAMPLES_FACTOR` × the default) and the factor in (0, 1] by which the image side shrinks
    when they are fewer than the default (√(samples/default), so the samples per pixel stay about the
    same)."""
    n = min(ctx.n_photons(), MAX_SAMPLES_FACTOR * default)
    return n, float(min(1.0, np.sqrt(n / default)))


def image_size(pixels: int, scale: float) -> int:
    """``pixels`` × ``scale``, at least :data:`MIN_PIXELS` (and at most ``pixels``), even."""
    n = int(round(pixels * scale))
    n = max(min(MIN_PIXELS, pixels), min(pixels, n))
    return n + (n % 2)


def timed_render(scene, camera, material, ctx: Context, n_samples: int, seed: int, near_field=None):
    """:func:`bssrdf.render.render` on ``ctx.backend`` with the renderer's default evaluator (``method``
    None: the fastest one for the backend), ``ctx.progress`` and ``near_field`` (None, a radius [mm] or
    "auto") → (result, seconds)."""
    t0 = time.perf_counter()
    res = render.render(scene, camera, material, n_samples=n_samples, method=None, backend=ctx.backend,
                        seed=seed, progress=ctx.progress, near_field=near_field)
    return res, time.perf_counter() - t0


def tonemapped(image: np.ndarray, exposure: float) -> np.ndarray:
    """Linear radiance → sRGB-encoded display values in [0, 1]: clamp(exposure · L), sRGB transfer curve
    (:func:`bssrdf.render.tonemap`, "clamp")."""
    return render.tonemap(image, exposure, "clamp")


def show_image(ax, rgb: np.ndarray, title: str = "", extent=None, **kw) -> None:
    """An sRGB image on ``ax`` without ticks (unless ``extent`` in mm is given)."""
    ax.imshow(rgb, interpolation="nearest", extent=extent, **kw)
    if extent is None:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8.5)


def luminance(rgb) -> np.ndarray:
    """Rec. 709 luminance of linear RGB (..., 3)."""
    return np.asarray(rgb, dtype=np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def fmt3(values, spec: str = ".3g") -> str:
    """Three channel values as 'a / b / c' (R / G / B)."""
    return " / ".join(format(float(v), spec) for v in np.ravel(values))

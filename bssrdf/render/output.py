"""Image output: linear HDR ``.npy`` and tone-mapped 8-bit sRGB PNG, written atomically."""

from __future__ import annotations

import os

import numpy as np

from .._io import atomic_write

__all__ = ["tonemap", "srgb_encode", "write_npy", "write_png"]


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1) of linear values clipped to [0, 1]."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def tonemap(image: np.ndarray, exposure: float = 1.0, method: str = "clamp") -> np.ndarray:
    """Linear radiance (H, W, C) → display values in [0, 1] (sRGB-encoded), C = 1 or 3.

    ``method`` "clamp": sRGB(exposure·L); "reinhard": sRGB(x/(1+x)) with x = exposure·L.
    """
    if not (np.isfinite(exposure) and exposure > 0):
        raise ValueError(f"exposure must be finite and > 0; got {exposure!r}")
    x = exposure * np.asarray(image, dtype=np.float64)
    if method == "reinhard":
        x = x / (1.0 + x)
    elif method != "clamp":
        raise ValueError(f"method must be 'clamp' or 'reinhard'; got {method!r}")
    return srgb_encode(x)


def write_npy(path: str | os.PathLike, image: np.ndarray) -> None:
    """Save the linear image (float32 or float64 array) as ``.npy``."""
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(image))


def write_png(path: str | os.PathLike, image: np.ndarray, exposure: float = 1.0,
              method: str = "clamp") -> None:
    """Tone-map (see :func:`tonemap`) and save as an 8-bit sRGB PNG."""
    import matplotlib.image as mpimg

    v = tonemap(image, exposure, method)
    if v.ndim == 3 and v.shape[2] == 1:
        v = np.repeat(v, 3, axis=2)
    u8 = np.round(v * 255.0).astype(np.uint8)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        mpimg.imsave(f, u8, format="png")

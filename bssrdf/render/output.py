"""Image output: linear HDR (``.npy`` or OpenEXR) and tone-mapped 8-bit sRGB PNG, written atomically.

The OpenEXR writer is our own small one (no dependency): a single-part scanline file with
uncompressed 32-bit float (or 16-bit half) channels, as specified in the OpenEXR file layout
document (openexr.com, "OpenEXR File Layout"). Every EXR reader opens it (pbrt's imgtool,
Mitsuba's Bitmap, OpenImageIO, Blender, tev).
"""

from __future__ import annotations

import os
import struct

import numpy as np

from .._io import atomic_write

__all__ = ["tonemap", "srgb_encode", "write_npy", "write_png", "write_exr"]


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


_EXR_MAGIC = 20000630
_EXR_TYPES = {"float": (2, np.dtype("<f4")), "half": (1, np.dtype("<f2"))}


def _exr_attribute(name: str, kind: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def write_exr(path: str | os.PathLike, image: np.ndarray, pixel_type: str = "float") -> None:
    """Save the linear image as an OpenEXR file (scanline, uncompressed).

    Parameters
    ----------
    path : path-like
        Destination (``.exr``); written atomically.
    image : ndarray, shape (H, W), (H, W, 1) or (H, W, 3)
        Linear radiance (any unit: the file stores the numbers as given), finite. One channel is
        written as ``Y``, three as ``R``, ``G``, ``B``.
    pixel_type : {"float", "half"}, default "float"
        32-bit float, or 16-bit half (values beyond 65504 become inf: a ValueError is raised).
    """
    if pixel_type not in _EXR_TYPES:
        raise ValueError(f"pixel_type must be 'float' or 'half'; got {pixel_type!r}")
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3) or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"image must have shape (H, W), (H, W, 1) or (H, W, 3); got {np.shape(image)}")
    if not np.all(np.isfinite(img)):
        raise ValueError("image must be finite")
    code, dtype = _EXR_TYPES[pixel_type]
    if pixel_type == "half" and np.abs(img).max() > 65504.0:
        raise ValueError(f"values up to {np.abs(img).max():.4g} do not fit in half floats (max 65504)")
    h, w, c = img.shape
    names = ["Y"] if c == 1 else ["R", "G", "B"]
    order = sorted(range(c), key=lambda k: names[k])        # channels are stored by name
    chlist = b"".join(names[k].encode() + b"\0" + struct.pack("<iB3xii", code, 0, 1, 1) for k in order)
    box = struct.pack("<iiii", 0, 0, w - 1, h - 1)
    header = (struct.pack("<ii", _EXR_MAGIC, 2)
              + _exr_attribute("channels", "chlist", chlist + b"\0")
              + _exr_attribute("compression", "compression", b"\0")
              + _exr_attribute("dataWindow", "box2i", box)
              + _exr_attribute("displayWindow", "box2i", box)
              + _exr_attribute("lineOrder", "lineOrder", b"\0")
              + _exr_attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0))
              + _exr_attribute("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0))
              + _exr_attribute("screenWindowWidth", "float", struct.pack("<f", 1.0))
              + b"\0")
    # one scanline per block: int32 y, int32 byte count, then each channel's row in name order
    rows = np.ascontiguousarray(img[:, :, order].transpose(0, 2, 1)).astype(dtype)   # (H, C, W)
    size = c * w * dtype.itemsize
    table_start = len(header)
    first = table_start + 8 * h
    offsets = first + np.arange(h, dtype=np.uint64) * (8 + size)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(header)
        f.write(offsets.astype("<u8").tobytes())
        for y in range(h):
            f.write(struct.pack("<ii", y, size))
            f.write(rows[y].tobytes())

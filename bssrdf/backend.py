"""Where arrays live and kernels run.

Backends
--------
``"cuda"``
    The kernels of ``cuda/profiles.cu``, compiled at run time by CuPy (NVRTC) from the shared
    headers; needs CuPy and a CUDA device. Compiled modules are cached by CuPy on disk.
``"cpu"``
    The package's C++ extension ``bssrdf._core``: the same headers compiled by the host
    compiler, run in OpenMP threads.
``"numpy"``
    The plain NumPy float64 implementations in :mod:`bssrdf.profiles`, written from the
    papers: the reference every kernel is tested against.
``"auto"`` (default)
    ``"cuda"`` when CuPy finds a device, else ``"cpu"`` when the extension is built, else
    ``"numpy"``.

Arrays: NumPy in → NumPy out, CuPy in → CuPy out, whichever backend computes (inputs are
copied to where the backend runs and the result copied back). float32 radii are evaluated in
float32 (``float`` kernels), everything else in float64.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BACKENDS",
    "available_backends",
    "cuda_available",
    "cpu_available",
    "resolve",
    "array_module",
    "cuda_source_dir",
]

BACKENDS = ("auto", "cuda", "cpu", "numpy")

_PKG_DIR = Path(__file__).resolve().parent


def cuda_source_dir() -> Path:
    """Directory holding ``profiles.cu`` and ``include/bssrdf/*.h``.

    An installed wheel carries them in ``bssrdf/_cuda``; a source checkout (editable install)
    has them in ``cuda/`` beside the package. ``BSSRDF_CUDA_DIR`` overrides both.
    """
    candidates = []
    if os.environ.get("BSSRDF_CUDA_DIR"):
        candidates.append(Path(os.environ["BSSRDF_CUDA_DIR"]))
    candidates += [_PKG_DIR / "_cuda", _PKG_DIR.parent / "cuda"]
    for c in candidates:
        if (c / "include" / "bssrdf" / "common.h").is_file():
            return c
    raise FileNotFoundError(
        "cannot find bssrdf's CUDA sources (looked in " + ", ".join(map(str, candidates)) + ")"
    )


# -- the CPU extension ------------------------------------------------------------------------
@functools.cache
def _core():
    try:
        from . import _core as core  # type: ignore[attr-defined]
    except ImportError:
        return None
    return core


def cpu_available() -> bool:
    """True when the C++ extension ``bssrdf._core`` is importable."""
    return _core() is not None


# -- CuPy -------------------------------------------------------------------------------------
@functools.cache
def _cupy():
    try:
        import cupy
    except Exception:  # ImportError, or a CUDA library that fails to load
        return None
    return cupy


@functools.cache
def cuda_available() -> bool:
    """True when CuPy imports and finds at least one CUDA device."""
    cp = _cupy()
    if cp is None:
        return False
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def available_backends() -> list[str]:
    """Concrete backends usable on this machine, fastest first."""
    out = []
    if cuda_available():
        out.append("cuda")
    if cpu_available():
        out.append("cpu")
    out.append("numpy")
    return out


def array_module(x):
    """``cupy`` for a CuPy array, else ``numpy``."""
    cp = _cupy()
    if cp is not None and isinstance(x, cp.ndarray):
        return cp
    return np


def is_cupy(x) -> bool:
    return array_module(x) is not np


def resolve(backend: str) -> str:
    """The concrete backend for ``backend`` (one of :data:`BACKENDS`)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if backend == "auto":
        return available_backends()[0]
    if backend == "cuda" and not cuda_available():
        raise RuntimeError(
            "backend='cuda' needs CuPy and a CUDA device: pip install 'bssrdf[cuda]' on a machine "
            "with an NVIDIA GPU (or use backend='cpu')"
        )
    if backend == "cpu" and not cpu_available():
        raise RuntimeError(
            "backend='cpu' needs the compiled extension bssrdf._core, which is missing: reinstall "
            "with a C++17 compiler present (pip install -e .), or use backend='numpy'"
        )
    return backend


_warned_no_core = False


def _note_fallback(chosen: str) -> None:
    global _warned_no_core
    if chosen == "numpy" and not _warned_no_core:
        _warned_no_core = True
        warnings.warn("bssrdf: the C++ extension bssrdf._core is not built; using the (slower) "
                      "NumPy reference implementation", RuntimeWarning, stacklevel=4)


# -- kernel registry and launch ---------------------------------------------------------------
KERNELS = ("dipole_R_d", "multipole", "single_R_1")


@functools.cache
def _cuda_module():
    cp = _cupy()
    src_dir = cuda_source_dir()
    source = (src_dir / "profiles.cu").read_text()
    # CuPy's compile cache keys on the source text and options, not on included headers: fold
    # a hash of the headers into the options so that an edited header is recompiled.
    h = hashlib.sha256()
    for header in sorted((src_dir / "include").rglob("*.h")):
        h.update(header.read_bytes())
    options = ("-std=c++17", f"-I{src_dir / 'include'}", f"-DBSSRDF_HEADERS_SHA={h.hexdigest()[:16]}")
    names = [f"{k}_kernel<{t}>" for k in KERNELS for t in ("float", "double")]
    return cp.RawModule(code=source, options=options, name_expressions=names)


@dataclass(frozen=True)
class Scalar:
    """A scalar kernel argument: ``kind`` 'T' (the float type) or 'i' (int)."""

    value: float | int
    kind: str


def _launch_cuda(name: str, r, channels, extras, scalars, dtype):
    cp = _cupy()
    ctype = "float" if dtype == np.float32 else "double"
    kernel = _cuda_module().get_function(f"{name}_kernel<{ctype}>")
    n_ch = int(channels[0].size)
    out = cp.empty((r.size, n_ch), dtype=dtype)
    n = out.size
    if n == 0:
        return out
    dev = lambda a: cp.ascontiguousarray(cp.asarray(a, dtype=dtype))  # noqa: E731
    args = [r, np.int64(n), np.int32(n_ch)]
    args += [dev(c) for c in channels] + [dev(e) for e in extras]
    args += [dtype.type(s.value) if s.kind == "T" else np.int32(s.value) for s in scalars]
    args.append(out)
    block = 256
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    grid = int(min((n + block - 1) // block, sms * 32))
    kernel((grid,), (block,), tuple(args))
    return out


def _launch_cpu(name: str, r, channels, extras, scalars, dtype):
    core = _core()
    suffix = "f32" if dtype == np.float32 else "f64"
    fn = getattr(core, f"{name}_{suffix}")
    n_ch = int(channels[0].size)
    out = np.empty(r.size * n_ch, dtype=dtype)
    host = lambda a: np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    args = [host(c) for c in channels] + [host(e) for e in extras]
    args += [float(s.value) if s.kind == "T" else int(s.value) for s in scalars]
    fn(r, *args, out)
    return out.reshape(r.size, n_ch)


def evaluate(
    name: str,
    r,
    channels: Sequence[np.ndarray],
    *,
    reference: Callable[..., np.ndarray],
    extras: Sequence[np.ndarray] = (),
    scalars: Sequence[Scalar] = (),
    out_shape: tuple[int, ...],
    backend: str = "auto",
):
    """Evaluate profile kernel ``name`` over radii ``r`` for every channel.

    Parameters
    ----------
    name : str
        Kernel name in :data:`KERNELS`.
    r : numpy.ndarray or cupy.ndarray
        Radii [mm], already validated.
    channels : sequence of ndarray, each shape (C,)
        Per-channel parameters in the kernel's order.
    reference : callable
        ``reference(r_flat_float64, *channels, *extras, *scalar_values) -> (N, C)``, the NumPy
        implementation.
    extras, scalars
        Further arrays and scalars, in the kernel's order.
    out_shape : tuple
        Shape of the result (``r.shape + medium.shape``).
    backend : str
        One of :data:`BACKENDS`.

    Returns
    -------
    Array of the same kind as ``r`` (NumPy or CuPy), float32 for float32 radii else float64.
    """
    chosen = resolve(backend)
    if backend == "auto":
        _note_fallback(chosen)
    on_gpu = is_cupy(r)
    dtype = np.dtype(np.float32) if r.dtype == np.float32 else np.dtype(np.float64)
    if chosen == "cuda":
        cp = _cupy()
        r_dev = cp.ascontiguousarray(cp.asarray(r, dtype=dtype).ravel())
        res = _launch_cuda(name, r_dev, channels, extras, scalars, dtype).reshape(out_shape)
        return res if on_gpu else cp.asnumpy(res)
    r_host = r.get() if on_gpu else np.asarray(r)
    if chosen == "cpu":
        r_host = np.ascontiguousarray(r_host, dtype=dtype).ravel()
        res = _launch_cpu(name, r_host, channels, extras, scalars, dtype)
    else:
        r64 = np.asarray(r_host, dtype=np.float64).ravel()
        res = reference(r64, *channels, *extras, *[s.value for s in scalars]).astype(dtype, copy=False)
    res = res.reshape(out_shape)
    return _cupy().asarray(res) if on_gpu else res

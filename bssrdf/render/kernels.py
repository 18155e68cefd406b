"""Compiled evaluators of pass 2: M(x_o) = Σ_i R(|x_o − x_i|) P_i (Jensen & Buhler 2002).

The per-pair and per-point arithmetic is written once, in ``cuda/include/bssrdf/render.h``, for

* the GPU: ``cuda/render.cu``, a fused brute-force kernel (distance, profile and sum in one pass, no
  N × M intermediate; one thread per output point, samples staged through shared memory in tiles),
  compiled by CuPy (NVRTC) — :func:`cuda_sum`, float32 by default, or float64;
* the CPU: ``bssrdf._core.render_sum_*_f64`` (``cuda/cpu/render.cpp``), a truncated sum over a
  uniform grid of cells, OpenMP over output points, float64 — :func:`cpu_sum` (``radius = inf``: every
  pair); and ``render_clustered_*_f64``, the two-level clustered sum — :func:`cpu_clustered`.

Profiles: :class:`~bssrdf.render.DipoleProfile` (the closed-form dipole of Jensen et al. 2001 per
channel) and :class:`~bssrdf.render.TabulatedProfile` (a :class:`~bssrdf.export.table.ProfileTable`,
linear interpolation in r and 0 beyond r_max, exactly ``ProfileTable.evaluate``). A table whose grid is
uniform in x(r) = ln(1 + r/r₀) + κr/2 (every table :mod:`bssrdf.export.table` writes) is looked up in
O(1) from x(r); any other increasing grid by binary search (:func:`table_grid` decides). At most
:data:`MAX_CHANNELS` channels.

Units: positions in mm, powers P_i = E_t,i A_i in W, profiles in mm⁻², sums in W mm⁻².

The NumPy/SciPy evaluators of :mod:`bssrdf.render.pipeline` (``_brute``, ``_truncated``) are the
reference these are tested against (``tests/test_render_kernels.py``).
"""

from __future__ import annotations

import functools
import hashlib
import math

import numpy as np

from .. import backend as _backend
from ..profiles._common import channel_vector
from .materials import DipoleProfile, TabulatedProfile

__all__ = ["MAX_CHANNELS", "cpu_sum", "cpu_clustered", "cuda_sum", "supported", "table_grid", "table_lookup",
           "profile_arrays"]

MAX_CHANNELS = 4
BLOCK = 256
"""Threads per block of the GPU kernel (output points per block, samples per shared-memory tile)."""


# -- inputs -----------------------------------------------------------------------------------------
def _points(name: str, a):
    if not hasattr(a, "dtype") or a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"{name} must be an array of shape (n, 3) [mm]; "
                         f"got shape {getattr(a, 'shape', None)}")
    if a.dtype.kind != "f":
        raise ValueError(f"{name} must be a floating-point array; got dtype {a.dtype}")
    return a


def check_inputs(xo, xs, ps, profile, radius: float = math.inf) -> None:
    """ValueError naming the parameter for points (N, 3), samples (M, 3), powers (M, C) of a float dtype,
    C = ``profile.n_channels`` ≤ :data:`MAX_CHANNELS`, finite values, ``radius`` > 0 (inf allowed)."""
    if not isinstance(profile, (DipoleProfile, TabulatedProfile)):
        raise ValueError(f"profile must be a DipoleProfile or TabulatedProfile; got {type(profile).__name__}")
    _points("xo", xo)
    _points("xs", xs)
    if not hasattr(ps, "dtype") or ps.ndim != 2 or ps.shape[0] != xs.shape[0]:
        raise ValueError(f"ps must be an array of shape (M, C) with M = {xs.shape[0]} samples; "
                         f"got shape {getattr(ps, 'shape', None)}")
    if ps.dtype.kind != "f":
        raise ValueError(f"ps must be a floating-point array; got dtype {ps.dtype}")
    C = profile.n_channels
    if ps.shape[1] != C or not 1 <= C <= MAX_CHANNELS:
        raise ValueError(f"ps must have the profile's {C} channels (1 to {MAX_CHANNELS}); got {ps.shape[1]}")
    if not (isinstance(radius, (int, float, np.floating)) and radius > 0):
        raise ValueError(f"radius must be > 0 [mm] (inf: every pair); got {radius!r}")
    for name, a in (("xo", xo), ("xs", xs), ("ps", ps)):
        if a.size and not bool(_backend.array_module(a).isfinite(a).all()):
            raise ValueError(f"{name} must be finite")


# -- profiles ---------------------------------------------------------------------------------------
def table_grid(table) -> tuple[float, float, float]:
    """(r₀, κ, Δx) of a table's grid when its radii are uniform in x(r) = ln(1 + r/r₀) + κr/2 (to a
    quarter step everywhere: then render.h's O(1) lookup starts at most one interval off and corrects
    itself), else (1, 0, 0): binary search. Lengths of ``grid`` are in mm; the table's in mm × scale."""
    g = getattr(table, "grid", None) or {}
    try:
        r0 = float(g["r0"]) * float(table.scale)
        kappa = float(g["kappa"]) / float(table.scale)
    except (KeyError, TypeError, ValueError):
        return 1.0, 0.0, 0.0
    r = np.asarray(table.r, dtype=np.float64)
    if not (np.isfinite(r0) and r0 > 0 and np.isfinite(kappa) and kappa >= 0 and r.size >= 2):
        return 1.0, 0.0, 0.0
    x = np.log1p(r / r0) + 0.5 * kappa * r
    dx = float(x[-1]) / (r.size - 1)
    if not dx > 0 or np.max(np.abs(x / dx - np.arange(r.size))) > 0.25:
        return 1.0, 0.0, 0.0
    return r0, kappa, dx


def profile_arrays(profile) -> tuple[str, list[np.ndarray], tuple[float, ...]]:
    """``("dipole", [σa, σ's, η], ())`` (C values each, mm⁻¹) or
    ``("table", [r, values], (r₀, κ, Δx))`` (r (n_r,) [mm], values (n_r, C) [mm⁻²])."""
    C = profile.n_channels
    if isinstance(profile, DipoleProfile):
        m = profile.medium
        ones = np.ones(C)
        return "dipole", [channel_vector(m.sigma_a) * ones, channel_vector(m.sigma_s_prime) * ones,
                          profile.eta * ones], ()
    if isinstance(profile, TabulatedProfile):
        values = profile._arrays()[0]
        return "table", [np.asarray(profile.table.r, dtype=np.float64),
                         np.asarray(values, dtype=np.float64)], table_grid(profile.table)
    raise ValueError(f"profile must be a DipoleProfile or TabulatedProfile; got {type(profile).__name__}")


def table_lookup(table, r, quantity: str = "R") -> np.ndarray:
    """``table``'s profile at radii ``r`` (N,) [mm] by render.h's lookup (O(1) on x(r), or binary search)
    on the CPU extension → (N, C), the value the sums use at distance r (r² is passed, as they do)."""
    core = _backend._core()
    if core is None:
        raise RuntimeError("table_lookup needs the compiled extension bssrdf._core")
    values = table.R if quantity == "R" else table.T
    r = np.ascontiguousarray(r, dtype=np.float64).ravel()
    out = np.empty(r.size * table.n_channels)
    grid = np.ascontiguousarray(table.r, dtype=np.float64)
    flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
    core.render_table_eval_r2_f64(r * r, grid, flat, *table_grid(table), out)
    return out.reshape(r.size, table.n_channels)


# -- CPU ------------------------------------------------------------------------------------------
def cpu_sum(xo, xs, ps, profile, radius: float = math.inf) -> np.ndarray:
    """Σ_i R(|x_o − x_i|) P_i over the samples within ``radius`` [mm] of each x_o (inf: every pair), on
    the compiled CPU extension (float64, OpenMP).

    Parameters
    ----------
    xo : ndarray, shape (N, 3)
        Output points [mm].
    xs : ndarray, shape (M, 3)
        Irradiance samples [mm].
    ps : ndarray, shape (M, C)
        Their powers E_t A [W].
    profile : DipoleProfile or TabulatedProfile
    radius : float
        Truncation radius [mm]: pairs with |x_o − x_i| ≤ radius are summed.

    Returns
    -------
    ndarray, shape (N, C), float64 [W mm⁻²].
    """
    core = _backend._core()
    if core is None:
        raise RuntimeError("the compiled pass-2 sum needs the extension bssrdf._core (pip install -e .)")
    check_inputs(xo, xs, ps, profile, radius)
    kind, arrays, grid = profile_arrays(profile)
    flat = lambda a: np.ascontiguousarray(a, dtype=np.float64).ravel()  # noqa: E731
    out = np.empty(xo.shape[0] * ps.shape[1])
    args = [flat(xo), flat(xs), flat(ps), float(radius)]
    args += [flat(a) for a in arrays] + [float(g) for g in grid]
    getattr(core, f"render_sum_{kind}_f64")(*args, out)
    return out.reshape(xo.shape[0], ps.shape[1])


def cpu_clustered(xo, xs, ps, area, profile, radius: float, ratio: float) -> np.ndarray:
    """:func:`bssrdf.render.pipeline._clustered` compiled (float64, OpenMP): samples in cubic cells of side
    c, c⁴ = radius² / ((``ratio`` + √3)² ρ) with ρ = 1/mean(``area``) [mm⁻²]; a cell whose area-weighted
    centroid lies within r_near = ``ratio``·c of x_o contributes sample by sample, a farther one (up to
    ``radius`` [mm]) as its total power at its centroid. When r_near ≥ radius, the truncated sum.
    ``area`` (M,) [mm²]; the rest as :func:`cpu_sum`."""
    core = _backend._core()
    if core is None:
        raise RuntimeError("the compiled pass-2 sum needs the extension bssrdf._core (pip install -e .)")
    check_inputs(xo, xs, ps, profile, radius)
    area = np.asarray(area, dtype=np.float64)
    if area.shape != (xs.shape[0],) or not np.all(np.isfinite(area) & (area > 0)):
        raise ValueError(f"area must be ({xs.shape[0]},) finite values > 0 [mm²]")
    if not math.isfinite(radius):
        return cpu_sum(xo, xs, ps, profile)
    rho = 1.0 / float(np.mean(area))
    cell = (radius**2 / ((ratio + np.sqrt(3.0)) ** 2 * rho)) ** 0.25
    r_near = ratio * cell
    if r_near >= radius:
        return cpu_sum(xo, xs, ps, profile, radius)
    kind, arrays, grid = profile_arrays(profile)
    flat = lambda a: np.ascontiguousarray(a, dtype=np.float64).ravel()  # noqa: E731
    out = np.empty(xo.shape[0] * ps.shape[1])
    args = [flat(xo), flat(xs), flat(ps), flat(area), float(radius), float(cell), float(r_near)]
    args += [flat(a) for a in arrays] + [float(g) for g in grid]
    getattr(core, f"render_clustered_{kind}_f64")(*args, out)
    return out.reshape(xo.shape[0], ps.shape[1])


# -- GPU ------------------------------------------------------------------------------------------
@functools.cache
def _cuda_module():
    cp = _backend._cupy()
    src_dir = _backend.cuda_source_dir()
    source = (src_dir / "render.cu").read_text()
    h = hashlib.sha256()  # CuPy's cache does not see included headers: key on them too
    for header in sorted((src_dir / "include").rglob("*.h")):
        h.update(header.read_bytes())
    options = ("-std=c++17", "--use_fast_math", f"-I{src_dir / 'include'}",
               f"-DBSSRDF_HEADERS_SHA={h.hexdigest()[:16]}")
    return cp.RawModule(code=source, options=options, name_expressions=KERNEL_NAMES)


KERNEL_NAMES = [f"render_{k}_kernel<{t}, {c}>" for k in ("dipole", "table") for t in ("float", "double")
                for c in range(1, MAX_CHANNELS + 1)]
"""The kernels CuPy instantiates from ``cuda/render.cu`` (and ``tools/nvrtc_check.py`` checks)."""


def cuda_sum(xo, xs, ps, profile, dtype=np.float32):
    """Σ_i R(|x_o − x_i|) P_i over every sample, on the GPU (``cuda/render.cu``), in ``dtype``
    (float32 or float64; each tile of 256 samples summed in it, the total in float64).

    Points are shifted to the samples' bounding-box centre before the conversion to float32 (distances
    unchanged). Inputs NumPy or CuPy arrays as for :func:`cpu_sum`; returns a NumPy (N, C) float64 array
    for NumPy input, else CuPy.
    """
    cp = _backend._cupy()
    if cp is None or not _backend.cuda_available():
        _backend.resolve("cuda")  # RuntimeError with the set-up hint
    check_inputs(xo, xs, ps, profile)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64; got {dtype}")
    on_gpu = _backend.is_cupy(xo)
    N, C, M = xo.shape[0], ps.shape[1], xs.shape[0]
    if N == 0 or M == 0:
        out = cp.zeros((N, C)) if on_gpu else np.zeros((N, C))
        return out
    xo64, xs64 = cp.asarray(xo, dtype=np.float64), cp.asarray(xs, dtype=np.float64)
    centre = 0.5 * (xs64.min(axis=0) + xs64.max(axis=0))
    dev = lambda a: cp.ascontiguousarray(cp.asarray(a, dtype=dtype))  # noqa: E731
    xo_d, xs_d, ps_d = dev(xo64 - centre), dev(xs64 - centre), dev(ps)
    kind, arrays, grid = profile_arrays(profile)
    ctype = "float" if dtype == np.float32 else "double"
    kernel = _cuda_module().get_function(f"render_{kind}_kernel<{ctype}, {C}>")
    blocks_x = (N + BLOCK - 1) // BLOCK
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    tiles = (M + BLOCK - 1) // BLOCK
    split = int(max(1, min(tiles, -(-4 * sms * (2048 // BLOCK) // blocks_x))))
    chunk = -(-tiles // split) * BLOCK
    split = -(-M // chunk)
    out = cp.empty((split, N, C), dtype=np.float64)
    args = [xo_d, np.int64(N), xs_d, np.int64(M), ps_d, np.int64(chunk)]
    args += [dev(a) for a in arrays]
    if kind == "table":
        args += [np.int32(arrays[0].size)] + [dtype.type(g) for g in grid]
    args.append(out)
    shared = (3 + C) * BLOCK * dtype.itemsize
    kernel((blocks_x, split), (BLOCK,), tuple(args), shared_mem=shared)
    total = out.sum(axis=0)
    return total if on_gpu else cp.asnumpy(total)


def supported(profile) -> bool:
    """True when the compiled sums can evaluate ``profile`` (a DipoleProfile or TabulatedProfile of
    1 to :data:`MAX_CHANNELS` channels)."""
    return isinstance(profile, (DipoleProfile, TabulatedProfile)) and 1 <= profile.n_channels <= MAX_CHANNELS

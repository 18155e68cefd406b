"""The two-pass method of Jensen & Buhler 2002 (*A Rapid Hierarchical Rendering Technique for
Translucent Materials*, SIGGRAPH 2002 / ACM TOG 21(3)).

Pass 1 (irradiance): ``n_samples`` points spread over each object's surface in proportion to
its area (:meth:`Sphere.sample`, :meth:`Plane.sample`); at each, the irradiance that enters,

    E_t(x_i) = Σ_lights F_t(η, cos θ_l) E_l cos θ_l V(x_i, l)          [W mm⁻²],

with F_t the Fresnel transmittance of the smooth boundary (:func:`bssrdf.fresnel.F_t`) and V the
shadow-ray visibility; each sample stands for its area A_i [mm²].

Pass 2 (evaluation): for each visible point x_o, the diffuse exitance below the boundary

    M_d(x_o) = Σ_i R(|x_o − x_i|) E_t(x_i) A_i                           [W mm⁻²]

(a quadrature of ∫ R(r) E_t dA; R in mm⁻²), and the radiance leaving towards the camera,

    L_o(x_o, ω_o) = (1/π) F_t(η, cos θ_o) M_d(x_o)                        [W mm⁻² sr⁻¹],

which is ∫∫ S_d L_i cos θ_i dω_i dA with S_d = (1/π) F_t(η, ω_i) R(r) F_t(η, ω_o) (Jensen et al.
2001). Distances are Euclidean (chords on curved surfaces), as in Jensen & Buhler.

Thin slabs (:class:`~bssrdf.render.geometry.Slab`): samples and evaluation points carry the face
they lie on. For x_o on one face, the sum runs over the same face's samples with R(|x_o − x_i|) and,
when the profile has a transmittance (``TabulatedProfile.has_transmission``: the multipole of a
slab, Donner & Jensen 2005, a finite layered stack, or a Monte Carlo table of the slab), over the
other face's samples with T(r_∥),

    M_d(x_o) = Σ_{same face} R(|x_o − x_i|) E_t,i A_i + Σ_{other face} T(r_∥) E_t,i A_i,

r_∥ the distance along the slab (both points projected onto its plane), each sum with its own
profile's truncation radius. A profile without T (the dipole) sums every sample of the slab with
R at Euclidean distance, the back face's at |x_o − x_i| ≥ d: how a dipole-based renderer (Jensen &
Buhler 2002) lets light through a thin object.

Evaluators of the sum: ``"brute"`` sums over every sample; ``"truncated"`` sums only samples within
the profile's truncation radius (where less than ``tail`` of its total remains); ``"clustered"`` adds
far cells of samples at their centroids. Each exists as NumPy + SciPy (``_brute`` in chunks,
``_truncated`` with a k-d tree, ``_clustered``: the reference, ``backend="numpy"``) and, for the dipole and
tabulated profiles, compiled from the shared header ``cuda/include/bssrdf/render.h``
(:mod:`bssrdf.render.kernels`): a fused brute-force GPU kernel (``backend="cuda"``) and a truncated or
brute-force sum over a cell grid in the CPU extension (``backend="cpu"``); ``backend="auto"`` picks the
GPU for "brute", else the compiled CPU sum, else NumPy (see :func:`_array_module`). Jensen & Buhler's
hierarchical (octree) sum is not implemented.

Near field (``render(..., near_field=r_s | "auto")``, :mod:`bssrdf.render.nearfield`; off by default):
for a profile narrower than the sample spacing (a thin epidermis), the part of R within r_s, tapered
smoothly, leaves the sum and is added as a local term at the shading point,

    M_d(x_o) = Σ_i R(r_i) w(r_i) E_t,i A_i + E_t(x_o) ∫₀^{r_s} 2πr R(r) (1 − w(r)) dr,

E_t(x_o) the transmitted irradiance at x_o itself (as pass 1 computes it). It assumes E_t smooth and the
surface flat over r_s (near shadow edges and the terminator the near part blurs less than it should). On
figure d07's sphere at 3e4 samples it takes the RMS error from 2.3 / 6.4 / 15.6 % to 0.10 / 0.13 / 0.17 %.
R only: a slab's T is summed as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from .. import backend as _backend
from ..fresnel import F_t
from . import kernels as _kernels
from .geometry import Slab, SurfaceSamples
from .materials import LambertianBRDF, Profile
from .nearfield import near_radius, split_profile
from .scene import Scene
from .specular import Specular, specular_radiance

__all__ = ["IrradianceSamples", "RenderResult", "irradiance_samples", "exitance", "render",
           "incident_irradiance", "METHODS"]

METHODS = ("truncated", "brute", "clustered")
CLUSTER_RATIO = 6.0
"""Near-field radius of the clustered sum in units of its cell size."""
_PAIRS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class IrradianceSamples:
    """Pass 1's result.

    Attributes
    ----------
    points, normals : ndarray, shape (N, 3)
        Sample positions [mm] and outward normals.
    area : ndarray, shape (N,)
        Area each sample represents [mm²].
    object_index : ndarray, shape (N,)
        Index of the scene object each sample lies on.
    E_t : ndarray, shape (N, C)
        Irradiance transmitted into the medium [W mm⁻²] (Fresnel-weighted, shadowed).
    face : ndarray of int, shape (N,), or None
        The face of each sample on a :class:`~bssrdf.render.geometry.Slab` (0 front, 1 back) and
        −1 on other shapes; None when the scene has no slab.
    """

    points: np.ndarray
    normals: np.ndarray
    area: np.ndarray
    object_index: np.ndarray
    E_t: np.ndarray
    face: np.ndarray | None = None

    @property
    def power(self) -> np.ndarray:
        """E_t A per sample [W], shape (N, C)."""
        return self.E_t * self.area[:, None]


@dataclass
class RenderResult:
    """An image and how it was made.

    Attributes
    ----------
    image : ndarray, shape (height, width, C)
        Linear radiance [W mm⁻² sr⁻¹] (0 where no object is seen).
    hit : ndarray of bool, shape (height, width)
        Pixels that see an object.
    samples : IrradianceSamples or None
        The irradiance samples (None for a BRDF).
    radius : float
        Truncation radius used [mm] (inf for the brute-force sum or a BRDF).
    timings : dict
        Seconds spent in each pass.
    near_field : float or None
        The near-field split radius r_s used [mm] (see :mod:`bssrdf.render.nearfield`), None when off.
    near : ndarray, shape (C,), or None
        The near part's integral P_near = ∫₀^{r_s} 2πr R (1 − w) dr, None when off.
    """

    image: np.ndarray
    hit: np.ndarray
    samples: IrradianceSamples | None
    radius: float
    timings: dict = field(default_factory=dict)
    near_field: float | None = None
    near: np.ndarray | None = None


def incident_irradiance(scene: Scene, points: np.ndarray, normals: np.ndarray, n_channels: int,
                        eta: np.ndarray | None = None) -> np.ndarray:
    """Σ_lights E_l cos θ_l V [W mm⁻²] at ``points`` (N, 3) with unit ``normals``, each term times
    F_t(η, cos θ_l) when ``eta`` (C,) is given → (N, C)."""
    out = np.zeros((points.shape[0], n_channels))
    for light in scene.lights:
        w, dist, e = light.towards(points)
        cos = np.einsum("nk,nk->n", normals, w)
        lit = cos > 0
        if not np.any(lit):
            continue
        vis = np.zeros_like(lit)
        vis[lit] = scene.visible(points[lit], normals[lit], w[lit], dist[lit])
        c = np.where(vis, cos, 0.0)[:, None]
        f = F_t(c, eta[None, :]) if eta is not None else 1.0
        out += f * e * c
    return out


def irradiance_samples(scene: Scene, profile: Profile, n_samples: int,
                       rng: np.random.Generator) -> IrradianceSamples:
    """Pass 1: about ``n_samples`` points over the scene's objects (in proportion to their areas)
    with the irradiance transmitted into each."""
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1; got {n_samples!r}")
    areas = np.array([s.area for s in scene.objects])
    counts = np.maximum(1, np.round(n_samples * areas / areas.sum()).astype(int))
    parts: list[SurfaceSamples] = [s.sample(int(k), rng) for s, k in zip(scene.objects, counts, strict=True)]
    points = np.concatenate([p.points for p in parts])
    normals = np.concatenate([p.normals for p in parts])
    area = np.concatenate([p.area for p in parts])
    index = np.concatenate([np.full(len(p.area), i) for i, p in enumerate(parts)])
    face = None
    if any(p.face is not None for p in parts):
        face = np.concatenate([p.face if p.face is not None else np.full(len(p.area), -1) for p in parts])
    E_t = incident_irradiance(scene, points, normals, profile.n_channels, profile.eta)
    return IrradianceSamples(points, normals, area, index, E_t, face)


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    return method


def exitance(points: np.ndarray, object_index: np.ndarray, samples: IrradianceSamples,
             profile: Profile, *, method: str = "truncated", tail: float = 1e-3,
             backend: str = "numpy", progress: bool | None = None) -> np.ndarray:
    """Pass 2: M_d(x_o) = Σ_i R(|x_o − x_i|) E_t,i A_i [W mm⁻²] over the samples on the same object
    (on a slab: R over the same face, T(r_∥) over the other when the profile has T; module notes).

    Parameters
    ----------
    points : ndarray, shape (N, 3)
        Where to evaluate [mm].
    object_index : ndarray, shape (N,)
        The object each point lies on.
    samples : IrradianceSamples
        From :func:`irradiance_samples`.
    profile : DipoleProfile or TabulatedProfile
        The radial profile R(r) [mm⁻²] (and T(r) [mm⁻²] of a slab, ``profile.transmission``).
    method : {"truncated", "brute", "clustered"}
        "clustered": the truncated sum with far samples grouped in cells (see :func:`_clustered`).
        Samples within the profile's ``radius`` (``tail``) only, or all of them.
    tail : float
        Fraction of the profile's total allowed beyond the truncation radius.
    backend : {"numpy", "cpu", "cuda", "auto"}
        Where the sums run (see :func:`_array_module`): "cuda" the fused GPU kernel (``method`` must be
        "brute"), "cpu" the compiled CPU sums, "numpy" the NumPy + SciPy reference.
    progress : bool or None, default None
        A progress bar (tqdm, points evaluated): None shows it once the sum has taken 2 s, True at
        once, False never. The points are then summed in up to ``PROGRESS_CHUNKS`` blocks.

    Returns
    -------
    ndarray, shape (N, C)

    Notes
    -----
    A point on a slab belongs to the face whose plane is nearer (found from the object's samples,
    ``samples.face``); the transmitted sum uses the truncation radius of ``profile.transmission``. A
    slab's samples with no power (unlit: a back-lit slab's front face, shadows) are left out of its
    sums, which changes nothing but the time.
    """
    _check_method(method)
    xp = _array_module(backend, method)
    points = np.asarray(points, dtype=np.float64)
    out = np.zeros((points.shape[0], profile.n_channels))
    power = samples.power
    radius = profile.radius(tail) if method != "brute" else np.inf
    bar = _progress_bar(points.shape[0], progress)
    try:
        _exitance(out, points, object_index, samples, power, profile, method, tail, radius, xp, bar)
    finally:
        if bar is not None:
            bar.close()
    return out


def _progress_bar(total: int, progress: bool | None):
    if progress is False:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="px", unit_scale=True, delay=0 if progress else 2.0,
                desc="render pass 2", leave=False, dynamic_ncols=True)


def _exitance(out, points, object_index, samples, power, profile, method, tail, radius, xp, bar) -> None:
    for obj in np.unique(object_index):
        rows = np.flatnonzero(object_index == obj)
        cols = np.flatnonzero(samples.object_index == obj)
        if rows.size == 0 or cols.size == 0:
            continue
        if samples.face is not None and samples.face[cols[0]] >= 0:
            # a slab: unlit samples (a back-lit slab's whole front face, shadows) add nothing; skip them
            if _has_T(profile):
                _slab_sums(out, points, rows, cols, samples, power, profile, method, tail, radius, xp, bar)
                continue
            cols = cols[np.any(power[cols] != 0, axis=1)]
            if cols.size == 0:
                if bar is not None:
                    bar.update(rows.size)
                continue
        out[rows] = _sum_blocks(points[rows], samples.points[cols], power[cols], samples.area[cols], profile,
                                method, radius, xp, bar)


PROGRESS_CHUNKS = 32
"""With a progress bar, the points of one sum are evaluated in at most this many blocks."""


def _sum_blocks(xo, xs, ps, area, profile, method, radius, xp, bar, count: bool = True) -> np.ndarray:
    """:func:`_sum` over blocks of the points ``xo`` (one block without a progress ``bar``), advancing
    the bar by each block's points when ``count``."""
    if bar is None:
        return _sum(xo, xs, ps, area, profile, method, radius, xp)
    step = max(4096, -(-xo.shape[0] // PROGRESS_CHUNKS))
    parts = []
    for a in range(0, xo.shape[0], step):
        parts.append(_sum(xo[a:a + step], xs, ps, area, profile, method, radius, xp))
        if count:
            bar.update(parts[-1].shape[0])
    return np.concatenate(parts) if parts else np.zeros((0, profile.n_channels))


def _has_T(profile: Profile) -> bool:
    return bool(getattr(profile, "has_transmission", False))


def _slab_sums(out: np.ndarray, points: np.ndarray, rows: np.ndarray, cols: np.ndarray,
               samples: IrradianceSamples, power: np.ndarray, profile: Profile, method: str, tail: float,
               radius: float, xp, bar=None) -> None:
    """One slab's pass 2 with a profile that has T(r): R over the same face's samples, T(r_∥) over the
    other face's (both projected onto the slab's plane), into ``out[rows]``."""
    face = samples.face[cols]
    xs = samples.points[cols]
    front, back = np.flatnonzero(face == 0), np.flatnonzero(face == 1)
    if front.size == 0 or back.size == 0:
        raise ValueError("a slab's samples must lie on both of its faces (samples.face holds one face only)")
    n = samples.normals[cols[front[0]]]                      # the front face's outward normal
    depth = float((xs[front[0]] - xs[back[0]]) @ n)          # the slab's thickness [mm]
    x = points[rows]
    point_face = np.where((x - xs[front[0]]) @ n > -0.5 * depth, 0, 1)
    T = profile.transmission
    radius_T = T.radius(tail) if method != "brute" else np.inf
    flat = xs - np.outer(xs @ n, n)                          # projections onto the plane through 0
    lit = np.any(power[cols] != 0, axis=1)                   # unlit samples add nothing
    for f, same, other in ((0, front, back), (1, back, front)):
        r = rows[point_face == f]
        if r.size == 0:
            continue
        xo = points[r]
        same, other = same[lit[same]], other[lit[other]]
        s, o = cols[same], cols[other]
        out[r] = 0.0
        if s.size:
            out[r] += _sum_blocks(xo, xs[same], power[s], samples.area[s], profile, method, radius, xp, bar,
                                  count=not o.size)
        if o.size:
            out[r] += _sum_blocks(xo - np.outer(xo @ n, n), flat[other], power[o], samples.area[o], T,
                                  method, radius_T, xp, bar)
        elif not s.size and bar is not None:
            bar.update(r.size)


def _sum(xo: np.ndarray, xs: np.ndarray, ps: np.ndarray, area: np.ndarray, profile: Profile, method: str,
         radius: float, xp=np) -> np.ndarray:
    """Σ_i R(|x_o − x_i|) P_i for every x_o (N, 3) over samples ``xs`` (M, 3) of powers ``ps`` (M, C)
    and areas ``area`` (M,), by ``method`` (``radius``: the truncation radius, inf for brute force;
    ``xp``: where it runs, from :func:`_array_module`: NumPy for the NumPy/SciPy reference, a
    :class:`_Where` for the compiled CPU sums or the GPU kernel, or CuPy for the GPU kernel in float32).
    Every evaluator of pass 2 goes through here; returns a NumPy (N, C) array."""
    compiled = _kernels.supported(profile)
    cupy = getattr(xp, "__name__", "") == "cupy"
    where = xp.name if isinstance(xp, _Where) else "cuda" if cupy else "numpy"
    # a radius wider than the samples' extent keeps every pair: the brute sum is cheaper
    if method == "brute" or radius >= np.linalg.norm(np.ptp(xs, axis=0)):
        if compiled and where == "cuda":
            return _kernels.cuda_sum(xo, xs, ps, profile, xp.dtype if isinstance(xp, _Where) else np.float32)
        if compiled and where == "cpu":
            return _kernels.cpu_sum(xo, xs, ps, profile)
        return _brute(xo, xs, ps, profile, getattr(xp, "module", xp))
    if method == "clustered":
        if compiled and where == "cpu":
            return _kernels.cpu_clustered(xo, xs, ps, area, profile, radius, CLUSTER_RATIO)
        return _clustered(xo, xs, ps, area, profile, radius)
    if compiled and where == "cpu":
        return _kernels.cpu_sum(xo, xs, ps, profile, radius)
    return _truncated(xo, xs, ps, profile, radius)


@dataclass(frozen=True)
class _Where:
    """Where pass 2 runs when compiled code does it: ``name`` "cpu" (bssrdf._core, float64) or "cuda"
    (cuda/render.cu in ``dtype``). Passed to :func:`_sum` as its ``xp``, it stands in for its array
    module ``module`` (NumPy or CuPy) to code that uses ``xp`` as one."""

    name: str
    module: object
    dtype: type = np.float64

    def __getattr__(self, attr):
        return getattr(self.module, attr)


def _array_module(backend, method: str, gpu_dtype=np.float32):
    """Where pass 2 runs for ``backend`` and ``method`` (design.md's dispatch rule):

    * "numpy": NumPy + SciPy (the reference evaluators below);
    * "cpu": the compiled sums of bssrdf._core (truncated, brute and clustered); RuntimeError without
      the extension;
    * "cuda": the fused GPU kernel, in ``gpu_dtype`` (brute force only: ValueError for another method;
      RuntimeError without CuPy and a device);
    * "auto": the GPU for "brute" when CuPy finds a device, else the compiled CPU sums when built, else
      NumPy.

    A :class:`_Where` given as ``backend`` is returned as it is."""
    if isinstance(backend, _Where):
        return backend
    if backend not in ("auto", "numpy", "cpu", "cuda"):
        raise ValueError(f"backend must be one of ('auto', 'numpy', 'cpu', 'cuda'); got {backend!r}")
    if backend == "numpy":
        return np
    if backend == "cuda" and method != "brute":
        raise ValueError(f"backend='cuda' evaluates by brute force: method must be 'brute'; got {method!r}")
    if np.dtype(gpu_dtype) not in (np.float32, np.float64):
        raise ValueError(f"gpu_dtype must be float32 or float64; got {gpu_dtype!r}")
    if backend == "cuda" or (backend == "auto" and method == "brute" and _backend.cuda_available()):
        _backend.resolve("cuda")
        return _Where("cuda", _backend._cupy(), np.dtype(gpu_dtype).type)
    if backend == "cpu" or _backend.cpu_available():
        _backend.resolve("cpu")
        return _Where("cpu", np)
    return np


def _brute(xo: np.ndarray, xs: np.ndarray, ps: np.ndarray, profile: Profile, xp=np) -> np.ndarray:
    """Every pair, in chunks of rows; ``xp`` is NumPy or CuPy (the same code runs on the GPU, with the
    profile from the CUDA kernel). Returns a NumPy array."""
    xo, xs, ps = xp.asarray(xo), xp.asarray(xs), xp.asarray(ps)
    out = xp.empty((xo.shape[0], ps.shape[1]))
    step = max(1, _PAIRS_PER_CHUNK // max(1, xs.shape[0]))
    for a in range(0, xo.shape[0], step):
        d = xp.sqrt(xp.maximum(0.0, ((xo[a:a + step, None, :] - xs[None, :, :]) ** 2).sum(-1)))
        R = profile.R(d.ravel()).reshape(d.shape + (ps.shape[1],))
        out[a:a + step] = xp.einsum("ijc,jc->ic", R, ps)
    return out if xp is np else out.get()


def _truncated(xo: np.ndarray, xs: np.ndarray, ps: np.ndarray, profile: Profile,
               radius: float) -> np.ndarray:
    C = ps.shape[1]
    out = np.zeros((xo.shape[0], C))
    tree = cKDTree(xs)
    # expected neighbours per point, from the sample density of a patch ~ radius across
    per_point = max(1, len(tree.query_ball_point(xo[xo.shape[0] // 2], radius)))
    step = max(1, _PAIRS_PER_CHUNK // per_point)
    for a in range(0, xo.shape[0], step):
        q = cKDTree(xo[a:a + step])
        pairs = q.sparse_distance_matrix(tree, radius, output_type="ndarray")
        i, j, d = pairs["i"], pairs["j"], pairs["v"]
        w = profile.R(d) * ps[j]
        for c in range(C):
            out[a:a + step, c] = np.bincount(i, weights=w[:, c], minlength=q.n)
    return out


def _clustered(xo: np.ndarray, xs: np.ndarray, ps: np.ndarray, area: np.ndarray, profile: Profile,
               radius: float) -> np.ndarray:
    """Two-level truncated sum: samples binned in cubic cells of side c; a cell whose area-weighted
    centroid lies within r_near = CLUSTER_RATIO·c of x_o contributes sample by sample, a farther one
    (up to the truncation radius) as its total power at its centroid. c minimises the pair count,
    c⁴ = r_t² / ((CLUSTER_RATIO + √3)² ρ) with ρ the sample density [mm⁻²]."""
    C = ps.shape[1]
    rho = 1.0 / float(np.mean(area))
    c = (radius**2 / ((CLUSTER_RATIO + np.sqrt(3.0)) ** 2 * rho)) ** 0.25
    r_near = CLUSTER_RATIO * c
    if r_near >= radius:
        return _truncated(xo, xs, ps, profile, radius)
    keys = np.floor(xs / c).astype(np.int64)
    _, cell = np.unique(keys, axis=0, return_inverse=True)
    cell = cell.ravel()
    n_cells = int(cell.max()) + 1
    a_cell = np.bincount(cell, weights=area, minlength=n_cells)
    centroid = np.stack([np.bincount(cell, weights=area * xs[:, k], minlength=n_cells) for k in range(3)],
                        axis=1) / a_cell[:, None]
    p_cell = np.stack([np.bincount(cell, weights=ps[:, k], minlength=n_cells) for k in range(C)], axis=1)
    reach = r_near + np.sqrt(3.0) * c
    s_tree, c_tree = cKDTree(xs), cKDTree(centroid)
    per_point = (len(s_tree.query_ball_point(xo[xo.shape[0] // 2], reach))
                 + len(c_tree.query_ball_point(xo[xo.shape[0] // 2], radius)) + 1)
    step = max(1, _PAIRS_PER_CHUNK // per_point)
    out = np.zeros((xo.shape[0], C))
    for a in range(0, xo.shape[0], step):
        x = xo[a:a + step]
        q = cKDTree(x)
        near = q.sparse_distance_matrix(s_tree, reach, output_type="ndarray")
        i, j = near["i"], near["j"]
        keep = np.einsum("nk,nk->n", x[i] - centroid[cell[j]], x[i] - centroid[cell[j]]) < r_near**2
        i, j, d = i[keep], j[keep], near["v"][keep]
        w = profile.R(d) * ps[j]
        far = q.sparse_distance_matrix(c_tree, radius, output_type="ndarray")
        fi, fk, fd = far["i"], far["j"], far["v"]
        keep = fd >= r_near
        fi, fk, fd = fi[keep], fk[keep], fd[keep]
        fw = profile.R(fd) * p_cell[fk]
        for ch in range(C):
            out[a:a + step, ch] = (np.bincount(i, weights=w[:, ch], minlength=q.n)
                                   + np.bincount(fi, weights=fw[:, ch], minlength=q.n))
    return out


def _check_slabs(scene: Scene, profile: Profile) -> None:
    """A profile with T(r) must be the slab's: the same thickness, one medium on both sides."""
    if not _has_T(profile):
        return
    table = profile.table
    for k, s in enumerate(scene.objects):
        if not isinstance(s, Slab):
            continue
        d = table.thickness
        if d is None or abs(d - s.thickness) > 1e-6 * s.thickness:
            raise ValueError(f"scene.objects[{k}].thickness must equal the profile's slab thickness "
                             f"{d!r} mm; got {s.thickness!r} mm")
        if not np.allclose(table.n_above, table.n_below, rtol=0, atol=1e-12):
            raise ValueError("a rendered slab sits in one medium: the profile's n_below must equal its "
                             f"n_above {np.asarray(table.n_above).tolist()}; got "
                             f"{np.asarray(table.n_below).tolist()}")


def _check_near_slabs(scene: Scene, profile: Profile, r_s: float) -> None:
    """A profile without T sums a slab's back face with R at distances ≥ its thickness: the near field
    (which stands for the same face only) must stay below it."""
    if _has_T(profile):
        return
    for k, s in enumerate(scene.objects):
        if isinstance(s, Slab) and r_s >= s.thickness:
            raise ValueError(f"near_field radius {r_s!r} mm must be below the thickness {s.thickness!r} mm "
                             f"of scene.objects[{k}] (a profile without T sums its back face with R)")


def render(scene: Scene, camera, profile: Profile | LambertianBRDF, *, n_samples: int = 100_000,
           method: str | None = None, tail: float = 1e-3, backend: str = "auto",
           seed: int = 0, specular: Specular | None = None, gpu_dtype=np.float32,
           progress: bool | None = None, near_field: float | str | None = None) -> RenderResult:
    """Render ``scene`` through ``camera`` with a BSSRDF profile or a Lambertian BRDF.

    Parameters
    ----------
    scene : Scene
        Objects, lights, occluders [mm].
    camera : PerspectiveCamera or OrthographicCamera
        The view.
    profile : DipoleProfile, TabulatedProfile or LambertianBRDF
        The material: a radial diffusion profile (two-pass BSSRDF, see the module notes) or a BRDF
        (direct lighting only, L = ρ/π Σ E_l cos θ_l V). A profile with T(r) (a slab's table) must
        have the thickness of every :class:`~bssrdf.render.geometry.Slab` in the scene and the same
        index above and below (ValueError otherwise); on other shapes only its R(r) is used.
    n_samples : int, default 100000
        Irradiance samples over all objects (pass 1).
    method : {"truncated", "brute", "clustered"} or None
        Evaluator of pass 2 (see :func:`exitance`); None: "brute" on the GPU (``backend`` "cuda", or
        "auto" with a device), else "truncated".
    tail : float, default 1e-3
        Truncation: the profile's integral beyond the radius is below ``tail`` of its total.
    backend : {"auto", "numpy", "cpu", "cuda"}, default "auto"
        Where pass 2 runs (:mod:`bssrdf.render.kernels`): "cuda" the fused brute-force kernel
        ``cuda/render.cu`` on the GPU (``method`` "brute"); "cpu" the compiled sums of the extension
        bssrdf._core (float64, OpenMP; "truncated", "brute" and "clustered"); "numpy"
        the NumPy + SciPy reference; "auto" the GPU for "brute" when CuPy finds a device, else "cpu" when
        the extension is built, else "numpy".
    seed : int, default 0
        Seed of the sample placement.
    specular : Specular or None, default None
        A GGX microfacet reflection of the lights at the surface (:mod:`bssrdf.render.specular`),
        added to the radiance of either material; None: no surface reflection.
    gpu_dtype : numpy.float32 or numpy.float64, default float32
        Arithmetic of the GPU kernel (each tile of 256 samples summed in it, the total in float64).
    progress : bool or None, default None
        Progress bar of pass 2 (see :func:`exitance`): None once it has taken 2 s, True, or False.
    near_field : float, "auto" or None, default None
        Near-field (local) term, for profiles narrower than the sample spacing (module notes,
        :mod:`bssrdf.render.nearfield`): the profile's R within r_s (tapered smoothly, R·(1 − w(r))) is
        taken out of the sum over samples and added as E_t(x_o) ∫₀^{r_s} 2πr R (1 − w) dr with E_t(x_o)
        the transmitted irradiance at the shading point. A float: r_s [mm], > 0 and at most the
        truncation radius ``profile.radius(tail)``; "auto": r_s =
        :data:`~bssrdf.render.nearfield.AUTO_FACTOR` × √(mean sample area) (4 × the sample spacing),
        at most the truncation radius; None: off (the sum over samples alone). Assumes E_t smooth and the
        surface flat over r_s. Applies to R only (a slab's T is summed as before); ignored for a BRDF.

    Returns
    -------
    RenderResult
        ``image`` is linear radiance [W mm⁻² sr⁻¹] per pixel and channel.
    """
    if specular is not None and not isinstance(specular, Specular):
        raise TypeError(f"specular must be a Specular or None; got {type(specular).__name__}")
    spec_eta = specular.eta_for(profile) if specular is not None else None
    if method is None:
        gpu = backend == "cuda" or (backend == "auto" and _backend.cuda_available())
        method = "brute" if gpu else "truncated"
    _check_method(method)
    where = _array_module(backend, method, gpu_dtype)  # checks backend (and CuPy and a device for "cuda")
    if not isinstance(profile, LambertianBRDF):
        _check_slabs(scene, profile)
    timings: dict[str, float] = {}
    r_s = None
    t0 = time.perf_counter()
    origins, dirs = camera.rays()
    shape = origins.shape[:-1]
    o, d = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    hits = scene.trace(o, d)
    hit, x, normals, obj = hits.hit, hits.points, hits.normals, hits.index[hits.hit]
    cos_o = -np.einsum("nk,nk->n", normals, d[hit])
    timings["primary"] = time.perf_counter() - t0

    if isinstance(profile, LambertianBRDF):
        t0 = time.perf_counter()
        rho = profile.rho
        E = incident_irradiance(scene, x, normals, rho.size)
        L = np.where(cos_o[:, None] > 0, rho / np.pi * E, 0.0)
        timings["shade"] = time.perf_counter() - t0
        samples, radius = None, np.inf
    else:
        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        samples = irradiance_samples(scene, profile, n_samples, rng)
        timings["irradiance"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        r_s = near_radius(near_field, float(np.mean(samples.area)), profile, tail)
        far = profile
        if r_s is not None:
            _check_near_slabs(scene, profile, r_s)
            far, near, r_cut = split_profile(profile, r_s, tail)
        radius = far.radius(tail) if method != "brute" else np.inf
        M = exitance(x, obj, samples, far, method=method, tail=tail,
                     backend=where if isinstance(where, _Where) else "numpy", progress=progress)
        if r_s is not None:
            M = M + near[None, :] * incident_irradiance(scene, x, normals, profile.n_channels, profile.eta)
        c = np.clip(cos_o, 0.0, 1.0)[:, None]
        L = np.where(c > 0, F_t(c, profile.eta[None, :]) / np.pi * M, 0.0)
        timings["evaluation"] = time.perf_counter() - t0
    if specular is not None:
        t0 = time.perf_counter()
        L = L + specular_radiance(scene, x, normals, -d[hit], specular, spec_eta)
        timings["specular"] = time.perf_counter() - t0
    C = L.shape[1]
    image = np.zeros((o.shape[0], C))
    image[hit] = L
    out = RenderResult(image.reshape(shape + (C,)), hit.reshape(shape), samples, float(radius), timings)
    if r_s is not None:
        out.near_field, out.near = r_cut, near
    return out


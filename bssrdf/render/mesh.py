"""Triangle meshes for the renderer: validation, ray intersection with a bounding-volume hierarchy,
even surface sampling (a midpoint grid in each triangle), OBJ files and procedural shapes.

>>> from bssrdf import render
>>> ball = render.icosphere(radius=10.0, subdivisions=3, smooth=True)      # 1280 triangles
>>> scene = render.Scene(objects=[ball], lights=[render.DirectionalLight((0, 1, -1), 1.0)])
>>> ball.faces.shape, round(ball.area / (4 * 3.14159265 * 100), 3)
((1280, 3), 0.995)

Lengths in mm. A :class:`Mesh` answers the same questions as :class:`~bssrdf.render.Sphere` and
:class:`~bssrdf.render.Plane` (``area``, ``size``, ``intersect``, ``normal``, ``sample``), plus
:meth:`Mesh.intersect_faces`, which also returns the triangle hit, so that the renderer takes the
normal of the very triangle a camera ray met (:meth:`bssrdf.render.Scene.trace`).

Intersection: Möller & Trumbore's ray–triangle test (*Fast, Minimum Storage Ray/Triangle
Intersection*, JGT 2(1), 1997), two-sided, vectorised over (ray, triangle) pairs; the pairs come from
a bounding-volume hierarchy of axis-aligned boxes (median split on the longest axis of the centroids,
leaves of at most :data:`LEAF_SIZE` triangles) traversed breadth first for all rays at once: every
level tests the surviving (ray, node) pairs against the node boxes (slab test), drops boxes beyond the
ray's nearest hit so far, and hands the leaves' triangles to the ray–triangle test.

Normals: the geometric normal of the triangle (``(v1 − v0) × (v2 − v0)``, counter-clockwise faces
seen from outside), or, when ``vertex_normals`` are given, their barycentric interpolation (smooth
shading; the geometry, distances and shadows stay those of the flat triangles).

Orientation: a closed mesh (every edge shared by exactly two faces, after welding vertices at equal
positions) whose faces are consistently wound has a signed volume V = Σ v0·(v1 × v2)/6; V < 0 means
the faces are wound inward, and they are reversed (with a warning) so that normals point outward.
A closed mesh with inconsistent winding is accepted with a warning (its normals may point inward on
some faces, where the renderer then sees nothing: surfaces are one-sided for light and view). Open
meshes keep the winding they are given (like a :class:`~bssrdf.render.Plane`, lit on its front).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .._io import atomic_write
from .geometry import EPSILON, SurfaceSamples, _count, _vec3

__all__ = ["Mesh", "load_obj", "write_obj", "icosphere", "box", "LEAF_SIZE"]

LEAF_SIZE = 4
"""Most triangles in a leaf of the bounding-volume hierarchy."""
_PAIRS_PER_CHUNK = 1 << 21       # (ray, node) pairs per traversal chunk: bounds the memory
_GOLDEN = 0.5 * (np.sqrt(5.0) - 1.0)


@dataclass(frozen=True)
class _BVH:
    lo: np.ndarray        # (N, 3) box corners
    hi: np.ndarray
    left: np.ndarray      # (N,) child indices; −1 for a leaf
    right: np.ndarray
    start: np.ndarray     # (N,) first triangle of a leaf in ``order``
    count: np.ndarray     # (N,) its number of triangles (0 for an inner node)
    order: np.ndarray     # (F,) triangle indices, leaves contiguous

    @property
    def lo_axes(self) -> list[np.ndarray]:
        return self._axes[0]

    @property
    def hi_axes(self) -> list[np.ndarray]:
        return self._axes[1]

    def __post_init__(self) -> None:
        axes = ([np.ascontiguousarray(self.lo[:, k]) for k in range(3)],
                [np.ascontiguousarray(self.hi[:, k]) for k in range(3)])
        object.__setattr__(self, "_axes", axes)


def _build_bvh(v0: np.ndarray, v1: np.ndarray, v2: np.ndarray) -> _BVH:
    lo_t = np.minimum(np.minimum(v0, v1), v2)
    hi_t = np.maximum(np.maximum(v0, v1), v2)
    cen = (lo_t + hi_t) * 0.5
    order = np.arange(v0.shape[0])
    lo, hi, left, right, start, count = [], [], [], [], [], []
    stack = [(0, v0.shape[0], -1, 0)]        # (begin, end) of ``order``; parent, which child
    while stack:
        b, e, parent, side = stack.pop()
        node = len(lo)
        idx = order[b:e]
        lo.append(lo_t[idx].min(axis=0))
        hi.append(hi_t[idx].max(axis=0))
        left.append(-1)
        right.append(-1)
        start.append(b)
        count.append(e - b)
        if parent >= 0:
            (left if side == 0 else right)[parent] = node
        if e - b <= LEAF_SIZE:
            continue
        c = cen[idx]
        axis = int(np.argmax(c.max(axis=0) - c.min(axis=0)))
        mid = (e - b) // 2
        order[b:e] = idx[np.argpartition(c[:, axis], mid)]
        count[node] = 0
        stack.append((b + mid, e, node, 1))
        stack.append((b, b + mid, node, 0))
    as_i = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    return _BVH(np.asarray(lo), np.asarray(hi), as_i(left), as_i(right), as_i(start), as_i(count), order)


def _weld(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Faces re-indexed so that vertices at equal positions share one index (for the topology)."""
    _, inverse = np.unique(vertices, axis=0, return_inverse=True)
    return inverse.ravel()[faces]


def _edge_report(faces: np.ndarray) -> tuple[bool, bool]:
    """(closed, consistently wound): every undirected edge in exactly two faces; and each directed
    edge once (its twin runs the other way)."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    und = np.sort(e, axis=1)
    _, n_und = np.unique(und, axis=0, return_counts=True)
    closed = bool(np.all(n_und == 2))
    _, n_dir = np.unique(e, axis=0, return_counts=True)
    return closed, closed and bool(np.all(n_dir == 1))


class Mesh:
    """A triangle mesh [mm], shaded with the renderer's material.

    Parameters
    ----------
    vertices : array_like, shape (V, 3)
        Vertex positions [mm], finite.
    faces : array_like of int, shape (F, 3)
        Vertex indices of each triangle (0-based), counter-clockwise seen from outside (the front).
    vertex_normals : array_like, shape (V, 3), optional
        Normals at the vertices (need not be unit length; must not vanish), interpolated across each
        triangle for shading. None (default): each triangle's own (flat) normal.

    Raises
    ------
    ValueError
        Wrong shapes, non-finite vertices or normals, indices outside [0, V), triangles of zero area
        (repeated or collinear vertices; relative to the mesh's extent), naming the first offender.

    Notes
    -----
    A closed mesh wound inward (signed volume < 0) is turned outward with a warning; see the module
    notes. Attributes ``closed``, ``consistent`` and ``volume`` (signed, mm³; NaN for an open mesh)
    report what was found.
    """

    def __init__(self, vertices, faces, vertex_normals=None) -> None:
        v = np.array(vertices, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] < 3:
            raise ValueError(f"vertices must have shape (V, 3) with V >= 3; got shape {v.shape}")
        bad = ~np.all(np.isfinite(v), axis=1)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"vertices must be finite; vertex {i} is {v[i].tolist()} "
                             f"({int(bad.sum())} non-finite in all)")
        f_in = np.asarray(faces)
        if f_in.ndim != 2 or f_in.shape[1] != 3 or f_in.shape[0] < 1:
            raise ValueError(f"faces must have shape (F, 3) with F >= 1; got shape {f_in.shape}")
        if not (np.issubdtype(f_in.dtype, np.integer)
                or (np.issubdtype(f_in.dtype, np.floating) and np.all(f_in == np.round(f_in)))):
            raise ValueError(f"faces must hold integer vertex indices; got dtype {f_in.dtype}")
        f = f_in.astype(np.int64)
        out = (f < 0) | (f >= v.shape[0])
        if np.any(out):
            i = int(np.flatnonzero(out.any(axis=1))[0])
            raise ValueError(f"faces must index vertices in [0, {v.shape[0] - 1}]; "
                             f"face {i} is {f[i].tolist()}")
        cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        dbl = np.linalg.norm(cross, axis=1)
        extent = float(np.linalg.norm(np.ptp(v, axis=0)))
        degenerate = dbl <= 1e-12 * extent**2
        if np.any(degenerate):
            i = int(np.flatnonzero(degenerate)[0])
            raise ValueError(f"faces must have non-zero area; face {i} (vertices {f[i].tolist()}) has area "
                             f"{0.5 * dbl[i]:.3g} mm² ({int(degenerate.sum())} degenerate in all)")
        if vertex_normals is not None:
            vn = np.array(vertex_normals, dtype=np.float64)
            if vn.shape != v.shape:
                raise ValueError(f"vertex_normals must have the shape of vertices {v.shape}; got {vn.shape}")
            ln = np.linalg.norm(vn, axis=1)
            bad = ~np.isfinite(ln) | (ln == 0)
            if np.any(bad):
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"vertex_normals must be finite and non-zero; "
                                 f"normal {i} is {vn[i].tolist()}")
            vn = vn / ln[:, None]
        else:
            vn = None

        welded = _weld(v, f)
        closed, consistent = _edge_report(welded)
        volume = float(np.einsum("ij,ij->", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])) / 6.0)
        if closed and consistent and volume < 0:
            warnings.warn(f"Mesh: the closed mesh's faces are wound inward (signed volume {volume:.4g} mm³ "
                          "< 0); reversed so that its normals point outward", stacklevel=2)
            f = f[:, ::-1].copy()
            cross = -cross
            volume = -volume
        elif closed and not consistent:
            warnings.warn("Mesh: the mesh is closed but its faces are not consistently wound (some edge is "
                          "walked the same way by both its faces): some normals may point inward, where the "
                          "surface is not seen or lit", stacklevel=2)
        if vn is not None:
            # a vertex normal against the faces around it (e.g. inward normals in a file) is turned over
            acc = np.zeros_like(v)
            for k in range(3):
                np.add.at(acc, f[:, k], cross)
            against = np.einsum("ij,ij->i", acc, vn) < 0
            if np.any(against):
                warnings.warn(f"Mesh: {int(against.sum())} vertex normals pointed against their faces' "
                              "normals; turned over", stacklevel=2)
                vn[against] = -vn[against]

        self.vertices = v
        self.faces = f
        self.vertex_normals = vn
        self.face_areas = 0.5 * dbl
        self.face_normals = cross / dbl[:, None]
        self.closed = closed
        self.consistent = consistent
        self.volume = volume if closed else float("nan")
        for a in (self.vertices, self.faces, self.face_areas, self.face_normals):
            a.flags.writeable = False
        self._v0 = v[f[:, 0]]
        self._e1 = v[f[:, 1]] - self._v0
        self._e2 = v[f[:, 2]] - self._v0
        self._tri_axes = [np.ascontiguousarray(a[:, k])
                          for a in (self._v0, self._e1, self._e2) for k in range(3)]
        self._bvh = _build_bvh(self._v0, v[f[:, 1]], v[f[:, 2]])
        self._centroid_tree: cKDTree | None = None

    # -- constructors ----------------------------------------------------------------------------
    @classmethod
    def from_obj(cls, path: str | os.PathLike, scale: float = 1.0) -> Mesh:
        """Read a Wavefront OBJ file (see :func:`load_obj`); positions times ``scale`` [mm per file unit]."""
        return load_obj(path, scale=scale)

    def __repr__(self) -> str:
        shading = "smooth" if self.vertex_normals is not None else "flat"
        return (f"Mesh({self.vertices.shape[0]} vertices, {self.faces.shape[0]} triangles, area "
                f"{self.area:.4g} mm², {'closed' if self.closed else 'open'}, {shading} normals)")

    # -- the shape interface -----------------------------------------------------------------------
    @property
    def area(self) -> float:
        """Total area of the triangles [mm²]."""
        return float(self.face_areas.sum())

    @property
    def size(self) -> float:
        """Half the diagonal of the bounding box [mm] (a length scale, for ray offsets)."""
        return 0.5 * float(np.linalg.norm(np.ptp(self.vertices, axis=0)))

    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distance [mm] along unit ``directions`` (…, 3) to the nearest triangle beyond a small
        offset (either side of it); ``inf`` for a miss."""
        return self.intersect_faces(origins, directions)[0]

    def intersect_faces(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance [mm] to the nearest hit (``inf`` for a miss) and the index of the triangle hit
        (−1 for a miss), each of shape (…)."""
        origins = np.asarray(origins, dtype=np.float64)
        directions = np.asarray(directions, dtype=np.float64)
        shape = np.broadcast_shapes(origins.shape, directions.shape)[:-1]
        o = np.broadcast_to(origins, shape + (3,)).reshape(-1, 3)
        d = np.broadcast_to(directions, shape + (3,)).reshape(-1, 3)
        t = np.full(o.shape[0], np.inf)
        face = np.full(o.shape[0], -1, dtype=np.int64)
        step = max(1, _PAIRS_PER_CHUNK // 16)
        for a in range(0, o.shape[0], step):
            t[a:a + step], face[a:a + step] = self._trace(o[a:a + step], d[a:a + step])
        return t.reshape(shape), face.reshape(shape)

    def normal(self, points: np.ndarray, faces: np.ndarray | None = None) -> np.ndarray:
        """Outward unit normals at ``points`` (…, 3) on the mesh.

        ``faces`` (…): the triangle each point lies on (from :meth:`intersect_faces`); without it,
        the nearest triangle is found (the nearest of the 8 triangles with the closest centroids).
        With ``vertex_normals`` the normal is interpolated at the point's barycentric coordinates.
        """
        points = np.asarray(points, dtype=np.float64)
        shape = points.shape[:-1]
        p = points.reshape(-1, 3)
        f = self._nearest_face(p) if faces is None else np.asarray(faces, dtype=np.int64).reshape(-1)
        if self.vertex_normals is None:
            return self.face_normals[f].reshape(shape + (3,))
        b1, b2 = self._barycentric(p, f)
        vn = self.vertex_normals[self.faces[f]]                              # (N, 3 corners, 3)
        n = (1.0 - b1 - b2)[:, None] * vn[:, 0] + b1[:, None] * vn[:, 1] + b2[:, None] * vn[:, 2]
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        return n.reshape(shape + (3,))

    def sample(self, n: int, rng: np.random.Generator) -> SurfaceSamples:
        """About ``n`` points spread evenly over the triangles, with the area each stands for [mm²].

        Triangle k, whose share of ``n`` is x_k = n A_k / A, is cut into m_k² congruent triangles
        (its edges split in m_k, m_k² the square nearest c x_k) and gets one point at the centroid of
        each, standing for A_k / m_k²: the midpoint rule on a regular triangular grid (second-order
        accurate for a smooth integrand, evenly spaced, with no random noise). The factor c (between
        1/4 and 4) brings the total Σ m_k² nearest to ``n``; the areas are exact either way (they sum
        to the mesh's area), and about A/n each. Triangles too small for one point of their own
        (m_k = 0) share the remaining points on a randomly shifted Fibonacci lattice (i/k, frac(i·φ))
        laid along their cumulative area and mapped into each triangle by Heitz's (2019)
        area-preserving square-to-triangle map, each point standing for their total area over their
        count. So Σ g(x_i) A_i is a quadrature of ∫ g dA. ``rng`` only shifts that lattice.
        """
        n = _count(n)
        x = n * self.face_areas / self.area
        m = _grid_sizes(x, n)
        pts, faces, areas = [], [], []
        for mv in np.unique(m[m > 0]):
            f = np.flatnonzero(m == mv)
            b1, b2 = _centroid_grid(int(mv))
            ff = np.repeat(f, b1.size)
            B1, B2 = np.tile(b1, f.size)[:, None], np.tile(b2, f.size)[:, None]
            pts.append(self._v0[ff] + B1 * self._e1[ff] + B2 * self._e2[ff])
            faces.append(ff)
            areas.append(np.repeat(self.face_areas[f] / mv**2, b1.size))
        small = np.flatnonzero(m == 0)
        if small.size:
            a_small = self.face_areas[small]
            k = max(1, int(round(x[small].sum() * _grid_scale(x, n))))
            ff, b1, b2 = _lattice_on(a_small, k, rng)
            ff = small[ff]
            pts.append(self._v0[ff] + b1[:, None] * self._e1[ff] + b2[:, None] * self._e2[ff])
            faces.append(ff)
            areas.append(np.full(k, a_small.sum() / k))
        p, f = np.concatenate(pts), np.concatenate(faces)
        return SurfaceSamples(p, self.normal(p, f), np.concatenate(areas))

    # -- internals ---------------------------------------------------------------------------------
    def _barycentric(self, p: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates (b1, b2) of points ``p`` projected on the planes of triangles ``f``."""
        e1, e2, q = self._e1[f], self._e2[f], p - self._v0[f]
        d11 = np.einsum("ij,ij->i", e1, e1)
        d12 = np.einsum("ij,ij->i", e1, e2)
        d22 = np.einsum("ij,ij->i", e2, e2)
        q1 = np.einsum("ij,ij->i", q, e1)
        q2 = np.einsum("ij,ij->i", q, e2)
        den = d11 * d22 - d12 * d12
        return (d22 * q1 - d12 * q2) / den, (d11 * q2 - d12 * q1) / den

    def _nearest_face(self, p: np.ndarray) -> np.ndarray:
        if self._centroid_tree is None:
            self._centroid_tree = cKDTree(self._v0 + (self._e1 + self._e2) / 3.0)
        k = min(8, self.faces.shape[0])
        _, cand = self._centroid_tree.query(p, k=k)
        cand = cand.reshape(p.shape[0], k)
        d2 = np.stack([_point_triangle_d2(p, self._v0[c], self._e1[c], self._e2[c]) for c in cand.T], axis=1)
        return cand[np.arange(p.shape[0]), np.argmin(d2, axis=1)]

    def _trace(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Breadth-first traversal of the hierarchy for rays (n, 3): nearest t and triangle."""
        bvh = self._bvh
        n = o.shape[0]
        eps = EPSILON * self.size
        best_t = np.full(n, np.inf)
        best_f = np.full(n, -1, dtype=np.int64)
        tiny = 1e-30
        d_safe = np.where(np.abs(d) < tiny, np.where(d < 0, -tiny, tiny), d)
        inv = 1.0 / d_safe
        # the slab test per axis: t = (plane − o)/d = plane·inv − o·inv
        oi = [o[:, k] * inv[:, k] for k in range(3)]
        iv = [inv[:, k] for k in range(3)]
        ray = np.arange(n)
        node = np.zeros(n, dtype=np.int64)
        while ray.size:
            t_near = np.zeros(ray.size)
            t_far = np.take(best_t, ray)
            for k in range(3):
                a, b = np.take(iv[k], ray), np.take(oi[k], ray)
                t1 = np.take(bvh.lo_axes[k], node) * a - b
                t2 = np.take(bvh.hi_axes[k], node) * a - b
                np.maximum(t_near, np.minimum(t1, t2), out=t_near)
                np.minimum(t_far, np.maximum(t1, t2), out=t_far)
            keep = (t_far >= t_near) & (t_far >= eps)
            ray, node = ray[keep], node[keep]
            leaf = np.take(bvh.count, node) > 0
            if np.any(leaf):
                self._leaf_hits(o, d, ray[leaf], node[leaf], t_near[keep][leaf], best_t, best_f, eps)
            inner = ~leaf
            ray = np.repeat(ray[inner], 2)
            node = np.stack([np.take(bvh.left, node[inner]), np.take(bvh.right, node[inner])], axis=1).ravel()
        return best_t, best_f

    def _leaf_hits(self, o, d, ray, node, t_near, best_t, best_f, eps) -> None:
        """Test the leaves' triangles, each ray's leaves nearest first, skipping a leaf whose box
        begins beyond the ray's nearest hit so far."""
        srt = np.lexsort((t_near, ray))
        ray, node, t_near = ray[srt], node[srt], t_near[srt]
        new = np.ones(ray.size, dtype=bool)
        new[1:] = ray[1:] != ray[:-1]
        begin = np.flatnonzero(new)
        rank = np.arange(ray.size) - np.repeat(begin, np.diff(np.append(begin, ray.size)))
        for r in range(int(rank.max()) + 1):
            sel = np.flatnonzero(rank == r)
            sel = sel[t_near[sel] <= best_t[ray[sel]]]
            if sel.size == 0:
                break
            self._test_leaves(o, d, ray[sel], node[sel], best_t, best_f, eps)

    def _test_leaves(self, o, d, ray, node, best_t, best_f, eps) -> None:
        """Every triangle of leaf ``node[k]`` against ray ``ray[k]`` (each ray at most once)."""
        bvh = self._bvh
        cnt = np.take(bvh.count, node)
        rr = np.repeat(ray, cnt)
        offs = np.arange(rr.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        tri = np.take(bvh.order, np.repeat(np.take(bvh.start, node), cnt) + offs)
        t = _moller_trumbore(o, d, rr, self._tri_axes, tri)
        ok = (t > eps) & (t < np.take(best_t, rr))
        rr, t, tri = rr[ok], t[ok], tri[ok]
        if rr.size == 0:
            return
        np.minimum.at(best_t, rr, t)
        win = t == best_t[rr]
        best_f[rr[win]] = tri[win]


def _nearest_square_root(y: np.ndarray) -> np.ndarray:
    """The integer m ≥ 0 whose square is nearest y (ties up)."""
    m = np.floor(np.sqrt(y))
    return np.where((m + 1) ** 2 - y <= y - m * m, m + 1, m)


def _grid_scale(x: np.ndarray, n: int) -> float:
    """The factor c ∈ [1/4, 4] for which Σ m_k² (m_k² the square nearest c x_k) plus c Σ x_k over
    the triangles left with m_k = 0 comes nearest to n (c = 1 when it does as well as any)."""
    best, best_c = np.inf, 1.0
    for c in np.concatenate([[1.0], np.geomspace(0.25, 4.0, 97)]):
        m = _nearest_square_root(c * x)
        total = np.sum(m * m) + c * x[m == 0].sum()
        if abs(total - n) < best - 1e-9:
            best, best_c = abs(total - n), float(c)
    return best_c


def _grid_sizes(x: np.ndarray, n: int) -> np.ndarray:
    """Edge divisions m_k of each triangle for a total near n (see :meth:`Mesh.sample`)."""
    return _nearest_square_root(_grid_scale(x, n) * x).astype(np.int64)


def _centroid_grid(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric coordinates (along e1, e2) of the centroids of the m² congruent triangles of a
    triangle whose edges are split in m: m(m+1)/2 upright ones and m(m−1)/2 upside down."""
    i, j = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    up, down = (i + j) <= m - 1, (i + j) <= m - 2
    b1 = np.concatenate([3 * i[up] + 1, 3 * i[down] + 2]) / (3.0 * m)
    b2 = np.concatenate([3 * j[up] + 1, 3 * j[down] + 2]) / (3.0 * m)
    return b1, b2


def _lattice_on(areas: np.ndarray, k: int, rng: np.random.Generator):
    """k points of a randomly shifted Fibonacci lattice over triangles of ``areas`` in proportion to
    area: (triangle index, b1, b2) with (b1, b2) barycentric along e1, e2 (Heitz 2019's map)."""
    cdf = np.cumsum(areas) / areas.sum()
    cdf[-1] = 1.0
    shift = rng.uniform(size=2)
    i = np.arange(k)
    u = (i + shift[0]) / k
    w = np.mod(i * _GOLDEN + shift[1], 1.0)
    f = np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)
    lo = np.where(f > 0, cdf[np.maximum(f - 1, 0)], 0.0)
    s = np.clip((u - lo) / (cdf[f] - lo), 0.0, 1.0)
    first = s < w
    b1 = np.where(first, 0.5 * s, s - 0.5 * w)
    b2 = np.where(first, w - 0.5 * s, 0.5 * w)
    return f, b1, b2


def _moller_trumbore(o, d, rr, tri_axes, tri) -> np.ndarray:
    """Two-sided Möller–Trumbore for rays ``rr`` of (o, d) against triangles ``tri`` (component
    arrays v0x, v0y, v0z, e1x, …, e2z): distance along d inside the triangle, else inf."""
    ox, oy, oz = (np.take(o[:, k], rr) for k in range(3))
    dx, dy, dz = (np.take(d[:, k], rr) for k in range(3))
    v0x, v0y, v0z, ax, ay, az, bx, by, bz = (np.take(a, tri) for a in tri_axes)
    px, py, pz = dy * bz - dz * by, dz * bx - dx * bz, dx * by - dy * bx          # d × e2
    det = ax * px + ay * py + az * pz
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        sx, sy, sz = ox - v0x, oy - v0y, oz - v0z
        u = (sx * px + sy * py + sz * pz) * inv
        qx, qy, qz = sy * az - sz * ay, sz * ax - sx * az, sx * ay - sy * ax      # s × e1
        v = (dx * qx + dy * qy + dz * qz) * inv
        t = (bx * qx + by * qy + bz * qz) * inv
        ok = (det != 0) & (u >= 0) & (v >= 0) & (u + v <= 1) & np.isfinite(t)
    return np.where(ok, t, np.inf)


def _point_triangle_d2(p, v0, e1, e2) -> np.ndarray:
    """Squared distance from points to triangles (all (N, 3)), exact (Ericson's region tests)."""
    v1, v2 = v0 + e1, v0 + e2

    def seg_d2(a, b):
        ab = b - a
        s = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.einsum("ij,ij->i", ab, ab), 0.0, 1.0)
        r = p - (a + s[:, None] * ab)
        return np.einsum("ij,ij->i", r, r)

    nrm = np.cross(e1, e2)
    nn = np.einsum("ij,ij->i", nrm, nrm)
    q = p - v0
    dist_plane = np.einsum("ij,ij->i", q, nrm)
    foot = q - (dist_plane / nn)[:, None] * nrm
    d11, d12, d22 = (np.einsum("ij,ij->i", e1, e1), np.einsum("ij,ij->i", e1, e2),
                     np.einsum("ij,ij->i", e2, e2))
    f1, f2 = np.einsum("ij,ij->i", foot, e1), np.einsum("ij,ij->i", foot, e2)
    den = d11 * d22 - d12 * d12
    b1, b2 = (d22 * f1 - d12 * f2) / den, (d11 * f2 - d12 * f1) / den
    inside = (b1 >= 0) & (b2 >= 0) & (b1 + b2 <= 1)
    edges = np.minimum(np.minimum(seg_d2(v0, v1), seg_d2(v1, v2)), seg_d2(v2, v0))
    return np.where(inside, dist_plane**2 / nn, edges)


# -- OBJ files -------------------------------------------------------------------------------------
def _obj_index(token: str, count: int, kind: str, where: str) -> int:
    try:
        k = int(token)
    except ValueError:
        raise ValueError(f"{where}: {kind} index {token!r} is not an integer") from None
    if k == 0 or not -count <= k <= count:
        raise ValueError(f"{where}: {kind} index {k} is out of range (1..{count}, or -1..-{count} "
                         f"counting back; {count} {kind}s defined so far)")
    return k - 1 if k > 0 else count + k


def load_obj(path: str | os.PathLike, scale: float = 1.0) -> Mesh:
    """Read a Wavefront OBJ file into a :class:`Mesh`.

    Reads ``v x y z …`` (what follows z, a w or vertex colours, is ignored), ``vn x y z`` and ``f``
    lines whose corners are ``v``, ``v/vt``, ``v//vn`` or ``v/vt/vn`` (1-based; negative indices count
    back from the last one defined); polygons of more than three corners are split into a fan
    (0, k, k+1) — correct for convex ones.
    ``#`` starts a comment; other statements (``vt``, ``o``, ``g``, ``s``, ``usemtl``, ``mtllib``, …)
    are ignored. Vertex normals are used when every face gives one at every corner; a corner normal
    that differs from another corner's at the same position splits the vertex.

    Parameters
    ----------
    path : str or path-like
        The file.
    scale : float, default 1.0
        Millimetres per file unit (positions are multiplied by it).

    Raises
    ------
    ValueError
        A malformed line or an index out of range ("file:line: …"), no faces, or what
        :class:`Mesh` rejects.
    """
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be finite and > 0 (mm per file unit); got {scale!r}")
    path = os.fspath(path)
    verts: list[list[float]] = []
    norms: list[list[float]] = []
    corners: list[tuple[int, int]] = []          # (v, vn) per triangle corner
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            where = f"{path}:{lineno}"
            key, *rest = line.split()
            if key in ("v", "vn"):
                if len(rest) < 3 or (key == "vn" and len(rest) > 3):
                    count = "3" if key == "vn" else "at least 3"
                    raise ValueError(f"{where}: '{key}' needs {count} numbers; got {line!r}")
                try:
                    xyz = [float(x) for x in rest[:3]]
                except ValueError:
                    raise ValueError(f"{where}: '{key}' coordinates must be numbers; got {line!r}") from None
                if not all(np.isfinite(xyz)):
                    raise ValueError(f"{where}: '{key}' coordinates must be finite; got {line!r}")
                (verts if key == "v" else norms).append(xyz)
            elif key == "f":
                if len(rest) < 3:
                    raise ValueError(f"{where}: a face needs at least 3 corners; got {line!r}")
                poly = []
                for tok in rest:
                    parts = tok.split("/")
                    if len(parts) > 3 or parts[0] == "":
                        raise ValueError(f"{where}: malformed face corner {tok!r} "
                                         "(v, v/vt, v//vn or v/vt/vn)")
                    vi = _obj_index(parts[0], len(verts), "vertex", where)
                    ni = (_obj_index(parts[2], len(norms), "normal", where)
                          if len(parts) == 3 and parts[2] != "" else -1)
                    poly.append((vi, ni))
                for k in range(1, len(poly) - 1):
                    corners.extend((poly[0], poly[k], poly[k + 1]))
    if not corners:
        raise ValueError(f"{path}: no faces ('f' lines) found")
    v = np.asarray(verts, dtype=np.float64) * scale
    c = np.asarray(corners, dtype=np.int64)
    if np.all(c[:, 1] >= 0):
        pairs, inverse = np.unique(c, axis=0, return_inverse=True)
        faces = inverse.reshape(-1, 3)
        return Mesh(v[pairs[:, 0]], faces, np.asarray(norms, dtype=np.float64)[pairs[:, 1]])
    used, inverse = np.unique(c[:, 0], return_inverse=True)       # drop unused vertices
    return Mesh(v[used], inverse.reshape(-1, 3))


def write_obj(path: str | os.PathLike, mesh: Mesh, *, comment: str | None = None) -> None:
    """Write ``mesh`` as a Wavefront OBJ file (positions in mm, with ``vn`` lines when the mesh has
    vertex normals), atomically; ``comment`` lines go at the top after ``#``."""
    lines = [f"# {c}" for c in (comment or "").splitlines()]
    lines.append(f"# {mesh.vertices.shape[0]} vertices, {mesh.faces.shape[0]} triangles; lengths in mm")
    lines += [f"v {x:.17g} {y:.17g} {z:.17g}" for x, y, z in mesh.vertices]
    f1 = mesh.faces + 1
    if mesh.vertex_normals is not None:
        lines += [f"vn {x:.17g} {y:.17g} {z:.17g}" for x, y, z in mesh.vertex_normals]
        lines += [f"f {a}//{a} {b}//{b} {c}//{c}" for a, b, c in f1]
    else:
        lines += [f"f {a} {b} {c}" for a, b, c in f1]
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


# -- procedural meshes -----------------------------------------------------------------------------
def icosphere(radius: float = 1.0, subdivisions: int = 2, center=(0.0, 0.0, 0.0), *,
              smooth: bool = False) -> Mesh:
    """A sphere of ``radius`` [mm] about ``center`` [mm] approximated by a subdivided icosahedron.

    Each subdivision splits every triangle in four and pushes the new vertices out to the sphere:
    20·4^s triangles (s = 3: 1280), 10·4^s + 2 vertices, all on the sphere (the mesh is inscribed).
    ``smooth``: radial vertex normals (interpolated for shading); else flat triangles.
    """
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be finite and > 0 mm; got {radius!r}")
    if int(subdivisions) != subdivisions or not 0 <= subdivisions <= 8:
        raise ValueError(f"subdivisions must be an integer in [0, 8]; got {subdivisions!r}")
    c = _vec3("center", center)
    p = (1.0 + np.sqrt(5.0)) / 2.0
    v = np.array([[-1, p, 0], [1, p, 0], [-1, -p, 0], [1, -p, 0], [0, -1, p], [0, 1, p],
                  [0, -1, -p], [0, 1, -p], [p, 0, -1], [p, 0, 1], [-p, 0, -1], [-p, 0, 1]], dtype=np.float64)
    f = np.array([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
                  [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
                  [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]], dtype=np.int64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for _ in range(int(subdivisions)):
        edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        uniq, inv = np.unique(edges, axis=0, return_inverse=True)
        mid = v[uniq[:, 0]] + v[uniq[:, 1]]
        mid /= np.linalg.norm(mid, axis=1, keepdims=True)
        m = inv.ravel().reshape(3, -1).T + v.shape[0]            # midpoints of edges 01, 12, 20
        v = np.concatenate([v, mid])
        a, b, cc = f[:, 0], f[:, 1], f[:, 2]
        m01, m12, m20 = m[:, 0], m[:, 1], m[:, 2]
        f = np.concatenate([np.stack(t, axis=1) for t in
                            ((a, m01, m20), (b, m12, m01), (cc, m20, m12), (m01, m12, m20))])
    return Mesh(c + radius * v, f, v.copy() if smooth else None)


def box(center=(0.0, 0.0, 0.0), size=1.0) -> Mesh:
    """An axis-aligned box about ``center`` [mm] with edge lengths ``size`` [mm] (one, or three
    along x, y, z): 8 vertices, 12 triangles wound outward, flat normals."""
    c = _vec3("center", center)
    s = np.broadcast_to(np.asarray(size, dtype=np.float64), (3,))
    if not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError(f"size must be one or three finite lengths > 0 mm; got {size!r}")
    corners = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
    # corner index = 4·(x>0) + 2·(y>0) + (z>0); quads counter-clockwise seen from outside
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [tri for a, b, cc, d in quads for tri in ((a, b, cc), (a, cc, d))]
    return Mesh(c + corners * s, np.array(faces))

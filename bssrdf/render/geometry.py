"""Shapes for the renderer: ray intersection, normals and stratified surface sampling.

Lengths in mm. Every shape answers three questions, vectorised over rays or points:

* ``intersect(origins, directions)`` → distance ``t`` [mm] to the first hit in front of the
  origin (``inf`` for a miss);
* ``normal(points)`` → outward unit normals at points on the surface;
* ``sample(n, rng)`` → ``n`` points spread evenly over the surface with their outward normals
  and the area each represents [mm²] (the areas sum to the shape's area).

A :class:`Slab` is two parallel rectangles (its front and back faces) and also labels its points
with the face they lie on (``face``: 0 front, 1 back), which pass 2 needs to tell reflection from
transmission (:func:`bssrdf.render.pipeline.exitance`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Sphere", "Plane", "Slab", "SurfaceSamples", "EPSILON", "FRONT", "BACK"]

EPSILON = 1e-6
"""Relative offset [in units of the scene size] that keeps shadow rays off their own surface."""
FRONT, BACK = 0, 1
"""Face labels of a :class:`Slab`'s points (``SurfaceSamples.face``); −1 marks a point on another shape."""


def _vec3(name: str, value) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite 3-vector in mm; got {value!r}")
    return v


def _unit(name: str, value) -> np.ndarray:
    v = _vec3(name, value)
    n = np.linalg.norm(v)
    if n == 0:
        raise ValueError(f"{name} must be a non-zero 3-vector; got {value!r}")
    return v / n


@dataclass(frozen=True)
class SurfaceSamples:
    """Points on a surface with the area each stands for.

    Attributes
    ----------
    points : ndarray, shape (N, 3)
        Positions [mm].
    normals : ndarray, shape (N, 3)
        Outward unit normals.
    area : ndarray, shape (N,)
        Area represented by each point [mm²]; sums to the surface area.
    face : ndarray of int, shape (N,), or None
        For a :class:`Slab`: the face of each point, :data:`FRONT` (0) or :data:`BACK` (1); None
        for shapes without faces.
    """

    points: np.ndarray
    normals: np.ndarray
    area: np.ndarray
    face: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Sphere:
    """A sphere of ``radius`` [mm] about ``center`` [mm]."""

    center: np.ndarray
    radius: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "center", _vec3("center", self.center))
        if not (np.isfinite(self.radius) and self.radius > 0):
            raise ValueError(f"radius must be finite and > 0 mm; got {self.radius!r}")
        object.__setattr__(self, "radius", float(self.radius))

    @property
    def area(self) -> float:
        """Surface area 4πR² [mm²]."""
        return 4.0 * np.pi * self.radius**2

    @property
    def size(self) -> float:
        """A length scale of the shape [mm] (for ray offsets)."""
        return self.radius

    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distance [mm] along unit ``directions`` (…, 3) to the nearest hit beyond a small offset."""
        oc = origins - self.center
        b = np.einsum("...k,...k->...", oc, directions)
        c = np.einsum("...k,...k->...", oc, oc) - self.radius**2
        disc = b * b - c
        root = np.sqrt(np.maximum(disc, 0.0))
        eps = EPSILON * self.radius
        t0, t1 = -b - root, -b + root
        t = np.where(t0 > eps, t0, np.where(t1 > eps, t1, np.inf))
        return np.where(disc >= 0.0, t, np.inf)

    def normal(self, points: np.ndarray) -> np.ndarray:
        """Outward unit normals at ``points`` (…, 3) on the sphere."""
        n = points - self.center
        return n / np.linalg.norm(n, axis=-1, keepdims=True)

    def sample(self, n: int, rng: np.random.Generator) -> SurfaceSamples:
        """``n`` points on a Fibonacci (golden-spiral) lattice under a random rotation.

        The lattice gives every point the same area, 4πR²/n, to within O(1/n) per point; it is a
        stratified, blue-noise-like set, close to a Poisson-disk distribution in its spacing.
        """
        n = _count(n)
        i = np.arange(n) + 0.5
        z = 1.0 - 2.0 * i / n
        phi = np.pi * (3.0 - np.sqrt(5.0)) * i + rng.uniform(0, 2 * np.pi)
        s = np.sqrt(np.maximum(0.0, 1.0 - z * z))
        d = np.stack([s * np.cos(phi), s * np.sin(phi), z], axis=-1)
        q, _ = np.linalg.qr(rng.standard_normal((3, 3)))   # random rotation (or reflection)
        d = d @ q.T
        return SurfaceSamples(self.center + self.radius * d, d, np.full(n, self.area / n))


@dataclass(frozen=True, eq=False)
class Plane:
    """A rectangle: ``center`` [mm], unit ``normal`` (its lit front side), ``u_axis`` in the plane
    and half extents ``half_size`` = (a, b) [mm] along u and v = normal × u.

    One-sided for lighting: light and view from behind (against the normal) give nothing.
    """

    center: np.ndarray
    normal_vector: np.ndarray
    half_size: tuple[float, float]
    u_axis: np.ndarray | None = None

    def __post_init__(self) -> None:
        c = _vec3("center", self.center)
        n = _unit("normal", self.normal_vector)
        u = self.u_axis
        if u is None:
            u = np.array([1.0, 0, 0]) if abs(n[0]) < 0.9 else np.array([0, 1.0, 0])
        u = np.asarray(u, dtype=np.float64)
        u = u - n * (u @ n)
        u = _unit("u_axis (its part in the plane)", u)
        hs = tuple(float(h) for h in self.half_size)
        if len(hs) != 2 or not all(np.isfinite(h) and h > 0 for h in hs):
            raise ValueError(f"half_size must be two finite lengths > 0 mm; got {self.half_size!r}")
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "normal_vector", n)
        object.__setattr__(self, "u_axis", u)
        object.__setattr__(self, "half_size", hs)

    @property
    def v_axis(self) -> np.ndarray:
        return np.cross(self.normal_vector, self.u_axis)

    @property
    def area(self) -> float:
        """Area 4ab [mm²]."""
        return 4.0 * self.half_size[0] * self.half_size[1]

    @property
    def size(self) -> float:
        return max(self.half_size)

    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distance [mm] along unit ``directions`` (…, 3) to the rectangle (either side)."""
        n = self.normal_vector
        denom = directions @ n
        with np.errstate(divide="ignore", invalid="ignore"):   # rays parallel to the plane: t = ±inf or NaN
            t = ((self.center - origins) @ n) / denom
            p = origins + t[..., None] * directions - self.center
            a, b = self.half_size
            inside = (np.abs(p @ self.u_axis) <= a) & (np.abs(p @ self.v_axis) <= b)
        ok = (denom != 0) & (t > EPSILON * self.size) & inside
        return np.where(ok, t, np.inf)

    def normal(self, points: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.normal_vector, np.shape(points)).copy()

    def sample(self, n: int, rng: np.random.Generator) -> SurfaceSamples:
        """About ``n`` points on a jittered grid (one per cell, cells of equal area).

        The grid has nu × nv cells with nu/nv close to the aspect ratio and nu·nv ≥ ``n``.
        """
        n = _count(n)
        a, b = self.half_size
        nu = max(1, int(round(np.sqrt(n * a / b))))
        nv = max(1, int(np.ceil(n / nu)))
        iu, iv = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
        su = (iu.ravel() + rng.uniform(size=iu.size)) / nu * 2 * a - a
        sv = (iv.ravel() + rng.uniform(size=iv.size)) / nv * 2 * b - b
        pts = self.center + su[:, None] * self.u_axis + sv[:, None] * self.v_axis
        m = nu * nv
        return SurfaceSamples(pts, self.normal(pts), np.full(m, self.area / m))


@dataclass(frozen=True, eq=False)
class Slab:
    """A finite thin slab: two parallel rectangles ``thickness`` [mm] apart.

    The front face is the rectangle about ``center`` [mm] with outward unit normal ``normal_vector``
    (n), half extents ``half_size`` = (a, b) [mm] along ``u_axis`` and v = n × u, as a
    :class:`Plane`; the back face is the same rectangle about ``center − thickness·n`` with outward
    normal −n. A light behind the slab (on the −n side) lights the back face; pass 2 carries that
    light to the front face with the profile's transmittance T(r) (see
    :func:`bssrdf.render.pipeline.exitance`).

    The four thin sides (area 4(a + b)·thickness) are ignored: rays pass through them, they hold no
    samples and no light enters or leaves there. That is a fair model for a slab much wider than
    it is thick (a, b ≫ thickness), the case of the multipole (Donner & Jensen 2005), which
    treats the slab as laterally infinite; near its rim (within a few thicknesses) the image lacks
    the light the sides would let in or out.
    """

    center: np.ndarray
    normal_vector: np.ndarray
    half_size: tuple[float, float]
    thickness: float
    u_axis: np.ndarray | None = None

    def __post_init__(self) -> None:
        front = Plane(self.center, self.normal_vector, self.half_size, self.u_axis)
        d = self.thickness
        if isinstance(d, bool) or not isinstance(d, (int, float, np.floating, np.integer)) \
                or not (np.isfinite(d) and d > 0):
            raise ValueError(f"thickness must be a finite length > 0 mm; got {d!r}")
        d = float(d)
        n = front.normal_vector
        back = Plane(front.center - d * n, -n, front.half_size, front.u_axis)
        for name, value in (("center", front.center), ("normal_vector", n), ("half_size", front.half_size),
                            ("u_axis", front.u_axis), ("thickness", d), ("front", front), ("back", back)):
            object.__setattr__(self, name, value)

    @property
    def v_axis(self) -> np.ndarray:
        return np.cross(self.normal_vector, self.u_axis)

    @property
    def area(self) -> float:
        """Area of the two faces, 8ab [mm²] (the sides are ignored)."""
        return 2.0 * self.front.area

    @property
    def size(self) -> float:
        return max(max(self.half_size), self.thickness)

    def intersect(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distance [mm] along unit ``directions`` (…, 3) to the nearer face hit (from either side)."""
        return np.minimum(self.front.intersect(origins, directions), self.back.intersect(origins, directions))

    def face(self, points: np.ndarray) -> np.ndarray:
        """:data:`FRONT` (0) or :data:`BACK` (1) for ``points`` (…, 3) on the slab: the face whose
        plane is nearer."""
        s = (np.asarray(points) - self.center) @ self.normal_vector
        return np.where(s > -0.5 * self.thickness, FRONT, BACK)

    def normal(self, points: np.ndarray) -> np.ndarray:
        """Outward unit normals: n on the front face, −n on the back."""
        sign = np.where(self.face(points) == FRONT, 1.0, -1.0)[..., None]
        return sign * self.normal_vector

    def sample(self, n: int, rng: np.random.Generator) -> SurfaceSamples:
        """About ``n`` points, half on each face (each face's jittered grid, :meth:`Plane.sample`),
        labelled with their ``face``."""
        n = _count(n)
        half = max(1, (n + 1) // 2)
        parts = [self.front.sample(half, rng), self.back.sample(half, rng)]
        face = np.concatenate([np.full(p.area.size, k) for k, p in zip((FRONT, BACK), parts, strict=True)])
        return SurfaceSamples(np.concatenate([p.points for p in parts]),
                              np.concatenate([p.normals for p in parts]),
                              np.concatenate([p.area for p in parts]), face)


def _count(n) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"n_samples must be an integer >= 1; got {n!r}")
    return int(n)

"""A scene: translucent objects, lights, and occluders that only cast shadows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import EPSILON, Plane, Slab, Sphere
from .lights import DirectionalLight, PointLight
from .mesh import Mesh

__all__ = ["Scene", "Hits"]

Shape = Sphere | Plane | Slab | Mesh
Light = DirectionalLight | PointLight


@dataclass(frozen=True)
class Hits:
    """Where rays meet the scene's objects (:meth:`Scene.trace`).

    Attributes
    ----------
    t : ndarray, shape (N,)
        Distance along each ray [mm]; ``inf`` for a miss.
    index : ndarray, shape (N,)
        The object hit (−1 for a miss).
    hit : ndarray of bool, shape (N,)
        Rays that hit.
    points, normals : ndarray, shape (H, 3)
        Hit points [mm] and outward unit (shading) normals of the H rays that hit, in ray order.
    """

    t: np.ndarray
    index: np.ndarray
    hit: np.ndarray
    points: np.ndarray
    normals: np.ndarray


@dataclass(frozen=True)
class Scene:
    """Objects [mm] shaded with the renderer's material, lights, and shadow-only occluders.

    Occluders block light (shadow rays) but are not seen by the camera. Subsurface transport is
    computed within each object separately (light does not cross between objects); within a
    :class:`~bssrdf.render.geometry.Slab` it crosses from one face to the other.
    """

    objects: tuple = ()
    lights: tuple = ()
    occluders: tuple = field(default=())

    def __post_init__(self) -> None:
        for name in ("objects", "lights", "occluders"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.objects:
            raise ValueError("objects must hold at least one shape; got none")
        for s in self.objects + self.occluders:
            if not isinstance(s, (Sphere, Plane, Slab, Mesh)):
                raise TypeError(f"shapes must be Sphere, Plane, Slab or Mesh; got {type(s).__name__}")
        for li in self.lights:
            if not isinstance(li, (DirectionalLight, PointLight)):
                raise TypeError(f"lights must be DirectionalLight or PointLight; got {type(li).__name__}")

    @property
    def size(self) -> float:
        """A length scale of the scene [mm] (for ray offsets)."""
        return max(s.size for s in self.objects + self.occluders)

    def intersect(self, origins: np.ndarray, directions: np.ndarray, *, occluders: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest hit among the objects (and the occluders if asked): distance [mm] (inf for a
        miss) and the index of the shape hit (−1 for a miss; occluders follow the objects)."""
        shapes = self.objects + (self.occluders if occluders else ())
        t = np.full(origins.shape[:-1], np.inf)
        idx = np.full(origins.shape[:-1], -1, dtype=np.int64)
        for i, s in enumerate(shapes):
            ti = s.intersect(origins, directions)
            closer = ti < t
            t = np.where(closer, ti, t)
            idx = np.where(closer, i, idx)
        return t, idx

    def trace(self, origins: np.ndarray, directions: np.ndarray) -> Hits:
        """Nearest hits of rays (N, 3) on the objects (not the occluders), with the normals there;
        a mesh's normal is that of the very triangle hit (:meth:`Mesh.intersect_faces`)."""
        t = np.full(origins.shape[0], np.inf)
        idx = np.full(origins.shape[0], -1, dtype=np.int64)
        face = np.full(origins.shape[0], -1, dtype=np.int64)
        for i, s in enumerate(self.objects):
            if isinstance(s, Mesh):
                ti, fi = s.intersect_faces(origins, directions)
            else:
                ti, fi = s.intersect(origins, directions), -1
            closer = ti < t
            t = np.where(closer, ti, t)
            idx = np.where(closer, i, idx)
            face = np.where(closer, fi, face)
        hit = np.isfinite(t)
        x = origins[hit] + t[hit, None] * directions[hit]
        obj, f = idx[hit], face[hit]
        normals = np.empty_like(x)
        for i, s in enumerate(self.objects):
            m = obj == i
            normals[m] = s.normal(x[m], f[m]) if isinstance(s, Mesh) else s.normal(x[m])
        return Hits(t, idx, hit, x, normals)

    def visible(self, points: np.ndarray, normals: np.ndarray, to_light: np.ndarray,
                distance: np.ndarray) -> np.ndarray:
        """Whether the segment from each point (offset along its normal) towards the light is
        free of objects and occluders over ``distance`` [mm] → bool (N,)."""
        eps = EPSILON * self.size
        side = np.sign(np.einsum("nk,nk->n", normals, to_light))[:, None]
        o = points + eps * side * normals
        t, _ = self.intersect(o, to_light, occluders=True)
        return t >= distance - eps

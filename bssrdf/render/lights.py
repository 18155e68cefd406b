"""Lights: directional and point, with their irradiance on a surface (radiometric units per mm²)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import _unit, _vec3

__all__ = ["DirectionalLight", "PointLight"]


@dataclass(frozen=True)
class DirectionalLight:
    """A distant light; ``direction`` is the way the light travels (the sun's rays), and
    ``irradiance`` [W mm⁻², scalar or per channel] is measured on a plane facing it."""

    direction: tuple
    irradiance: float | tuple = 1.0

    def towards(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For ``points`` (N, 3): unit vectors to the light (N, 3), the distance to it [mm] (inf)
        and the irradiance on a plane facing the light (N, C) [W mm⁻²]."""
        w = -_unit("direction", self.direction)
        n = points.shape[0]
        e = np.atleast_1d(np.asarray(self.irradiance, dtype=np.float64))
        return np.broadcast_to(w, (n, 3)), np.full(n, np.inf), np.broadcast_to(e, (n, e.size))


@dataclass(frozen=True)
class PointLight:
    """An isotropic point light at ``position`` [mm] of ``intensity`` [W sr⁻¹, scalar or per channel]."""

    position: tuple
    intensity: float | tuple = 1.0

    def towards(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit vectors to the light, distances [mm] and irradiance I/d² facing it [W mm⁻²]."""
        d = _vec3("position", self.position) - points
        dist = np.linalg.norm(d, axis=-1)
        i = np.atleast_1d(np.asarray(self.intensity, dtype=np.float64))
        return d / dist[:, None], dist, i[None, :] / dist[:, None] ** 2

"""Cameras: primary rays for an image of ``width`` × ``height`` pixels (lengths in mm)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import _unit, _vec3

__all__ = ["PerspectiveCamera", "OrthographicCamera"]


def _frame(eye, look_at, up) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    forward = _unit("look_at - eye", np.asarray(look_at, float) - np.asarray(eye, float))
    right = np.cross(forward, _unit("up", up))
    if np.linalg.norm(right) < 1e-12:
        raise ValueError(f"up must not be parallel to the view direction; got up={up!r}")
    right /= np.linalg.norm(right)
    return forward, right, np.cross(right, forward)


def _check_size(width, height) -> tuple[int, int]:
    for name, v in (("width", width), ("height", height)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1 pixel; got {v!r}")
    return int(width), int(height)


def _pixel_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1] (x right, y up), shape (height, width)."""
    x = (np.arange(width) + 0.5) / width * 2.0 - 1.0
    y = 1.0 - (np.arange(height) + 0.5) / height * 2.0
    return np.meshgrid(x, y)


@dataclass(frozen=True)
class PerspectiveCamera:
    """A pinhole camera at ``eye`` [mm] looking at ``look_at`` [mm]; ``fov`` the vertical field of
    view [degrees]."""

    eye: tuple
    look_at: tuple
    up: tuple = (0.0, 0.0, 1.0)
    fov: float = 30.0
    width: int = 256
    height: int = 256

    def rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Origins and unit directions, each (height, width, 3)."""
        w, h = _check_size(self.width, self.height)
        if not 0 < self.fov < 180:
            raise ValueError(f"fov must be in (0, 180) degrees; got {self.fov!r}")
        f, r, u = _frame(self.eye, self.look_at, self.up)
        x, y = _pixel_grid(w, h)
        s = np.tan(np.radians(self.fov) / 2)
        d = f + (x * s * w / h)[..., None] * r + (y * s)[..., None] * u
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        return np.broadcast_to(_vec3("eye", self.eye), d.shape).copy(), d


@dataclass(frozen=True)
class OrthographicCamera:
    """Parallel rays along ``look_at − eye``; the image spans ``view_height`` [mm] vertically."""

    eye: tuple
    look_at: tuple
    up: tuple = (0.0, 0.0, 1.0)
    view_height: float = 10.0
    width: int = 256
    height: int = 256

    def rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Origins and unit directions, each (height, width, 3)."""
        w, h = _check_size(self.width, self.height)
        if not (np.isfinite(self.view_height) and self.view_height > 0):
            raise ValueError(f"view_height must be finite and > 0 mm; got {self.view_height!r}")
        f, r, u = _frame(self.eye, self.look_at, self.up)
        x, y = _pixel_grid(w, h)
        half = self.view_height / 2
        o = _vec3("eye", self.eye) + (x * half * w / h)[..., None] * r + (y * half)[..., None] * u
        return o, np.broadcast_to(f, o.shape).copy()

"""bssrdf: subsurface scattering profiles, on NumPy or CuPy arrays, on a CPU or a GPU.

Units: coefficients in mm⁻¹, lengths in mm, profiles in mm⁻².

>>> import numpy as np, bssrdf
>>> marble = bssrdf.materials.get("marble")
>>> R = bssrdf.profiles.dipole.R_d(np.linspace(0, 5, 6), marble)   # shape (6, 3), mm^-2
"""

from . import backend, fresnel, materials, profiles
from .medium import Layer, Medium

__version__ = "0.1.0"

from . import mc  # noqa: E402  (mc reads __version__)

__all__ = ["Layer", "Medium", "mc", "backend", "fresnel", "materials", "profiles", "__version__"]

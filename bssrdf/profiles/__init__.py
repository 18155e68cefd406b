"""Analytic profile models.

- :mod:`bssrdf.profiles.dipole`: Jensen et al. 2001, semi-infinite medium.
- :mod:`bssrdf.profiles.multipole`: Donner & Jensen 2005, finite slab R(r) and T(r).
- :mod:`bssrdf.profiles.single`: Jensen et al. 2001 single scattering, R_1(r).
- :mod:`bssrdf.profiles.layered`: Donner & Jensen 2005, stacks of slabs with index mismatch and rough
  interfaces (takes a list of :class:`bssrdf.Layer` instead of one medium);
  :mod:`bssrdf.profiles.layered_check` compares it with the Monte Carlo tracer.

Every function takes radii in mm (NumPy or CuPy arrays) and a :class:`bssrdf.Medium`, and
returns profiles in mm⁻² of shape ``r.shape + medium.shape``. ``python -m bssrdf.profiles``
prints and plots the profiles of a material.
"""

from . import dipole, layered, multipole, single
from ._common import DiffusionValidityWarning

__all__ = ["dipole", "layered", "multipole", "single", "DiffusionValidityWarning"]

"""Monte Carlo reference tracer for stacks of plane-parallel layers (MCML conventions).

One source of physics, ``cuda/include/bssrdf/mc.h``, runs as a CUDA kernel through CuPy on a GPU
and in the CPU extension (OpenMP) on a CPU. Units: lengths in mm, coefficients in mm⁻¹.

>>> import bssrdf
>>> skin = bssrdf.Layer(bssrdf.Medium(sigma_a=1.0, sigma_s=9.0, g=0.75, eta=1.0), 0.2)
>>> res = bssrdf.mc.simulate([skin], 10_000, r_max=1.0, n_r=20, backend="cpu")
>>> round(res.R_diffuse, 1), round(res.T_total, 1)
(0.1, 0.7)

Run ``python -m bssrdf.mc --help`` for the command-line tool.
"""

from ..medium import Layer
from ._run import EnergyConservationError, simulate
from .result import TALLIES, MCResult, load

__all__ = ["Layer", "MCResult", "TALLIES", "EnergyConservationError", "load", "simulate"]

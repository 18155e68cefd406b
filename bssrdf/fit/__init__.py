"""Fit measured materials: σa and σ's per channel, with honest uncertainties.

Three kinds of measurement, three entry points, one result type (:class:`FitResult`: estimates, standard
errors, correlations, goodness of fit and a :class:`bssrdf.Medium`):

- :func:`fit_profile`: the radial exitance around a focused beam (Jensen et al. 2001 §5), fitted with the
  dipole, the multipole (slabs) or Monte Carlo profiles tabulated once (``--model mc``: right near the source,
  where diffusion is not).
- :func:`fit_totals`: total reflectance and transmittance of a slab (integrating-sphere measurements),
  inverted with adding-doubling (Prahl's ``iadpython``) in the manner of inverse adding-doubling.
- :func:`from_appearance`: a diffuse albedo and a mean free path, for the definitions renderers use.

``python -m bssrdf.fit {profile,totals,appearance} --help`` is the command line. Units: mm and mm⁻¹.
"""

from .appearance import DEFINITIONS, from_appearance
from .data import ProfileData, TotalsData, profile_from_arrays, read_profile, read_totals
from .profile import fit_profile
from .result import FitError, FitResult
from .totals import fit_totals

__all__ = ["fit_profile", "fit_totals", "from_appearance", "FitResult", "FitError", "ProfileData",
           "TotalsData", "read_profile", "read_totals", "profile_from_arrays", "DEFINITIONS"]

"""Forward models of the radial exitance R(r) that :func:`bssrdf.fit.fit_profile` fits.

Every model gives the radial exitance R(r) [mm⁻²] of a normally incident pencil beam of unit power, all
scattering orders, for a medium with g = 0 (only σ's matters in diffusion; near the source the g = 0 phase
function is assumed: see the notes of :func:`bssrdf.fit.fit_profile`), under air (n = 1), η the medium's
index.

- ``dipole``: Jensen et al. 2001, the dipole diffusion profile R_d (:mod:`bssrdf.profiles.dipole`) plus the
  exact single-scattering profile R_1 (Jensen et al. 2001's single-scattering term, evaluated exactly:
  :mod:`bssrdf.profiles.single`), i.e. the radial profile of the paper's full BSSRDF S_d + S⁽¹⁾ for normal
  incidence. ``single_scattering=False`` gives the dipole alone (multiple scattering only).
- ``multipole``: Donner & Jensen 2005, the slab's reflectance profile R(r) (:mod:`bssrdf.profiles.multipole`,
  converged image sum) plus R_1 of the semi-infinite medium (single scattering from within about one mean free
  path of the surface, an approximation for slabs thinner than a few mean free paths).
- ``mc``: the Monte Carlo table (:mod:`bssrdf.fit.mc_table`), semi-infinite, all scattering orders.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..medium import Medium
from ..profiles import multipole as _multipole
from . import mc_table

__all__ = ["ProfileModel", "DipoleModel", "MultipoleModel", "MCModel", "make_model", "MODELS", "bin_average"]

MODELS = ("dipole", "multipole", "mc")
U_MIN, U_MAX = 1e-4, 0.999   # u = sqrt(1 − α') bounds of the diffusion models' fits


class ProfileModel:
    """The interface: ``profile(r, sigma_a, sigma_s_prime)`` → (N, K) [mm⁻²] for r (N,), σ (K,)."""

    name = ""
    single = True
    u_bounds = (U_MIN, U_MAX)

    def profile(self, r, sigma_a, sigma_s_prime) -> np.ndarray:
        raise NotImplementedError

    def relative_error(self, r, sigma_a, sigma_s_prime) -> np.ndarray | None:
        """The model's own relative standard error (statistical, for tabulated models), or None."""
        return None

    def describe(self) -> str:
        raise NotImplementedError


class DipoleModel(ProfileModel):
    """Jensen et al. 2001 dipole (+ exact single scattering, g = 0), semi-infinite medium at index η."""

    name = "dipole"

    def __init__(self, eta: float, single: bool = True):
        self.eta = float(eta)
        self.single = bool(single)

    def profile(self, r, sigma_a, sigma_s_prime):
        return mc_table.reference_profile(r, sigma_a, sigma_s_prime, self.eta, single=self.single)

    def describe(self) -> str:
        what = "dipole R_d + exact single scattering R_1 (g = 0)" if self.single else "dipole R_d alone"
        return f"dipole: Jensen et al. 2001 {what}, semi-infinite, eta {self.eta:g}, air above"


class MultipoleModel(ProfileModel):
    """Donner & Jensen 2005 slab reflectance profile (+ semi-infinite single scattering)."""

    name = "multipole"

    def __init__(self, eta: float, thickness: float, n_below: float = 1.0, single: bool = True):
        self.eta = float(eta)
        self.thickness = float(thickness)
        self.n_below = float(n_below)
        self.single = bool(single)

    def profile(self, r, sigma_a, sigma_s_prime):
        r = np.asarray(r, dtype=np.float64).ravel()
        sa = np.atleast_1d(np.asarray(sigma_a, float))
        ssp = np.atleast_1d(np.asarray(sigma_s_prime, float))
        medium = Medium.from_reduced(sa, ssp, g=0.0, eta=self.eta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.asarray(_multipole.R(r, medium, self.thickness, n_above=1.0, n_below=self.n_below,
                                          backend="numpy")).reshape(r.size, sa.size)
        if self.single:
            out = out + mc_table.single_scattering(self.eta).R_1(r[:, None], sa + ssp, ssp)
        return out

    def describe(self) -> str:
        what = " + semi-infinite single scattering R_1 (g = 0)" if self.single else ""
        return (f"multipole: Donner & Jensen 2005 slab R(r){what}, thickness {self.thickness:g} mm, eta "
                f"{self.eta:g}, air above, n_below {self.n_below:g}")


class MCModel(ProfileModel):
    """The Monte Carlo table at index η (:class:`bssrdf.fit.mc_table.MCProfileModel`)."""

    name = "mc"

    def __init__(self, eta: float, table: str | None = None):
        self.eta = float(eta)
        self.table = mc_table.mc_model(self.eta, None if table is None else str(table))
        self.u_bounds = (self.table.u_min, self.table.u_max)

    def profile(self, r, sigma_a, sigma_s_prime):
        return self.table.profile(r, sigma_a, sigma_s_prime)

    def relative_error(self, r, sigma_a, sigma_s_prime):
        return self.table.profile(r, sigma_a, sigma_s_prime, with_error=True)[1]

    def describe(self) -> str:
        raw = self.table.raw
        return (f"mc: Monte Carlo table (semi-infinite, g = 0, all scattering orders; "
                f"{raw.attrs.get('photons_per_entry', 0):.0e}"
                f" photons per entry, eta {self.eta:g} interpolated from "
                f"{', '.join(f'{e:g}' for e in raw.eta)})")


def make_model(name: str, eta: float, thickness: float | None = None, n_below: float = 1.0,
               single_scattering: bool = True, table=None) -> ProfileModel:
    """The model ``name`` (one of :data:`MODELS`)."""
    if name == "dipole":
        return DipoleModel(eta, single_scattering)
    if name == "multipole":
        if thickness is None:
            raise ValueError("the multipole model needs the slab thickness (thickness in mm, > 0)")
        return MultipoleModel(eta, thickness, n_below, single_scattering)
    if name == "mc":
        if not single_scattering:
            raise ValueError("the mc model includes all scattering orders; single_scattering=False applies "
                             "to the dipole and multipole models only")
        return MCModel(eta, table)
    raise ValueError(f"model must be one of {', '.join(MODELS)}; got {name!r}")


_GAUSS = np.polynomial.legendre.leggauss(4)


def bin_average(model: ProfileModel, r: np.ndarray, bins: np.ndarray | None, sigma_a, sigma_s_prime,
                relative_error: bool = False):
    """The model at radii r (N,), or averaged over the annuli ``bins`` (N, 2) when given → (N, K).

    Annulus averages use 4-point Gauss–Legendre quadrature of 2πr R(r) over [r_lo, r_hi] (exact for R ∝ 1/r,
    the single-scattering singularity of the innermost bin).
    """
    fn = model.relative_error if relative_error else model.profile
    if bins is None:
        return fn(r, sigma_a, sigma_s_prime)
    x, w = _GAUSS
    lo, hi = bins[:, :1], bins[:, 1:]
    rq = 0.5 * (hi - lo) * x[None, :] + 0.5 * (hi + lo)          # (N, Q)
    f = fn(rq.ravel(), sigma_a, sigma_s_prime)
    if f is None:
        return None
    f = f.reshape(rq.shape + (-1,))                               # (N, Q, K)
    wq = (0.5 * (hi - lo) * w[None, :] * rq)[:, :, None]          # ∫ r dr weights
    return np.sum(wq * f, axis=1) / (0.5 * (hi**2 - lo**2))

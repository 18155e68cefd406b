"""What the renderer shades with: a radial diffusion profile (a BSSRDF) or a Lambertian BRDF.

A profile gives R(r) [mm⁻² per unit incident power], its total ∫2πr R dr, the relative index η
of its boundary, and the radius beyond which a fraction ``tail`` of its total remains (the
truncation radius of the CPU evaluator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate

from .. import backend as _backend
from ..fresnel import A, F_t
from ..medium import Medium
from ..profiles import dipole
from ..profiles._common import channel_vector, check_medium, relative_eta

__all__ = ["DipoleProfile", "TabulatedProfile", "Profile", "LambertianBRDF", "hemispherical_transmittance"]


def hemispherical_transmittance(eta) -> np.ndarray:
    """2∫₀¹ F_t(η, μ) μ dμ: the cosine-weighted mean Fresnel transmittance for light arriving from
    outside (η = n_medium/n_outside), by adaptive quadrature.

    It is the fraction of a diffuse (Lambertian) outside flux that enters, and, by the form of
    S_d = (1/π) F_t(ω_i) R_d F_t(ω_o), the fraction of the diffuse exitance π·L/F_t(ω_o) that
    leaves as radiosity: M_out = T_h(η) ∫R_d E_t dA.
    """
    eta = np.atleast_1d(np.asarray(eta, dtype=np.float64))
    out = [integrate.quad(lambda mu, e=e: 2.0 * mu * float(F_t(mu, e)), 0.0, 1.0,
                          epsabs=1e-13, epsrel=1e-12, limit=200)[0] for e in eta.ravel()]
    return np.asarray(out).reshape(eta.shape)


@dataclass(frozen=True, eq=False)
class DipoleProfile:
    """The dipole of Jensen et al. 2001 for a semi-infinite ``medium`` [mm⁻¹] under an outside
    index ``n_outside``; R(r) = :func:`bssrdf.profiles.dipole.R_d`.

    ``backend`` picks where R is evaluated for NumPy radii: "auto" the compiled CPU extension when
    it is built (about 18× the NumPy speed; agrees with it to ~1e-15), else NumPy; "numpy" or
    "cpu" to force one. CuPy radii are always evaluated by the CUDA kernel.
    """

    medium: Medium
    n_outside: float = 1.0
    backend: str = "auto"

    def __post_init__(self) -> None:
        check_medium(self.medium)
        if self.backend not in ("auto", "numpy", "cpu"):
            raise ValueError(f"backend must be 'auto', 'numpy' or 'cpu'; got {self.backend!r}")
        _backend.resolve(self.backend)   # RuntimeError for "cpu" without the extension

    @property
    def eta(self) -> np.ndarray:
        """Relative index n_medium/n_outside per channel, shape (C,)."""
        return channel_vector(relative_eta(self.medium, self.n_outside))

    @property
    def n_channels(self) -> int:
        return self.eta.size

    def R(self, r):
        """R_d(r) [mm⁻²] for radii (N,) [mm] → (N, C): NumPy float64 (see ``backend``), or, for a CuPy
        array, computed on the GPU by the CUDA kernel (same dtype as ``r``)."""
        xp = _backend.array_module(r)
        if xp is not np:
            out = dipole.R_d(r, self.medium, self.n_outside, backend="cuda")
            return out.reshape(r.shape[0], -1) * xp.ones(self.n_channels, dtype=out.dtype)
        b = self.backend
        if b == "auto":
            b = "cpu" if _backend.cpu_available() else "numpy"
        out = dipole.R_d(np.asarray(r, dtype=np.float64), self.medium, self.n_outside, backend=b)
        return np.asarray(out).reshape(len(r), -1) * np.ones(self.n_channels)

    def total(self) -> np.ndarray:
        """∫₀^∞ 2πr R_d dr (closed form), shape (C,)."""
        return channel_vector(dipole.total_R_d(self.medium, self.n_outside)) * np.ones(self.n_channels)

    def tail(self, r) -> np.ndarray:
        """∫_r^∞ 2πs R_d(s) ds (closed form) at radius ``r`` [mm], shape (C,).

        = (α'/2) [z_r e^{−σtr d_r}/d_r + z_v e^{−σtr d_v}/d_v], which at r = 0 is :meth:`total`.
        """
        m = self.medium
        ap, st = channel_vector(m.albedo_prime), channel_vector(m.sigma_tr)
        zr = channel_vector(m.mfp)
        zv = zr + 4.0 * A(self.eta) * channel_vector(m.D)

        def part(z):
            d = np.sqrt(r * r + z * z)
            return z * np.exp(-st * d) / d

        return 0.5 * ap * (part(zr) + part(zv))

    def radius(self, tail: float = 1e-3) -> float:
        """Smallest radius [mm] beyond which less than ``tail`` of every channel's total remains."""
        if not 0 < tail < 1:
            raise ValueError(f"tail must be in (0, 1); got {tail!r}")
        total = self.total()
        lo, hi = 0.0, float(np.max(channel_vector(self.medium.mfp)))
        while np.any(self.tail(hi) >= tail * total):
            lo, hi = hi, 2.0 * hi
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.any(self.tail(mid) >= tail * total) else (lo, mid)
            if hi - lo < 1e-12 * hi:
                break
        return hi


@dataclass(frozen=True, eq=False)
class TabulatedProfile:
    """A profile read from a :class:`bssrdf.export.table.ProfileTable`: the multipole of a slab
    (Donner & Jensen 2005), a layered stack (:func:`bssrdf.export.table.layered_table`), the dipole,
    or a Monte Carlo profile written in the same format.

    Parameters
    ----------
    table : ProfileTable
        Lengths in mm (``scale`` 1), profiles in mm⁻² per unit power entering.
    quantity : {"R", "T"}, default "R"
        What :meth:`R` returns: the reflectance profile R(r), or the transmittance profile T(r) of a
        slab or finite stack (light entering one face and leaving the other, r measured along the
        slab). ``profile.transmission`` is the same table viewed as T.

    Notes
    -----
    R(r) is the table's linear interpolation (within ~1e-4 of the model, see
    :mod:`bssrdf.export.table`), 0 beyond its ``r_max``; :meth:`total` and :meth:`tail` come from the
    table's CDF, so a tail below the table's own (``TAIL_FRACTION`` = 1e-4) truncates at ``r_max``.
    η is the top layer's index over ``n_above``, the boundary the renderer's Fresnel terms use.
    """

    table: object
    quantity: str = "R"

    def __post_init__(self) -> None:
        from ..export.table import ProfileTable

        if not isinstance(self.table, ProfileTable):
            raise TypeError("table must be a bssrdf.export.table.ProfileTable; "
                            f"got {type(self.table).__name__}")
        if self.table.scale != 1.0:
            raise ValueError(f"table must be in mm (scale 1); got scale {self.table.scale!r}")
        if self.quantity not in self.table.quantities:
            raise ValueError(f"quantity must be one of {self.table.quantities}; got {self.quantity!r}")

    @property
    def eta(self) -> np.ndarray:
        """Relative index n_medium/n_above of the lit boundary per channel, shape (C,)."""
        eta = channel_vector(self.table.eta) / channel_vector(self.table.n_above)
        return eta * np.ones(self.n_channels)

    @property
    def n_channels(self) -> int:
        return self.table.n_channels

    @property
    def has_transmission(self) -> bool:
        """True for a slab or a finite stack (the table has T(r))."""
        return self.table.T is not None

    @property
    def transmission(self) -> TabulatedProfile:
        """The same table, T(r): light leaving the face opposite the one it entered."""
        if not self.has_transmission:
            raise ValueError("this profile has no transmittance: a semi-infinite medium or stack")
        return TabulatedProfile(self.table, "T")

    def _arrays(self):
        t = self.table
        if self.quantity == "R":
            return t.R, t.cdf_R, t.total_R
        return t.T, t.cdf_T, t.total_T

    def R(self, r):
        """The profile (R or T, see ``quantity``) [mm⁻²] at radii (N,) [mm] → (N, C); a CuPy array of
        radii is interpolated on the GPU (same dtype)."""
        xp = _backend.array_module(r)
        if xp is np:
            return self.table.evaluate(np.asarray(r, dtype=np.float64), self.quantity)
        values = self._arrays()[0]
        grid = xp.asarray(self.table.r, dtype=r.dtype)
        cols = [xp.interp(r, grid, xp.asarray(values[:, c], dtype=r.dtype), right=0.0)
                for c in range(self.n_channels)]
        return xp.stack(cols, axis=1)

    def total(self) -> np.ndarray:
        """∫₀^{r_max} 2πr R dr of the table, shape (C,)."""
        return np.asarray(self._arrays()[2], dtype=np.float64)

    def tail(self, r) -> np.ndarray:
        """∫_r^{r_max} 2πs R(s) ds [dimensionless] at radius ``r`` [mm], shape (C,)."""
        _, cdf, total = self._arrays()
        frac = np.array([np.interp(float(r), self.table.r, cdf[:, c]) for c in range(self.n_channels)])
        return (1.0 - frac) * total

    def radius(self, tail: float = 1e-3) -> float:
        """Smallest grid radius [mm] beyond which less than ``tail`` of every channel's total remains
        (at most the table's r_max)."""
        if not 0 < tail < 1:
            raise ValueError(f"tail must be in (0, 1); got {tail!r}")
        _, cdf, _ = self._arrays()
        remaining = np.max(1.0 - cdf, axis=1)
        inside = np.flatnonzero(remaining >= tail)
        i = min(int(inside[-1]) + 1, self.table.n_r - 1) if inside.size else 0
        return float(self.table.r[i])


Profile = DipoleProfile | TabulatedProfile
"""What pass 2 sums: R(r) [mm⁻²], ``total``, ``tail``, ``radius``, ``eta``, ``n_channels``."""


@dataclass(frozen=True)
class LambertianBRDF:
    """A Lambertian surface f = ρ/π of albedo ``albedo`` (scalar or per channel); ``eta`` (optional,
    scalar or per channel) is the relative index a :class:`~bssrdf.render.Specular` term uses."""

    albedo: float | tuple
    eta: float | tuple | None = None

    @property
    def rho(self) -> np.ndarray:
        return np.atleast_1d(np.asarray(self.albedo, dtype=np.float64))

    @classmethod
    def matching(cls, profile: DipoleProfile | TabulatedProfile) -> LambertianBRDF:
        """The Lambertian surface that reflects what the BSSRDF does under normal incidence.

        ρ = F_t(η, 1) T_h(η) R_tot, with T_h = :func:`hemispherical_transmittance` and R_tot the
        profile's total: a large flat slab lit along its normal has the same radiosity with
        either (the BSSRDF's angular distribution differs: F_t(η, cos θ_o) cos θ_o, not cos θ_o).
        """
        ft = F_t(1.0, profile.eta)
        return cls(tuple(ft * hemispherical_transmittance(profile.eta) * profile.total()),
                   eta=tuple(profile.eta.tolist()))

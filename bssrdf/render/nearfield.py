"""The near-field (local) term of pass 2: a profile split at a radius r_s.

Pass 2 is a quadrature, M(x_o) = Σ_i R(|x_o − x_i|) E_t,i A_i. When R is narrower than the sample
spacing h = √A_i (a thin, strongly scattering top layer: a peak ~0.1 mm wide), the few samples within
its width make the sum noisy and patterned (a moiré of the sample lattice). The standard fix splits

    R = R·[r < r_s] + R·[r ≥ r_s],
    M(x_o) ≈ Σ_i R_far(|x_o − x_i|) E_t,i A_i + E_t(x_o) ∫₀^{r_s} 2πr R(r) dr,

the far part summed over the samples as before, the near part integrated analytically with the
transmitted irradiance E_t(x_o) evaluated at the shading point itself (the same
:func:`~bssrdf.render.pipeline.incident_irradiance`, Fresnel and shadow ray, as pass 1).

Assumptions: E_t is smooth over r_s (near a shadow edge the near part is not blurred: the edge is
sharper than it should be over ~r_s) and the surface is flat over r_s (r_s ≪ its curvature radius). On a
sphere with chord distances the flat-disc integral is exact: the cap within chord c has area πc²
(Archimedes), so ∫ R(chord) dA over it is ∫₀^c 2πr R(r) dr.

The split is a table: :func:`split_profile` turns the profile into a
:class:`~bssrdf.render.TabulatedProfile` whose R is 0 at the grid radii below r_cut (the first grid radius
≥ r_s) — linear in r on the grid interval below r_cut, as every table is — and computes the near
integral P_near = ∫₀^{r_cut} 2πr [R(r) − R_far(r)] dr from the same piecewise-linear interpolant in
closed form, so far + near carry exactly the energy of the interpolated profile. A
:class:`~bssrdf.render.DipoleProfile` is tabulated first (:func:`bssrdf.export.table.profile_table`,
within ~1e-4 of the closed form). Every backend (NumPy, compiled CPU, the GPU kernel) sums the far table
as any other table: nothing in the compiled code changes.

Slabs: the split applies to R only; a slab's T(r_∥) (``profile.transmission``) is summed as before (it
is as wide as the slab is thick). A profile without T on a :class:`~bssrdf.render.Slab` (the dipole sums
the back face's samples with R at distance ≥ d) needs r_s below the slab's thickness.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .materials import DipoleProfile, TabulatedProfile

__all__ = ["AUTO_FACTOR", "FarProfile", "split_profile", "near_radius"]

AUTO_FACTOR = 4.0
"""``near_field="auto"``: r_s = AUTO_FACTOR × h, h = √(mean sample area) [mm] (measured, STATUS.md)."""


@dataclass(frozen=True, eq=False)
class FarProfile(TabulatedProfile):
    """The far part R·[r ≥ r_cut] of a split profile (a table, :func:`split_profile`); ``near`` (C,) is
    the near part's integral and ``r_cut`` [mm] the split radius. :meth:`total` and :meth:`tail` are the
    far part's; :meth:`radius` truncates where less than ``tail`` of the *whole* profile's total remains,
    so the truncation radius is the unsplit table's (once beyond r_cut)."""

    near: np.ndarray | None = None
    r_cut: float = 0.0

    def radius(self, tail: float = 1e-3) -> float:
        if self.quantity != "R" or self.near is None:
            return super().radius(tail)
        if not 0 < tail < 1:
            raise ValueError(f"tail must be in (0, 1); got {tail!r}")
        total = np.asarray(self.table.total_R, dtype=np.float64)
        remaining = np.max((1.0 - self.table.cdf_R) * total / (total + self.near), axis=1)
        inside = np.flatnonzero(remaining >= tail)
        i = min(int(inside[-1]) + 1, self.table.n_r - 1) if inside.size else 0
        return float(self.table.r[i])


def _as_table(profile) -> TabulatedProfile:
    if isinstance(profile, TabulatedProfile):
        return profile
    if isinstance(profile, DipoleProfile):
        from ..export.table import profile_table

        backend = "numpy" if profile.backend == "numpy" else "auto"
        return TabulatedProfile(profile_table(profile.medium, n_above=profile.n_outside, backend=backend))
    raise TypeError(f"profile must be a DipoleProfile or TabulatedProfile; got {type(profile).__name__}")


def _ring_moments(a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """∫_a^b 2πr f(r) dr for f linear from fa at a to fb at b, per interval (K,) and channel → (K, C)."""
    a, b = a[:, None], b[:, None]
    return np.pi * (b - a) / 3.0 * (fa * (2.0 * a + b) + fb * (a + 2.0 * b))


def split_profile(profile, r_s: float, tail: float = 1e-3):
    """The far part of ``profile`` as a table whose R is 0 below r_cut, and the near part's integral.

    Parameters
    ----------
    profile : DipoleProfile or TabulatedProfile
        The profile R(r) [mm⁻²] (a dipole is tabulated first; see the module notes).
    r_s : float
        Split radius [mm], > 0 and at most the profile's truncation radius ``profile.radius(tail)``.
    tail : float, default 1e-3
        The truncation of pass 2 (see :func:`~bssrdf.render.render`), which bounds ``r_s``.

    Returns
    -------
    far : FarProfile
        A TabulatedProfile: R_far, the table's values set to 0 at grid radii below r_cut (r_cut the
        first grid radius ≥ ``r_s``); total, CDF and sampling arrays redone for it; T (a slab's) unchanged.
    near : ndarray, shape (C,)
        P_near = ∫₀^{r_cut} 2πr (R − R_far) dr of the linear interpolants (dimensionless), so that
        ``far`` summed plus ``near`` is exactly the interpolated profile's total.
    r_cut : float
        The split radius used [mm] (a grid radius, ≥ ``r_s``).

    Raises
    ------
    ValueError
        ``r_s`` not a finite number > 0, or larger than the truncation radius.
    """
    try:
        r_s = float(r_s)
    except (TypeError, ValueError):
        raise ValueError(f"near_field must be None, 'auto' or a radius > 0 [mm]; got {r_s!r}") from None
    if not (np.isfinite(r_s) and r_s > 0):
        raise ValueError(f"near_field must be None, 'auto' or a radius > 0 [mm]; got {r_s!r}")
    radius = profile.radius(tail)
    if r_s > radius:
        raise ValueError(f"near_field radius {r_s!r} mm exceeds the profile's truncation radius "
                         f"{radius:.6g} mm (tail {tail:g})")
    table = _as_table(profile).table
    r, R = table.r, table.R
    k = int(np.searchsorted(r, r_s))          # r[k-1] < r_s <= r[k]
    k = min(max(k, 1), r.size - 1)
    r_cut = float(r[k])
    near_vals = np.zeros_like(R)
    near_vals[:k] = R[:k]
    near = _ring_moments(r[:k], r[1:k + 1], near_vals[:k], near_vals[1:k + 1]).sum(axis=0)
    far_R = R.copy()
    far_R[:k] = 0.0
    # the grid interval below r_cut, where R_far rises linearly from 0 to R(r_cut)
    ramp = _ring_moments(r[k - 1:k], r[k:k + 1], far_R[k - 1:k], far_R[k:k + 1])[0]
    total = np.asarray(table.total_R, dtype=np.float64)
    mass = np.zeros_like(table.cdf_R)
    mass[k:] = ramp + (table.cdf_R[k:] - table.cdf_R[k]) * total
    far_total = mass[-1].copy()
    if not np.all(far_total > 0):
        raise ValueError(f"near_field radius {r_s!r} mm leaves nothing of the profile to sum")
    cdf = mass / far_total
    cdf[-1] = 1.0
    far = replace(table, R=far_R, cdf_R=cdf, total_R=far_total,
                  grid={**table.grid, "near_field_cut_mm": r_cut})
    far = replace(far, icdf_R=far.sample_radius(far.u, "R"))
    return FarProfile(far, "R", near, r_cut), near, r_cut


def near_radius(near_field, mean_area: float, profile, tail: float = 1e-3) -> float | None:
    """The split radius [mm] for ``render``'s ``near_field``: None → None; a number → itself (checked by
    :func:`split_profile`); "auto" → :data:`AUTO_FACTOR` × √``mean_area`` (the mean sample area [mm²]),
    at most the truncation radius ``profile.radius(tail)``."""
    if near_field is None:
        return None
    if isinstance(near_field, str):
        if near_field != "auto":
            raise ValueError(f"near_field must be None, 'auto' or a radius > 0 [mm]; got {near_field!r}")
        return float(min(AUTO_FACTOR * np.sqrt(mean_area), profile.radius(tail)))
    if isinstance(near_field, bool):
        raise ValueError(f"near_field must be None, 'auto' or a radius > 0 [mm]; got {near_field!r}")
    return near_field

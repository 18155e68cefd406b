"""The near-field (local) term of pass 2: a profile split at a radius r_s.

Pass 2 is a quadrature, M(x_o) = Σ_i R(|x_o − x_i|) E_t,i A_i. When R is narrower than the sample
spacing h = √A_i (a thin, strongly scattering top layer: a peak ~0.1 mm wide), the few samples within
its width make the sum noisy and patterned (a moiré of the sample lattice). The standard fix splits the
profile into a near and a far part,

    R = R·(1 − w) + R·w,      w(r) = 0 at r = 0, 1 for r ≥ r_s,
    M(x_o) ≈ Σ_i R(|x_o − x_i|) w(|x_o − x_i|) E_t,i A_i + E_t(x_o) ∫₀^{r_s} 2πr R(r) (1 − w(r)) dr,

the far part summed over the samples as before, the near part integrated analytically with the
transmitted irradiance E_t(x_o) evaluated at the shading point itself (the same
:func:`~bssrdf.render.pipeline.incident_irradiance`, Fresnel and shadow ray, as pass 1) [W mm⁻²].

The weight w is smooth (:func:`far_weight`, the quintic smoothstep of r/r_s), not the step [r ≥ r_s]: a
far part with a jump of height R(r_s) at r_s is itself a poor quadrature on a lattice of spacing h (its
error goes with the jump, not with R's width). Measured on figure d07's sphere with the dermis dipole at
1e5 samples: a hard cut at r_s = 0.05 mm gave 0.75 / 1.6 / 2.4 % RMS, at 4h = 0.36 mm 0.55 / 0.75 / 0.71 %;
the smooth split 0.02 / 0.03 / 0.04 % (STATUS.md).

Assumptions: E_t is smooth over r_s (near a shadow edge or the terminator the near part is not blurred:
the edge is sharper than it should be over ~r_s) and the surface is flat over r_s (r_s ≪ its curvature
radius). On a sphere with chord distances the flat-disc integral is exact: the cap within chord c has area
πc² (Archimedes), so ∫ R(chord) dA over it is ∫₀^c 2πr R(r) dr.

The split is a table: :func:`split_profile` turns the profile into a :class:`FarProfile` (a
:class:`~bssrdf.render.TabulatedProfile`) whose values at the grid radii are R(r_i) w(r_i), linear in r
between them as in every table, and computes the near integral P_near = ∫₀^{r_s} 2πr [R − R_far] dr from
the same piecewise-linear interpolant in closed form, so far + near carry exactly the energy of the
interpolated profile. A :class:`~bssrdf.render.DipoleProfile` is tabulated first
(:func:`bssrdf.export.table.profile_table`, within ~1e-4 of the closed form). Every backend (NumPy, the
compiled CPU sums, the GPU kernel) sums the far table as any other table: no compiled code changes.

Slabs: the split applies to R only; a slab's T(r_∥) (``profile.transmission``) is summed as before (it
is as wide as the slab is thick). A profile without T on a :class:`~bssrdf.render.Slab` (the dipole sums
the back face's samples with R at distance ≥ d) needs r_s below the slab's thickness (ValueError).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .materials import DipoleProfile, TabulatedProfile

__all__ = ["AUTO_FACTOR", "FarProfile", "far_weight", "split_profile", "near_radius"]

AUTO_FACTOR = 4.0
"""``near_field="auto"``: r_s = AUTO_FACTOR × h, h = √(mean sample area) [mm]. Chosen on figure d07's
sphere (Fibonacci lattice) among 1.5, 2, 3, 4: 4 is best or near it for the layered stack at 1e4–1e5
samples and within 0.1 % of the best for the dipole (STATUS.md, "Near field")."""


@dataclass(frozen=True, eq=False)
class FarProfile(TabulatedProfile):
    """The far part R·w(r) of a split profile (a table, :func:`split_profile`); ``near`` (C,) is the near
    part's integral and ``r_cut`` [mm] the split radius r_s. :meth:`total` and :meth:`tail` are the
    far part's; :meth:`radius` truncates where less than ``tail`` of the *whole* profile's total remains,
    so the truncation radius is the unsplit table's (once beyond r_s)."""

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
    """The far part of ``profile`` as a table, R·w(r), and the near part's integral.

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
        A TabulatedProfile: R_far, the table's values times w(r) = :func:`far_weight` (0 at r = 0, 1 from
        ``r_s`` on); total, CDF and sampling arrays redone for it; T (a slab's) unchanged.
    near : ndarray, shape (C,)
        P_near = ∫₀^{r_s} 2πr (R − R_far) dr of the linear interpolants (dimensionless), so that
        ``far`` summed plus ``near`` is exactly the interpolated profile's total.
    r_s : float
        The split radius [mm].

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
    k = min(int(np.searchsorted(r, r_s)), r.size - 1)     # r[k-1] < r_s <= r[k]: w(r_i) = 1 from i = k on
    w = far_weight(r[:k + 1], r_s)[:, None]
    far_R = R.copy()
    far_R[:k] *= w[:k]
    near_vals = R[:k + 1] * (1.0 - w)
    near = _ring_moments(r[:k], r[1:k + 1], near_vals[:k], near_vals[1:]).sum(axis=0)
    # the far part's mass up to r[k] from its interpolant (as the near part's), beyond from the CDF
    ramp = _ring_moments(r[:k], r[1:k + 1], far_R[:k], far_R[1:k + 1]).sum(axis=0)
    total = np.asarray(table.total_R, dtype=np.float64)
    mass = np.zeros_like(table.cdf_R)
    mass[k:] = ramp + (table.cdf_R[k:] - table.cdf_R[k]) * total
    far_total = mass[-1].copy()
    if not np.all(far_total > 0):
        raise ValueError(f"near_field radius {r_s!r} mm leaves nothing of the profile to sum")
    inner = np.cumsum(_ring_moments(r[:k], r[1:k + 1], far_R[:k], far_R[1:k + 1]), axis=0)
    mass[1:k + 1] = inner
    cdf = mass / far_total
    cdf[-1] = 1.0
    far = replace(table, R=far_R, cdf_R=cdf, total_R=far_total, grid={**table.grid, "near_field_mm": r_s})
    far = replace(far, icdf_R=far.sample_radius(far.u, "R"))
    return FarProfile(far, "R", near, r_s), near, r_s


def far_weight(r, r_s: float) -> np.ndarray:
    """The far part's share w(r) of the profile: the quintic smoothstep 6t⁵ − 15t⁴ + 10t³ of t = r/r_s
    clipped to [0, 1] (0 at r = 0, 1 from r_s on, C² in between)."""
    t = np.clip(np.asarray(r, dtype=np.float64) / r_s, 0.0, 1.0)
    return t * t * t * (10.0 + t * (-15.0 + 6.0 * t))


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

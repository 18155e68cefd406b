"""Tabulated radial profiles for renderers: R(r) (and T(r) of slabs and stacks) with their sampling CDFs.

A :class:`ProfileTable` holds, per channel, the diffuse reflectance profile R(r) [mm⁻²] of a
semi-infinite medium (the dipole, :mod:`bssrdf.profiles.dipole`), of a slab (the multipole,
:mod:`bssrdf.profiles.multipole`, which adds T(r)) or of a stack of layers (:func:`layered_table`,
:mod:`bssrdf.profiles.layered`; T(r) too when the stack is finite) on a radius grid chosen for
the profile, with the cumulative distribution of the radial density p(r) = 2πr R(r) / ∫2πr R and
its inverse, for importance sampling. :func:`write_table` stores it as HDF5 or CSV with units and
provenance; :func:`read_table` reads either back; ``cuda/include/bssrdf/table.h`` evaluates and
samples the same table in C++/CUDA with the same arithmetic (see ``cuda/README.md``).

Radius grid
    The profiles are flat for r below the source depth z₀ (ℓ = 1/σ't, clamped to d/2 in thin
    slabs), fall like a power of r between z₀ and the diffusion length, and decay exponentially
    beyond, like e^{−κr} with κ = σtr (dipole) or κ₁ = sqrt(σtr² + (π/L)²) (slab). The grid is
    uniform in the stretched variable

        x(r) = ln(1 + r/r₀) + κ r / 2,      r₀ = min z₀ / 2,  κ = max κ over channels,

    i.e. spacing ≈ r₀ Δx near the beam, geometric (ratio e^{Δx}) in the power-law range and
    2Δx/κ in the exponential tail, which keeps the relative error of linear interpolation about
    uniform (≈ 1.5 Δx² for an r⁻³ fall-off, Δx²/2 for e^{−κr}). It runs from r = 0 to r_max, the
    radius beyond which the remaining integral ∫_{r_max}^∞ 2πr R dr is below ``TAIL_FRACTION``
    = 1e-4 of the total (for every channel, and for T too in a slab). The tail is known in closed
    form: each dipole source S(z) has ∫_r^∞ 2πs S(z) ds = 2π z e^{−σtr δ}/δ, δ = sqrt(r² + z²),
    and each slab mode K₀(κ_n r) has ∫_r^∞ 2πs K₀(κ_n s) ds = 2π r K₁(κ_n r)/κ_n; r_max is found
    by bisection on it. By default Δx = ``DEFAULT_STEP`` = 0.01 and n_r = ceil(x(r_max)/Δx) + 1
    (at least 64): 1216 radii to r_max = 50.8 mm for marble (Jensen 2001, RGB), 2536 to 28.5 mm
    for skin1 (the channels share one grid: r_max from the slowest decay, spacing from the fastest).

Interpolation and sampling (exactly what ``table.h`` does)
    * R(r), T(r): linear in r between grid points; 0 beyond r_max (the table's support).
    * CDF: ``cdf_R[i]`` = ∫₀^{r_i} 2πs R(s) ds / ``total_R``, the integral of the *exact* profile
      over each grid interval by 8-point Gauss–Legendre quadrature (negative values, which the
      multipole can produce in thin slabs under strong index mismatch, count as zero);
      ``total_R`` = ∫₀^{r_max} 2πr R dr (the table's albedo; within 1e-4 of the closed-form total).
    * Sampling a radius from u ∈ [0, 1]: the interval i with cdf[i] ≤ u < cdf[i+1] by binary search,
      then linear interpolation of r in the CDF. The sampled radii have the piecewise-constant
      radial density ``pdf(r)`` = (cdf[i+1] − cdf[i]) / (r_{i+1} − r_i) [mm⁻¹], which is what a
      renderer must use as the pdf of the sample (divide by 2πr for the pdf per unit area); each
      interval holds the exact probability mass of 2πr R(r).
    * ``icdf_R[j]`` = the sampled radius for u_j = j/(n_u − 1), a uniform grid (n_u = n_r), for
      renderers that prefer a lookup without search.

Measured accuracy (default grid; ``tests/test_export_table.py`` asserts these bounds)
    * Interpolated R(r) against the exact profile at the midpoints of the grid intervals (the
      worst case of linear interpolation), where R > 1e-6 R(0), largest relative error per
      channel: marble (dipole) 7.9e-5, 8.7e-5, 9.5e-5; skin1 (dipole) 1.2e-5, 2.5e-5, 5.3e-5;
      1 mm of marble (multipole) R ≤ 5.7e-5, T ≤ 4.0e-5. An r⁻³ profile (σa = 0) gives 1.5e-4.
    * ∫2πr R dr of the interpolated table against the closed-form total
      (:func:`bssrdf.profiles.dipole.total_R_d`, :func:`~bssrdf.profiles.multipole.total_R`,
      :func:`~bssrdf.profiles.multipole.total_T`): within 1.0e-4 relative (marble, skin1, slabs),
      mostly the truncation at r_max.
    * ``total_R`` (and the CDF at every radius) against the closed-form partial integral of the
      dipole: 1e-11 absolute; slab CDFs against Simpson's rule on a fine grid: 5e-8.
    * The sampler's CDF against the exact CDF of 2πr R_d on [0, r_max] (stratified u, marble red):
      largest deviation 3.7e-6.

Layered stacks (:func:`layered_table`)
    R(r) and, when the last layer is finite, T(r) of a stack (Donner & Jensen 2005), per unit
    power entering the top layer, on the same kind of grid, from the same table format:

    * r₀ = ½ min over layers and channels of the source depth min(1/σ't, d/2). The near-beam core
      is no wider than the shallowest source of any layer; deeper layers' sources lie below the
      top one's and only blur, so the minimum over all layers is conservative, at a cost of
      ln(ratio)/Δx radii.
    * κ = max over layers and channels of each layer's own slowest decay constant: σtr for a
      semi-infinite base, κ₁ = sqrt(σtr² + (π/L)²) for a layer of thickness d, L = d + z_b(top)
      + z_b(bottom), z_b = 2AD from F_dr of each face with its neighbours' indices and roughness.
      Light spreading in a layer decays there at least as fast as e^{−κ₁r} (its higher modes, as
      in the multipole, matter only near the beam, where the ln term of x already spaces finely),
      while the stack's far field decays at the slowest rate (≤ min σtr): so the fastest layer
      rate sets the spacing wherever it still matters, as the fastest channel does above. For one
      layer these are exactly the dipole's and the multipole's r₀ and κ: a one-layer stack gets
      the single medium's grid. Smaller choices failed the 1e-4 target during development: the
      largest σtr with the whole stack's π/L, or the far-field rate alone, gave 1.5e-4 to 4.5e-4
      at r ≈ 0.1–0.3 mm in stacks with 0.05–0.1 mm top layers, where this choice gave ≤ 9.1e-5.
      The price: a thin, strongly scattering layer over a slowly decaying base makes a long grid
      (50 µm of σs = 100 mm⁻¹ over marble: κ = 42 mm⁻¹, 105 k radii to r_max = 49 mm); ``n_r`` or a
      larger ``step`` trades accuracy for size.
    * r_max: where |total − cumulative| of every channel (R, and T of a finite stack) stays below
      ``TAIL_FRACTION`` of the exact total R̂(0) (T̂(0)), with
      :func:`bssrdf.profiles.layered.cumulative_R` (``cumulative_T``; ~1e-10 of the total) on a
      geometric sweep of radii refined linearly (no closed-form tail is needed).
    * CDFs from the exact interval masses: differences of ``cumulative_R`` at the grid radii
      (negative differences, possible with index mismatch, count as zero), not quadrature.
    * Provenance: ``model`` = :data:`LAYERED_MODEL`, ``layers`` (each layer's σa, σs, g, η,
      thickness, roughness), ``n_above``, ``n_below``, ``roughness_below``; ``sigma_a`` … ``eta``
      are the top layer's, ``thickness`` the stack's total (None on a semi-infinite base).

    Measured (``tests/test_export_table.py`` asserts these bounds): a one-layer stack (marble,
    1 mm with n_below = 1.5, and semi-infinite) has the multipole's and the dipole's grid, with R
    and T equal to their tables' within 5e-7 relative (where R > 1e-6 R(0)), CDFs within 2e-10
    and totals within 5e-10. Three layers (0.5 mm, 1 mm with a rough top, 3 mm; n_below = 1.33,
    rough bottom; 3961 radii): interpolated R at the interval midpoints within 4.2e-5 of
    :func:`bssrdf.profiles.layered.R` (T 2.9e-6); ∫2πr R dr of the table within 1.5e-5 of
    :func:`~bssrdf.profiles.layered.total_R` (T 1.0e-4: the truncation); CDF × total within
    6.5e-10 × total of the cumulative Gauss–Legendre quadrature of the profile; the sampler's CDF
    within 3.9e-6 of ``cumulative_R(r)/cumulative_R(r_max)`` (T 2.1e-7). These are the table's
    errors against the model; the model's own (diffusion) against the Monte Carlo tracer is in
    :mod:`bssrdf.profiles.layered`.

Units and scale
    Lengths in mm and profiles in mm⁻² by default. ``scale`` = scene units per mm (0.1 for a scene
    in cm, 0.001 in metres): radii multiply by ``scale`` and R, T (per unit area) divide by
    ``scale²``, so that ∫2πr R dr, the CDFs and the totals are unchanged. The material parameters
    in the provenance stay in mm⁻¹; ``r0``, ``r_max`` and ``kappa`` of ``grid`` stay in mm, mm⁻¹.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.special import k1

from .._io import atomic_write
from .._validate import positive_scalar
from ..medium import Layer, Medium
from ..profiles import dipole, layered, multipole
from ..profiles._common import channel_vector, check_medium, relative_eta

__all__ = ["ProfileTable", "profile_table", "layered_table", "write_table", "read_table", "TAIL_FRACTION",
           "DEFAULT_STEP", "FORMAT", "LAYERED_MODEL"]

TAIL_FRACTION = 1e-4
DEFAULT_STEP = 0.01
N_MIN = 64
N_MAX = 1 << 20
N_GAUSS = 8
FORMAT = "bssrdf profile table 1"
LAYERED_MODEL = "layered (Donner & Jensen 2005)"

_SUFFIXES = {".h5": "hdf5", ".hdf5": "hdf5", ".csv": "csv"}


@dataclass(frozen=True, eq=False)
class ProfileTable:
    """A tabulated radial profile with its sampling distribution (see the module notes).

    Arrays are per channel in their last axis (C channels, C = 1 for a scalar medium).

    Attributes
    ----------
    r : ndarray, shape (n_r,)
        Radius grid [mm × scale], r[0] = 0, r[-1] = r_max, increasing.
    R : ndarray, shape (n_r, C)
        Diffuse reflectance profile at ``r`` [(mm × scale)⁻²].
    cdf_R : ndarray, shape (n_r, C)
        CDF of the radial density 2πr R(r) at ``r``: 0 at r = 0, 1 at r_max.
    u : ndarray, shape (n_u,)
        Uniform grid on [0, 1] (n_u = n_r).
    icdf_R : ndarray, shape (n_u, C)
        Sampled radius for each ``u`` [mm × scale] (the inverse of ``cdf_R``).
    total_R : ndarray, shape (C,)
        ∫₀^{r_max} 2πr R(r) dr (dimensionless).
    T, cdf_T, icdf_T, total_T : ndarray or None
        The same for the transmittance profile of a slab or a finite stack; None for a
        semi-infinite medium or a stack on a semi-infinite base.
    model : str
        ``"dipole"`` (semi-infinite), ``"multipole"`` (slab) or :data:`LAYERED_MODEL` (a stack).
    sigma_a, sigma_s, g, eta : ndarray, shape (C,)
        The medium [mm⁻¹; g, η dimensionless; η the medium's refractive index]; for a stack,
        its top layer (the medium a renderer's boundary sees; the whole stack is ``layers``).
    thickness : float or None
        Slab thickness [mm] (for a stack: the sum of its layers'); None for a semi-infinite
        medium or stack.
    n_above, n_below : ndarray, shape (C,)
        Refractive indices above (lit side) and below; n_below is 1 and unused for the dipole
        (and unused, as given, for a stack on a semi-infinite base).
    layers : tuple of bssrdf.Layer or None
        The stack from the top down (each layer's medium [mm⁻¹], thickness [mm, inf for a
        semi-infinite base] and the GGX roughness α of its top interface); None for a medium.
    roughness_below : float or None
        GGX roughness α of the bottom of a stack; None for a medium.
    scale : float
        Scene units per mm of the lengths in this table (1: mm).
    version : str
        bssrdf version that computed the table.
    grid : dict
        How the grid was chosen: r0 [mm], kappa [mm⁻¹], step Δx, tail_fraction, r_max [mm].
    """

    r: np.ndarray
    R: np.ndarray
    cdf_R: np.ndarray
    u: np.ndarray
    icdf_R: np.ndarray
    total_R: np.ndarray
    model: str
    sigma_a: np.ndarray
    sigma_s: np.ndarray
    g: np.ndarray
    eta: np.ndarray
    n_above: np.ndarray
    n_below: np.ndarray
    thickness: float | None = None
    T: np.ndarray | None = None
    cdf_T: np.ndarray | None = None
    icdf_T: np.ndarray | None = None
    total_T: np.ndarray | None = None
    scale: float = 1.0
    version: str = ""
    grid: dict = field(default_factory=dict)
    layers: tuple[Layer, ...] | None = None
    roughness_below: float | None = None

    # -- shape -------------------------------------------------------------------------------
    @property
    def n_r(self) -> int:
        """Number of radii."""
        return int(self.r.size)

    @property
    def n_channels(self) -> int:
        """Number of channels C."""
        return int(self.R.shape[1])

    @property
    def r_max(self) -> float:
        """Largest radius of the table [mm × scale]; profiles are 0 beyond it."""
        return float(self.r[-1])

    @property
    def quantities(self) -> tuple[str, ...]:
        """``("R",)`` or, for a slab, ``("R", "T")``."""
        return ("R",) if self.T is None else ("R", "T")

    @property
    def medium(self) -> Medium:
        """The tabulated medium (parameters in mm⁻¹); for a stack, its top layer's medium."""
        return Medium(self.sigma_a, self.sigma_s, self.g, self.eta)

    def _arrays(self, quantity: str):
        if quantity not in self.quantities:
            raise ValueError(f"quantity must be one of {self.quantities}; got {quantity!r}")
        if quantity == "R":
            return self.R, self.cdf_R
        return self.T, self.cdf_T

    # -- evaluation (the arithmetic of table.h) ------------------------------------------------
    def evaluate(self, r, quantity: str = "R") -> np.ndarray:
        """The profile at radii ``r`` by linear interpolation; 0 beyond r_max.

        Parameters
        ----------
        r : array_like
            Radii [mm × scale], finite and ≥ 0.
        quantity : {"R", "T"}, default "R"

        Returns
        -------
        ndarray of shape ``r.shape + (C,)`` [(mm × scale)⁻²].
        """
        values, _ = self._arrays(quantity)
        x = _check_radii(r)
        i = np.clip(np.searchsorted(self.r, x, side="right") - 1, 0, self.n_r - 2)
        r0, r1 = self.r[i], self.r[i + 1]
        t = ((x - r0) / (r1 - r0))[..., None]
        v0, v1 = values[i], values[i + 1]
        out = v0 + t * (v1 - v0)
        return np.where((x > self.r_max)[..., None], 0.0, out)

    def pdf(self, r, quantity: str = "R") -> np.ndarray:
        """Radial density of :meth:`sample_radius`'s radii at ``r`` [(mm × scale)⁻¹].

        Piecewise constant: (cdf[i+1] − cdf[i]) / (r_{i+1} − r_i) on grid interval i, 0 beyond
        r_max. The density per unit area of the surface is pdf / (2πr). Shape ``r.shape + (C,)``.
        """
        _, cdf = self._arrays(quantity)
        x = _check_radii(r)
        i = np.clip(np.searchsorted(self.r, x, side="right") - 1, 0, self.n_r - 2)
        dens = (cdf[i + 1] - cdf[i]) / (self.r[i + 1] - self.r[i])[..., None]
        return np.where((x > self.r_max)[..., None], 0.0, dens)

    def sample_radius(self, u, quantity: str = "R") -> np.ndarray:
        """Radii distributed as :meth:`pdf` for uniform ``u`` in [0, 1] (inverse CDF).

        The interval i with cdf[i] ≤ u < cdf[i+1] (binary search), then
        r = r_i + (u − cdf[i]) / (cdf[i+1] − cdf[i]) (r_{i+1} − r_i). Shape ``u.shape + (C,)``,
        [mm × scale].
        """
        _, cdf = self._arrays(quantity)
        u = np.asarray(u, dtype=np.float64)
        if u.size and not np.all((u >= 0) & (u <= 1)):
            bad = u[~((u >= 0) & (u <= 1))].ravel()[0]
            raise ValueError(f"u must be in [0, 1]; got {float(bad)!r}")
        out = np.empty(u.shape + (self.n_channels,))
        for c in range(self.n_channels):
            col = cdf[:, c]
            i = np.clip(np.searchsorted(col, u, side="right") - 1, 0, self.n_r - 2)
            c0, c1 = col[i], col[i + 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(c1 > c0, np.minimum((u - c0) / (c1 - c0), 1.0), 1.0)
            out[..., c] = self.r[i] + t * (self.r[i + 1] - self.r[i])
        return out

    # -- units ---------------------------------------------------------------------------------
    def scaled(self, scale: float) -> ProfileTable:
        """The same table with lengths in ``scale`` scene units per mm (see the module notes)."""
        s = positive_scalar("scale", scale, unit="scene units per mm")
        f = s / self.scale
        if f == 1.0:
            return replace(self, scale=s)
        slab = self.T is not None
        return replace(self, r=self.r * f, R=self.R / f**2, icdf_R=self.icdf_R * f,
                       T=self.T / f**2 if slab else None, icdf_T=self.icdf_T * f if slab else None,
                       scale=s)


def _check_radii(r) -> np.ndarray:
    x = np.asarray(r, dtype=np.float64)
    if x.size and not np.all(np.isfinite(x) & (x >= 0)):
        bad = x[~(np.isfinite(x) & (x >= 0))].ravel()[0]
        raise ValueError(f"r must be finite and >= 0; got {float(bad)!r}")
    return x


# -- the profile and its closed-form tail --------------------------------------------------------
class _Model:
    """The exact profile of a medium (dipole or slab) with its closed-form totals and tails."""

    def __init__(self, medium: Medium, thickness, n_above, n_below, backend: str):
        self.medium = check_medium(medium)
        self.backend = backend
        self.n_above_arg, self.n_below_arg = n_above, n_below  # as given (scalar or per channel)
        self.n_above = np.broadcast_to(channel_vector(n_above), (medium.n_channels,)).copy()
        self.n_below = np.broadcast_to(channel_vector(n_below), (medium.n_channels,)).copy()
        eta_top = channel_vector(relative_eta(medium, n_above, "n_above"))
        self.sigma_a = channel_vector(medium.sigma_a)
        self.sigma_sp = channel_vector(medium.sigma_s_prime)
        if np.any(self.sigma_sp <= 0):
            raise ValueError(f"medium.sigma_s' must be > 0 mm^-1 in every channel to tabulate a "
                             f"profile (a non-scattering medium has none); got "
                             f"{self.sigma_sp.tolist()}")
        if thickness is None or thickness == float("inf"):
            if np.any(self.n_below != 1.0):
                raise ValueError("n_below applies to slabs only (give thickness); got "
                                 f"{np.asarray(n_below).tolist()!r} for a semi-infinite medium")
            self.model, self.d = "dipole", None
            sigma_tp = self.sigma_a + self.sigma_sp
            self.alpha = self.sigma_sp / sigma_tp
            self.sigma_tr = np.sqrt(3.0 * self.sigma_a * sigma_tp)
            from ..fresnel import A
            self.z_r = 1.0 / sigma_tp
            self.z_v = self.z_r + 4.0 * A(eta_top) / (3.0 * sigma_tp)
            self.r0 = 0.5 * float(np.min(self.z_r))
            self.kappa = float(np.max(self.sigma_tr))
            self.quantities = ("R",)
        else:
            self.d = positive_scalar("thickness", thickness, unit="mm")
            eta_bottom = channel_vector(relative_eta(medium, n_below, "n_below"))
            self.model = "multipole"
            self.geo = multipole._Geometry(self.sigma_a, self.sigma_sp, eta_top, eta_bottom, self.d)
            self.kappa_1 = np.sqrt(self.geo.sigma_tr**2 + (np.pi / self.geo.L) ** 2)
            self.r0 = 0.5 * float(np.min(self.geo.z_0))
            self.kappa = float(np.max(self.kappa_1))
            self.quantities = ("R", "T")

    def profile(self, r: np.ndarray, quantity: str) -> np.ndarray:
        """Exact R(r) or T(r) [mm⁻²] at flat radii → (N, C)."""
        m, C = self.medium, self.medium.n_channels
        if self.model == "dipole":
            out = dipole.R_d(r, m, n_outside=self.n_above_arg, backend=self.backend)
        else:
            f = multipole.R if quantity == "R" else multipole.T
            out = f(r, m, self.d, n_above=self.n_above_arg, n_below=self.n_below_arg,
                    backend=self.backend)
        return np.asarray(out, dtype=np.float64).reshape(r.size, C)

    def total(self, quantity: str) -> np.ndarray:
        """Closed-form ∫2πr R dr (or T), shape (C,)."""
        m = self.medium
        if self.model == "dipole":
            return channel_vector(dipole.total_R_d(m, n_outside=self.n_above_arg))
        f = multipole.total_R if quantity == "R" else multipole.total_T
        return channel_vector(f(m, self.d, n_above=self.n_above_arg, n_below=self.n_below_arg))

    def tail(self, r: np.ndarray, quantity: str) -> np.ndarray:
        """Closed-form ∫_r^∞ 2πs R(s) ds at radii r (C,) per channel → (C,)."""
        if self.model == "dipole":
            def part(z):
                delta = np.sqrt(r * r + z * z)
                return z * np.exp(-self.sigma_tr * delta) / delta
            return 0.5 * self.alpha * (part(self.z_r) + part(self.z_v))
        g = self.geo
        zeta_0 = g.z_0 + g.z_b0
        total = np.zeros_like(r)
        n = 1
        while True:
            k = n * np.pi / g.L
            kappa = np.sqrt(g.sigma_tr**2 + k * k)
            keep = (n == 1) | (r * (kappa - self.kappa_1) <= multipole.MODAL_TAIL)
            if not np.any(keep):
                break
            face = np.cos(k * g.z_b0) if quantity == "R" else (1.0 if n % 2 else -1.0) * np.cos(k * g.z_bd)
            term = k * face * np.sin(k * zeta_0) * r * k1(kappa * r) / kappa
            total += np.where(keep, term, 0.0)
            n += 1
        return 2.0 * g.alpha_prime / g.L * total

    def masses(self, r: np.ndarray, quantity: str) -> np.ndarray:
        """∫ 2πs R(s) ds over each grid interval (Gauss–Legendre) → (n_r − 1, C)."""
        return _interval_masses(self, r, quantity)

    def r_max(self, fraction: float) -> float:
        """Smallest radius whose remaining integral is below ``fraction`` of the total, for every
        channel and quantity (geometric bisection on the closed-form tail)."""
        C = self.medium.n_channels
        r_lo_min = 1e-3 * float(np.min(self.geo.L)) if self.model == "multipole" else 0.0
        out = 0.0
        for q in self.quantities:
            target = fraction * np.abs(self.total(q))
            lo = np.full(C, max(r_lo_min, 1e-3 * self.r0))
            hi = np.full(C, self.r0 + 10.0 / max(self.kappa, 1e-300) if self.kappa > 0 else 10 * self.r0)
            for _ in range(200):  # grow hi until the tail is below target
                above = np.abs(self.tail(hi, q)) >= target
                if not np.any(above):
                    break
                hi = np.where(above, 2.0 * hi, hi)
            done = np.abs(self.tail(lo, q)) < target
            for _ in range(100):
                mid = np.sqrt(lo * hi)
                above = np.abs(self.tail(mid, q)) >= target
                lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
                if np.all(hi / lo - 1.0 < 1e-9):
                    break
            out = max(out, float(np.max(np.where(done, lo, hi))))
        return out


class _LayeredModel:
    """The profiles of a stack of layers (:mod:`bssrdf.profiles.layered`), its exact totals and its
    cumulative integrals ∫₀^r 2πs R(s) ds (module notes, "Layered stacks")."""

    model = LAYERED_MODEL

    def __init__(self, layers, n_above, n_below, roughness_below, backend: str):
        if isinstance(layers, Layer):
            layers = (layers,)
        if not isinstance(layers, Sequence) or isinstance(layers, str):
            raise ValueError(f"layers must be a sequence of bssrdf.Layer; got {type(layers).__name__}")
        self.layers = tuple(layers)
        self.backend = backend
        self.kw = {"n_above": n_above, "n_below": n_below, "roughness_below": roughness_below}
        # the layered model validates the stack, the indices and roughness_below (ValueError)
        totals = layered.transforms(0.0, self.layers, **self.kw)
        self.totals = {"R": channel_vector(totals[0]), "T": channel_vector(totals[1])}
        for i, L in enumerate(self.layers):
            ssp = channel_vector(L.medium.sigma_s_prime)
            if np.any(ssp <= 0):
                raise ValueError(f"layers[{i}].medium.sigma_s' must be > 0 mm^-1 in every channel to "
                                 f"tabulate a profile (a non-scattering layer has none); got {ssp.tolist()}")
        C = self.layers[0].medium.n_channels
        self.n_channels = C
        self.n_above = np.broadcast_to(channel_vector(n_above), (C,)).astype(np.float64)
        self.n_below = np.broadcast_to(channel_vector(n_below), (C,)).astype(np.float64)
        self.roughness_below = float(roughness_below)
        self.finite = math.isfinite(self.layers[-1].thickness)
        self.d = float(sum(L.thickness for L in self.layers)) if self.finite else None
        self.quantities = ("R", "T") if self.finite else ("R",)
        self.r0, self.kappa = self._grid_constants()

    def _face_zb(self, i: int, top: bool) -> np.ndarray:
        """Extrapolation distance z_b = 2AD [mm] of layer i's top or bottom face, per channel."""
        from ..microfacet import F_dr_rough

        L = self.layers[i]
        eta = channel_vector(L.medium.eta)
        last = i == len(self.layers) - 1
        if top:
            n_out = self.n_above if i == 0 else channel_vector(self.layers[i - 1].medium.eta)
            alpha = L.roughness
        else:
            n_out = self.n_below if last else channel_vector(self.layers[i + 1].medium.eta)
            alpha = self.roughness_below if last else self.layers[i + 1].roughness
        n_out = np.broadcast_to(n_out, eta.shape)
        F = np.array([F_dr_rough(e, alpha) for e in eta / n_out])
        return 2.0 * (1.0 + F) / (1.0 - F) / (3.0 * channel_vector(L.medium.sigma_t_prime))

    def _grid_constants(self) -> tuple[float, float]:
        """r₀ = ½ min over layers and channels of min(1/σ't, d/2) [mm]; κ = max over layers and
        channels of each layer's own slowest decay constant, σtr (semi-infinite) or
        sqrt(σtr² + (π/L)²), L = d + z_b(top) + z_b(bottom) with its neighbours' indices and
        roughness [mm⁻¹] (module notes)."""
        z0, kappa = [], []
        for i, L in enumerate(self.layers):
            st = channel_vector(L.medium.sigma_t_prime)
            tr = channel_vector(L.medium.sigma_tr)
            z0.append(np.minimum(1.0 / st, 0.5 * L.thickness))
            if math.isfinite(L.thickness):
                ell = L.thickness + self._face_zb(i, True) + self._face_zb(i, False)
                kappa.append(np.sqrt(tr**2 + (np.pi / ell) ** 2))
            else:
                kappa.append(tr)
        return 0.5 * float(np.min(z0)), float(np.max(kappa))

    def profile(self, r: np.ndarray, quantity: str) -> np.ndarray:
        """R(r) or T(r) [mm⁻²] at flat radii → (N, C)."""
        f = layered.R if quantity == "R" else layered.T
        out = f(r, self.layers, backend=self.backend, **self.kw)
        return np.asarray(out, dtype=np.float64).reshape(r.size, self.n_channels)

    def cumulative(self, r: np.ndarray, quantity: str) -> np.ndarray:
        """∫₀^r 2πs R(s) ds (or T) at flat radii → (N, C)."""
        f = layered.cumulative_R if quantity == "R" else layered.cumulative_T
        out = f(r, self.layers, backend=self.backend, **self.kw)
        return np.asarray(out, dtype=np.float64).reshape(r.size, self.n_channels)

    def total(self, quantity: str) -> np.ndarray:
        """Exact ∫2πr R dr (or T) = R̂(0), shape (C,)."""
        return self.totals[quantity]

    def masses(self, r: np.ndarray, quantity: str) -> np.ndarray:
        """∫ 2πs R(s) ds over each grid interval, from cumulative differences → (n_r − 1, C)."""
        return np.maximum(np.diff(self.cumulative(r, quantity), axis=0), 0.0)

    def r_max(self, fraction: float) -> float:
        """Smallest radius beyond which |total − cumulative| stays below ``fraction`` of |total|,
        for every channel and quantity.

        A geometric sweep (4096 radii from 1e-3 r₀ to 1e9 r₀) finds the first radius where the tail
        falls below the target and the last one above it up to 10 times further out (a profile
        with negative parts may cross the target again; farther out the transform's rounding,
        ~1e-10 of the total, grows with r and is no information); two linear refinements of that
        interval follow (relative precision ~1e-7).
        """
        out = 0.0
        for q in self.quantities:
            target = fraction * np.abs(self.total(q))

            def above(r, q=q, target=target):
                """Whether the tail at each radius is ≥ target in some channel."""
                return np.any(np.abs(self.total(q) - self.cumulative(r, q)) >= target, axis=1)

            r = np.geomspace(1e-3 * self.r0, 1e9 * self.r0, 4096)
            hit = above(r)
            below = np.flatnonzero(~hit)
            if below.size == 0:
                raise ValueError(f"the {q}(r) profile of the stack does not decay to {fraction:g} of its "
                                 f"total within {r[-1]:g} mm; give r_max")
            window = r <= 10.0 * r[below[0]]
            idx = np.flatnonzero(hit & window)
            if idx.size == 0:
                out = max(out, float(r[0]))
                continue
            lo, hi = r[idx[-1]], r[idx[-1] + 1]
            for _ in range(2):
                r = np.linspace(lo, hi, 257)
                j = np.flatnonzero(above(r))
                if j.size == 0 or j[-1] == r.size - 1:  # cannot happen for a deterministic tail
                    break
                lo, hi = r[j[-1]], r[j[-1] + 1]
            out = max(out, float(hi))
        return out


def _grid(r0: float, kappa: float, r_max: float, step: float | None, n_r: int | None) -> np.ndarray:
    """Radii uniform in x(r) = ln(1 + r/r0) + κr/2 from 0 to r_max (module notes)."""
    def x_of(r):
        return np.log1p(r / r0) + 0.5 * kappa * r

    x_max = float(x_of(r_max))
    if n_r is None:
        n_r = max(N_MIN, int(np.ceil(x_max / step)) + 1)
    x = np.linspace(0.0, x_max, n_r)
    lo, hi = np.zeros(n_r), np.full(n_r, r_max)
    for _ in range(200):  # bisection: x_of is increasing; exact to rounding
        mid = 0.5 * (lo + hi)
        below = x_of(mid) < x
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        if np.all(hi - lo <= 4e-16 * r_max):
            break
    r = 0.5 * (lo + hi)
    r[0], r[-1] = 0.0, r_max
    if np.any(np.diff(r) <= 0):
        raise ValueError(f"n_r = {n_r} is too large for r_max = {r_max:g} mm: grid radii coincide")
    return r


def _interval_masses(model: _Model, r: np.ndarray, quantity: str) -> np.ndarray:
    """∫ 2πs R(s) ds over each grid interval by Gauss–Legendre quadrature → (n_r − 1, C)."""
    nodes, weights = np.polynomial.legendre.leggauss(N_GAUSS)
    a, b = r[:-1, None], r[1:, None]
    s = 0.5 * (a + b) + 0.5 * (b - a) * nodes  # (n_r - 1, N_GAUSS)
    f = model.profile(s.ravel(), quantity).reshape(s.shape + (-1,))
    integrand = 2.0 * np.pi * s[..., None] * f
    mass = 0.5 * (b - a) * np.einsum("ikc,k->ic", integrand, weights)
    return np.maximum(mass, 0.0)


def profile_table(medium: Medium, *, thickness: float | None = None, n_above=1.0, n_below=1.0,
                  n_r: int | None = None, r_max: float | None = None, step: float = DEFAULT_STEP,
                  backend: str = "auto") -> ProfileTable:
    """Tabulate the radial profile of ``medium`` for a renderer (grid and accuracy: module notes).

    Parameters
    ----------
    medium : Medium
        The material [mm⁻¹], σ's > 0 in every channel.
    thickness : float or None, default None
        Slab thickness d [mm] (> 0): the multipole R(r) and T(r). None (or inf): the dipole R_d(r)
        of a semi-infinite medium.
    n_above, n_below : float or array_like, default 1.0
        Refractive indices above (lit side) and below the slab; for the dipole ``n_above`` is the
        outside index and ``n_below`` must stay 1.
    n_r : int or None, default None
        Number of radii (≥ 8); None chooses ceil(x(r_max)/``step``) + 1, at least 64.
    r_max : float or None, default None
        Largest radius [mm] (> 0); None: where the remaining integral of every channel's profile
        falls below ``TAIL_FRACTION`` (1e-4) of its total.
    step : float, default 0.02
        Grid step Δx in the stretched variable x(r) (used when ``n_r`` is None), in (0, 1].
    backend : {"auto", "cuda", "cpu", "numpy"}, default "auto"
        Where the exact profile is evaluated (:mod:`bssrdf.backend`).

    Returns
    -------
    ProfileTable
        Lengths in mm, profiles in mm⁻² (``scale`` 1; see :meth:`ProfileTable.scaled`).

    Raises
    ------
    ValueError
        For invalid media or arguments (the message names the parameter, value and range).
    """
    model = _Model(medium, thickness, n_above, n_below, backend)
    return _tabulate(model, medium, n_r, r_max, step)


def layered_table(layers, *, n_above=1.0, n_below=1.0, roughness_below: float = 0.0,
                  n_r: int | None = None, r_max: float | None = None, step: float = DEFAULT_STEP,
                  backend: str = "auto") -> ProfileTable:
    """Tabulate the profiles of a stack of layers for a renderer (module notes, "Layered stacks").

    R(r) of the stack (Donner & Jensen 2005, :mod:`bssrdf.profiles.layered`) and, when its last
    layer is finite, T(r), per unit power entering the top layer (multiply by
    :func:`bssrdf.profiles.layered.entry_transmittance` for per unit incident power), with their
    sampling CDFs.

    Parameters
    ----------
    layers : bssrdf.Layer or sequence of bssrdf.Layer
        From the top down: each a :class:`bssrdf.Medium` [mm⁻¹] (σ's > 0 in every channel; all
        with the same channels), a thickness [mm] (> 0; ``inf`` for the last layer only) and the
        GGX roughness α of its top interface.
    n_above, n_below : float or array_like, default 1.0
        Refractive indices above (lit side) and below the stack (scalar or one per channel);
        ``n_below`` is unused when the last layer is semi-infinite.
    roughness_below : float, default 0.0
        GGX α of the bottom interface of the stack, in [0, 1].
    n_r, r_max, step, backend
        As in :func:`profile_table`; the r_max default is found from the exact totals and
        :func:`bssrdf.profiles.layered.cumulative_R` (``cumulative_T``).

    Returns
    -------
    ProfileTable
        ``model`` = :data:`LAYERED_MODEL`; ``layers`` and ``roughness_below`` record the stack,
        ``sigma_a`` … ``eta`` its top layer, ``thickness`` its total thickness (None on a
        semi-infinite base). Lengths in mm, profiles in mm⁻².

    Raises
    ------
    ValueError
        For an invalid stack (empty, not Layers, a semi-infinite layer above another, different
        channels, σ's ≤ 0), indices, roughness or grid arguments.

    Warns
    -----
    DiffusionValidityWarning
        For layers thinner than 2/σ't (from the layered model).
    """
    model = _LayeredModel(layers, n_above, n_below, roughness_below, backend)
    return _tabulate(model, model.layers[0].medium, n_r, r_max, step)


def _tabulate(model, medium: Medium, n_r, r_max, step) -> ProfileTable:
    """Grid, profiles, CDFs and inverse CDFs of ``model`` (a _Model or _LayeredModel)."""
    if n_r is not None and (isinstance(n_r, bool) or not isinstance(n_r, (int, np.integer))
                            or not 8 <= n_r <= N_MAX):
        raise ValueError(f"n_r must be an integer in [8, {N_MAX}]; got {n_r!r}")
    step = positive_scalar("step", step)
    if step > 1.0:
        raise ValueError(f"step must be in (0, 1]; got {step!r}")
    rmax = model.r_max(TAIL_FRACTION) if r_max is None else positive_scalar("r_max", r_max, unit="mm")
    r = _grid(model.r0, model.kappa, rmax, step, None if n_r is None else int(n_r))
    u = np.linspace(0.0, 1.0, r.size)
    out = {}
    for q in model.quantities:
        values = model.profile(r, q)
        mass = model.masses(r, q)
        total = mass.sum(axis=0)
        if np.any(total <= 0):
            raise ValueError(f"the {q}(r) profile has no positive mass within r_max = {rmax:g} mm; "
                             "nothing to sample")
        cdf = np.vstack([np.zeros((1, mass.shape[1])), np.cumsum(mass, axis=0) / total])
        cdf[-1] = 1.0
        out[q] = (values, cdf, total)
    C = medium.n_channels
    stack = isinstance(model, _LayeredModel)
    from .. import __version__
    table = ProfileTable(
        r=r, R=out["R"][0], cdf_R=out["R"][1], u=u, icdf_R=np.zeros((u.size, C)),
        total_R=out["R"][2], model=model.model,
        sigma_a=channel_vector(medium.sigma_a).copy(), sigma_s=channel_vector(medium.sigma_s).copy(),
        g=channel_vector(medium.g).copy(), eta=channel_vector(medium.eta).copy(),
        n_above=model.n_above, n_below=model.n_below, thickness=model.d,
        T=out["T"][0] if "T" in out else None, cdf_T=out["T"][1] if "T" in out else None,
        total_T=out["T"][2] if "T" in out else None, scale=1.0, version=__version__,
        grid={"r0": model.r0, "kappa": model.kappa, "step": step, "tail_fraction": TAIL_FRACTION,
              "r_max": rmax, "interpolation": "linear in r"},
        layers=model.layers if stack else None,
        roughness_below=model.roughness_below if stack else None,
    )
    icdf_T = table.sample_radius(u, "T") if table.T is not None else None
    return replace(table, icdf_R=table.sample_radius(u, "R"), icdf_T=icdf_T)


# -- files -----------------------------------------------------------------------------------------
_UNITS = {"r": "length", "R": "length^-2", "T": "length^-2", "cdf_R": "1", "cdf_T": "1", "u": "1",
          "icdf_R": "length", "icdf_T": "length", "total_R": "1", "total_T": "1"}
_DESCRIPTIONS = {
    "r": "radius grid (0 to r_max)",
    "R": "diffuse reflectance profile R(r) per channel, per unit incident power",
    "T": "diffuse transmittance profile T(r) per channel (slab), per unit incident power",
    "cdf_R": "CDF of the radial density 2 pi r R(r) at r (linear interpolation between radii)",
    "cdf_T": "CDF of the radial density 2 pi r T(r) at r",
    "u": "uniform grid on [0, 1] for the inverse CDF",
    "icdf_R": "radius sampled from R for each u (inverse of cdf_R)",
    "icdf_T": "radius sampled from T for each u (inverse of cdf_T)",
    "total_R": "integral of 2 pi r R(r) over [0, r_max]",
    "total_T": "integral of 2 pi r T(r) over [0, r_max]",
}
_COLUMN_ARRAYS = ("r", "R", "T", "cdf_R", "cdf_T", "u", "icdf_R", "icdf_T")
_PER_CHANNEL = ("sigma_a", "sigma_s", "g", "eta", "n_above", "n_below", "total_R", "total_T")
_JSON_ATTRS = ("grid", "layers")  # HDF5 attributes stored as JSON text


def _unit_text(kind: str, scale: float) -> str:
    length = "mm" if scale == 1.0 else f"scene unit (= mm * {scale!r})"
    return {"length": length, "length^-2": f"{length}^-2", "1": "1"}[kind]


def _provenance(t: ProfileTable) -> dict:
    meta = {"format": FORMAT, "model": t.model, "bssrdf_version": t.version, "scale": t.scale,
            "length_unit": _unit_text("length", t.scale),
            "units": (f"r, icdf: {_unit_text('length', t.scale)}; R, T: "
                      f"{_unit_text('length^-2', t.scale)}; cdf, u, totals: 1; sigma_a, sigma_s: "
                      "mm^-1; thickness, grid r0 and r_max: mm; grid kappa: mm^-1"),
            "interpolation": "R, T linear in r, 0 beyond r_max; sampling: binary search in cdf, "
                             "linear in r between radii",
            "thickness": t.thickness}
    for k in _PER_CHANNEL:
        v = getattr(t, k)
        if v is not None:
            meta[k] = np.asarray(v, dtype=np.float64).tolist()
    meta["grid"] = dict(t.grid)
    if t.layers is not None:
        meta["units"] += "; layers: sigma_a, sigma_s mm^-1, thickness mm (null: semi-infinite)"
        meta["layers"] = [_layer_to_dict(L) for L in t.layers]
        meta["roughness_below"] = t.roughness_below
    return meta


def _layer_to_dict(layer: Layer) -> dict:
    """A layer as plain JSON values: σa, σs [mm⁻¹], g, η, thickness [mm] (null: semi-infinite),
    roughness (GGX α of its top interface)."""
    return {**layer.medium.to_dict(), "thickness": None if layer.semi_infinite else layer.thickness,
            "roughness": layer.roughness}


def _layer_from_dict(d: dict) -> Layer:
    thickness = float("inf") if d["thickness"] is None else float(d["thickness"])
    return Layer(Medium(d["sigma_a"], d["sigma_s"], d["g"], d["eta"]), thickness, float(d["roughness"]))


def _from_parts(meta: dict, arrays: dict, path) -> ProfileTable:
    try:
        if meta.get("format") != FORMAT:
            raise KeyError("format")
        thickness = meta["thickness"]
        thickness = None if thickness is None or np.isnan(float(thickness)) else float(thickness)
        fields = dict(
            model=str(meta["model"]), version=str(meta["bssrdf_version"]), scale=float(meta["scale"]),
            thickness=thickness, grid=dict(meta["grid"]),
            **{k: np.asarray(meta[k], dtype=np.float64) for k in _PER_CHANNEL if k in meta})
        if "layers" in meta:
            fields["layers"] = tuple(_layer_from_dict(d) for d in meta["layers"])
            fields["roughness_below"] = float(meta["roughness_below"])
        fields.update(arrays)
        table = ProfileTable(**fields)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: not a bssrdf profile table ({FORMAT!r}): missing or bad {e}") from None
    n, C = table.r.size, table.sigma_a.size
    for q in table.quantities:
        for name in (q, f"cdf_{q}", f"icdf_{q}"):
            if getattr(table, name) is None or getattr(table, name).shape != (n, C):
                raise ValueError(f"{path}: {name} must have shape ({n}, {C})")
    return table


def write_table(medium, path: str | os.PathLike, *, thickness: float | None = None, scale: float = 1.0,
                fmt: str | None = None, **kwargs) -> Path:
    """Tabulate ``medium`` (:func:`profile_table`) or a stack (:func:`layered_table`) and write the
    table, atomically.

    Parameters
    ----------
    medium : Medium, bssrdf.Layer, sequence of bssrdf.Layer, or ProfileTable
        The material [mm⁻¹]; a stack of layers from the top down; or a table already computed
        (then ``thickness`` and ``kwargs`` must not be given).
    path : str or PathLike
        Output file; its suffix (.h5, .hdf5, .csv) picks the format unless ``fmt`` is given.
    thickness : float or None
        Slab thickness [mm]; None for a semi-infinite medium (as in :func:`profile_table`). Not
        for a stack, whose layers carry their thicknesses.
    scale : float, default 1.0
        Scene units per mm: radii are written × scale, R and T ÷ scale² (module notes).
    fmt : {"hdf5", "csv"} or None
        Format; None: from the suffix.
    **kwargs
        ``n_above``, ``n_below``, ``n_r``, ``r_max``, ``step``, ``backend`` for :func:`profile_table`
        (and ``roughness_below`` for :func:`layered_table`).

    Formats
    -------
    HDF5: datasets ``r``, ``R``, ``cdf_R``, ``u``, ``icdf_R``, ``total_R`` (and ``T``, ``cdf_T``,
    ``icdf_T``, ``total_T`` for slabs), each with ``units`` and ``description`` attributes; root
    attributes ``format``, ``model``, ``bssrdf_version``, ``scale``, ``units``, the medium
    (``sigma_a``, ``sigma_s``, ``g``, ``eta``, ``n_above``, ``n_below``, ``thickness``) and the grid
    (``grid`` as JSON); a stack adds ``layers`` (JSON: a list, top down, of ``{"sigma_a", "sigma_s",
    "g", "eta", "thickness", "roughness"}``, thickness null for a semi-infinite base) and
    ``roughness_below``, and its ``sigma_a`` … ``eta`` are its top layer's.
    CSV: comment lines ``# key = <JSON value>`` with the same provenance and one line per column
    ``# column NAME: description [units]``, then a header row and one row per radius: ``r``,
    ``R_0`` … ``R_{C-1}``, (``T_c``), ``cdf_R_c``, (``cdf_T_c``), ``u``, ``icdf_R_c``, (``icdf_T_c``);
    numbers with 17 significant digits, so a table reads back bit for bit.

    Returns
    -------
    Path of the written file.
    """
    fmt = _format(path, fmt)
    if isinstance(medium, ProfileTable):
        if thickness is not None or kwargs:
            raise ValueError("thickness and profile options apply when tabulating a Medium, not to "
                             "a ProfileTable")
        table = medium
    elif isinstance(medium, Medium):
        table = profile_table(medium, thickness=thickness, **kwargs)
    else:
        if thickness is not None:
            raise ValueError("thickness applies to a Medium; the layers of a stack carry their own "
                             f"thicknesses (got thickness = {thickness!r})")
        table = layered_table(medium, **kwargs)
    table = table.scaled(scale)
    target = Path(path)
    with atomic_write(target) as tmp:
        (_write_hdf5 if fmt == "hdf5" else _write_csv)(table, tmp)
    return target


def read_table(path: str | os.PathLike, fmt: str | None = None) -> ProfileTable:
    """Read a table written by :func:`write_table` (HDF5 or CSV, from the suffix or ``fmt``)."""
    fmt = _format(path, fmt)
    if not Path(path).is_file():
        raise ValueError(f"path {str(path)!r} is not a file")
    return _read_hdf5(path) if fmt == "hdf5" else _read_csv(path)


def _format(path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("hdf5", "csv"):
            raise ValueError(f"fmt must be 'hdf5' or 'csv'; got {fmt!r}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"path suffix must be one of {sorted(_SUFFIXES)} (or give fmt); got "
                         f"{suffix or '(none)'!r} in {str(path)!r}")
    return _SUFFIXES[suffix]


def _write_hdf5(t: ProfileTable, path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        for k, v in _provenance(t).items():
            if k in ("total_R", "total_T"):
                continue  # datasets
            if v is None:  # thickness of a semi-infinite medium
                v = float("nan")
            f.attrs[k] = json.dumps(v) if isinstance(v, (dict, list)) and k in _JSON_ATTRS else v
        for name in _COLUMN_ARRAYS + ("total_R", "total_T"):
            v = getattr(t, name)
            if v is None:
                continue
            d = f.create_dataset(name, data=v)
            d.attrs["units"] = _unit_text(_UNITS[name], t.scale)
            d.attrs["description"] = _DESCRIPTIONS[name]


def _read_hdf5(path) -> ProfileTable:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            meta = {k: f.attrs[k] for k in f.attrs}
            for k in _JSON_ATTRS:
                if k in meta:
                    v = meta[k]
                    meta[k] = json.loads(v.decode() if isinstance(v, bytes) else v)
            arrays = {k: f[k][()] for k in _COLUMN_ARRAYS + ("total_R", "total_T") if k in f}
    except OSError as e:
        raise ValueError(f"{path}: not a readable HDF5 file ({e})") from None
    meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in meta.items()}
    for k in ("total_R", "total_T"):
        meta.pop(k, None)
    return _from_parts(meta, arrays, path)


def _csv_columns(t: ProfileTable) -> list[tuple[str, str, np.ndarray]]:
    """(column name, array name, values (n_r,)) in file order."""
    cols = []
    for name in _COLUMN_ARRAYS:
        v = getattr(t, name)
        if v is None:
            continue
        if v.ndim == 1:
            cols.append((name, name, v))
        else:
            cols += [(f"{name}_{c}", name, v[:, c]) for c in range(v.shape[1])]
    return cols


def _write_csv(t: ProfileTable, path: Path) -> None:
    meta = _provenance(t)
    cols = _csv_columns(t)
    lines = [f"# {FORMAT}: tabulated radial profile (bssrdf.export.table); one row per radius"]
    lines += [f"# {k} = {json.dumps(v)}" for k, v in meta.items()]
    for name in _COLUMN_ARRAYS:
        if getattr(t, name) is not None:
            per = "" if name in ("r", "u") else " (one column per channel: _0, _1, ...)"
            lines.append(f"# column {name}: {_DESCRIPTIONS[name]} [{_unit_text(_UNITS[name], t.scale)}]"
                         f"{per}")
    lines.append(",".join(c[0] for c in cols))
    data = np.column_stack([c[2] for c in cols])
    body = "\n".join(",".join(f"{x:.17g}" for x in row) for row in data)
    path.write_text("\n".join(lines) + "\n" + body + "\n", encoding="utf-8")


def _read_csv(path) -> ProfileTable:
    meta, header, rows = {}, None, []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text (CSV) file") from None
    for ln, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            body = line[1:].strip()
            if " = " in body and not body.startswith("column "):
                key, value = body.split(" = ", 1)
                try:
                    meta[key.strip()] = json.loads(value)
                except json.JSONDecodeError:
                    raise ValueError(f"{path}:{ln}: malformed header value for {key.strip()!r}") from None
            continue
        if header is None:
            header = [h.strip() for h in line.split(",")]
            continue
        try:
            rows.append([float(x) for x in line.split(",")])
        except ValueError:
            raise ValueError(f"{path}:{ln}: malformed number in row") from None
        if len(rows[-1]) != len(header):
            raise ValueError(f"{path}:{ln}: {len(rows[-1])} values for {len(header)} columns")
    if header is None or not rows:
        raise ValueError(f"{path}: empty or malformed profile table (no header or no rows)")
    data = np.asarray(rows)
    arrays: dict[str, list] = {}
    for j, name in enumerate(header):
        base, _, ch = name.rpartition("_")
        if name in ("r", "u"):
            arrays[name] = data[:, j]
        elif base in _COLUMN_ARRAYS and ch.isdigit():
            arrays.setdefault(base, []).append((int(ch), data[:, j]))
        else:
            raise ValueError(f"{path}: unknown column {name!r}")
    for k, v in list(arrays.items()):
        if isinstance(v, list):
            arrays[k] = np.column_stack([col for _, col in sorted(v)])
    for k in ("total_R", "total_T"):
        if k in meta:
            arrays[k] = np.asarray(meta.pop(k), dtype=np.float64)
    return _from_parts(meta, arrays, path)

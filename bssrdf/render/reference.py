"""A Monte Carlo reference for the renderer: a slab's R(r) and T(r) from :mod:`bssrdf.mc` as a profile.

Why a profile is enough
    Under normally incident collimated light a flat slab is translation invariant: a pencil beam
    entering at x_i gives the exitance R(|x_o − x_i|) on the lit face and T(|x_o − x_i|_∥) on the
    other (r_∥ measured along the slab), and any illumination pattern E(x) on a face gives the
    pattern convolved with R or T. The tracer (MCML conventions, Fresnel at every interface) tallies
    exactly these radial profiles for a pencil beam; :func:`table_from_mc` turns them into a
    :class:`~bssrdf.export.table.ProfileTable` that :class:`~bssrdf.render.TabulatedProfile` renders
    through the same pipeline as the multipole (Donner & Jensen 2005) and the dipole (Jensen et al.
    2001; Jensen & Buhler 2002). The renderer's quadrature Σ T(r_∥) E_t,i A_i is that convolution.

What is compared
    The Monte Carlo table enters the renderer through the same convention as the models: the
    profile per unit power *entering* (the tallies, per unit incident power, divided by the entry
    transmittance 1 − R_specular, Fresnel's at normal incidence), the renderer's own entry Fresnel
    F_t(η, cos θ_i) for the light arriving at each sample, and its exit term (1/π) F_t(η, cos θ_o)
    for the radiance. So an image made with it differs from the multipole's only by the radial
    transport profiles R(r), T(r): the images compare transport, not the angular or Fresnel
    conventions of the BSSRDF S_d = (1/π) F_t R F_t (which the tracer would do differently at
    oblique angles: it is exact only for the normal incidence it simulates).

Unscattered and singly scattered light
    * The unscattered (ballistic) beam is removed: it lands in the first radial bin, T_unscattered
      (and R_unscattered, its reflection from the bottom face), and is a delta in direction (the
      light source seen through the slab, attenuated by e^{−σt d}), not a diffuse exitance; neither
      diffusion model contains it.
    * R(r) is the multiply scattered part R_r − R_r_single by default (the diffusion source stands
      for multiple scattering; Jensen et al. 2001 add single scattering as a separate term), or all
      scattered light with ``single_scattering=True``.
    * T(r) keeps the singly scattered light (the tracer does not tally it apart). Every singly
      scattered path through the slab is at least d long, so it is at most σs d e^{−σt d} of the
      power entering: 3e-10 for the parchment-like medium of the tests and figure d06.

Radii
    The tallies are annulus means in ``n_r`` bins of width r_max/n_r. The table's grid is r = 0,
    the bin centres and r_max, with the first bin's mean at 0 and the last bin's at r_max (0 beyond:
    light that leaves farther out is dropped; the table's ``grid`` records how much). Between grid
    points the table interpolates linearly (as every ``ProfileTable``); its ``total_R``/``total_T``
    and CDFs are the exact integrals ∫2πr R dr of that interpolant, the quantity the renderer's sum
    approximates. With the default bins (d/20 wide) they are within 3e-4 (T) and 3e-3 (R, which peaks
    within ℓ = 1/σ't of the beam, where linear interpolation of bin means overshoots) of the
    histogram's own sums (measured on the parchment-like slab of ``tests/test_render_slab.py``).

Units: lengths in mm, coefficients in mm⁻¹, profiles in mm⁻² per unit power entering.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..medium import Layer, Medium
from ..profiles._common import check_medium

__all__ = ["MC_MODEL", "simulate_slab", "table_from_mc", "mc_slab_profile"]

MC_MODEL = "Monte Carlo (bssrdf.mc)"
DEFAULT_BINS_PER_THICKNESS = 20


def simulate_slab(medium: Medium, thickness: float, n_photons: int, *, n_above: float = 1.0,
                  n_below: float = 1.0, r_max: float | None = None, n_r: int | None = None, seed: int = 0,
                  backend: str = "auto", progress: bool | None = False, precision: str = "single") -> tuple:
    """Trace a normally incident pencil beam into a slab of ``medium``, one run per channel.

    Parameters
    ----------
    medium : Medium
        σa, σs [mm⁻¹], g, η; one run per channel (the tracer is monochromatic).
    thickness : float
        Slab thickness d [mm].
    n_photons : int
        Photons per channel.
    n_above, n_below : float, default 1.0
        Refractive indices above (the lit side) and below.
    r_max : float or None
        Outer radius of the tallies [mm]; None: the multipole table's r_max
        (:func:`bssrdf.export.table.profile_table`: beyond it less than 1e-4 of R's and of T's total
        remains in diffusion theory).
    n_r : int or None
        Radial bins; None: bins d/20 wide (``DEFAULT_BINS_PER_THICKNESS`` per thickness), at least 50.
    seed : int, default 0
        Seed of channel 0; channel c runs with ``seed + c``.
    backend, progress, precision
        As in :func:`bssrdf.mc.simulate`.

    Returns
    -------
    tuple of MCResult
        One per channel, for :func:`table_from_mc`.
    """
    from .. import mc

    check_medium(medium)
    d = float(thickness)
    if not (math.isfinite(d) and d > 0):
        raise ValueError(f"thickness must be a finite length > 0 mm; got {thickness!r}")
    if r_max is None:
        from ..export.table import profile_table

        r_max = profile_table(medium, thickness=d, n_above=n_above, n_below=n_below).r_max
    if n_r is None:
        n_r = max(50, int(math.ceil(DEFAULT_BINS_PER_THICKNESS * r_max / d)))
    return tuple(mc.simulate([Layer(medium.channel(c), d)], n_photons,
                             n_above=n_above, n_below=n_below, r_max=r_max, n_r=n_r, seed=seed + c,
                             backend=backend, progress=progress, precision=precision)
                 for c in range(medium.n_channels))


def _masses(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """∫ 2πs f(s) ds over each interval of ``r`` for f linear between the values ``v`` (n, C)."""
    a, b = r[:-1, None], r[1:, None]
    return 2.0 * np.pi * (b - a) * (v[:-1] * (2.0 * a + b) + v[1:] * (a + 2.0 * b)) / 6.0


def table_from_mc(results: Sequence, *, single_scattering: bool = False):
    """A :class:`~bssrdf.export.table.ProfileTable` of a slab from Monte Carlo runs (module notes).

    Parameters
    ----------
    results : sequence of MCResult
        One run per channel (:func:`simulate_slab`): a single finite layer, normal incidence, smooth
        interfaces, the same thickness, indices and radial bins.
    single_scattering : bool, default False
        Keep the singly scattered light in R(r) (default: R is the multiply scattered part).

    Returns
    -------
    ProfileTable
        ``model`` = :data:`MC_MODEL`; R and T [mm⁻²] per unit power entering (tallies divided by
        1 − R_specular), unscattered light removed; ``grid`` records the photons, seeds, bins and
        the fraction of the scattered light tallied beyond r_max (dropped).
    """
    from .. import __version__
    from ..export.table import ProfileTable

    results = tuple(results)
    if not results:
        raise ValueError("results must hold one Monte Carlo run per channel; got none")
    first = results[0]
    for k, res in enumerate(results):
        if len(res.layers) != 1 or not math.isfinite(res.layers[0].thickness):
            raise ValueError(f"results[{k}] must be a run of one finite slab; got {len(res.layers)} "
                             f"layer(s), thickness {res.layers[0].thickness!r} mm")
        if res.incidence_angle != 0.0 or res.rough:
            raise ValueError(f"results[{k}] must be a run at normal incidence with smooth interfaces; got "
                             f"incidence {res.incidence_angle!r} degrees, rough {res.rough}")
        same = (res.layers[0].thickness == first.layers[0].thickness and res.n_above == first.n_above
                and res.n_below == first.n_below and np.array_equal(res.r_edges, first.r_edges))
        if not same:
            raise ValueError(f"results[{k}] differs from results[0] in thickness, indices or radial bins")
    edges = np.asarray(first.r_edges, dtype=np.float64)
    core = math.pi * edges[1] ** 2
    area = math.pi * np.diff(edges**2)
    r = np.concatenate([[0.0], 0.5 * (edges[1:] + edges[:-1]), [edges[-1]]])
    cols: dict[str, list] = {"R": [], "T": []}
    outside: dict[str, list] = {"R": [], "T": []}
    for res in results:
        w = 1.0 - float(res.R_specular)
        R = np.array(res.R_r, dtype=np.float64)
        scattered_R = float(res.R_diffuse) - float(res.R_unscattered)
        if not single_scattering:
            R -= np.asarray(res.R_r_single, dtype=np.float64)
            scattered_R -= float(res.R_single)
        R[0] -= float(res.R_unscattered) / core
        T = np.array(res.T_r, dtype=np.float64)
        T[0] -= float(res.T_unscattered) / core
        scattered_T = float(res.T_total) - float(res.T_unscattered)
        for q, h, tot in (("R", R, scattered_R), ("T", T, scattered_T)):
            h = np.maximum(h, 0.0) / w
            cols[q].append(np.concatenate([[h[0]], h, [h[-1]]]))
            outside[q].append(float(tot / w - (h * area).sum()))
    out = {}
    for q in ("R", "T"):
        v = np.stack(cols[q], axis=1)
        mass = _masses(r, v)
        total = mass.sum(axis=0)
        if np.any(total <= 0):
            raise ValueError(f"the Monte Carlo {q}(r) has no scattered light within r_max = {edges[-1]:g} mm")
        cdf = np.vstack([np.zeros((1, v.shape[1])), np.cumsum(mass, axis=0) / total])
        cdf[-1] = 1.0
        out[q] = (v, cdf, total)
    m = [res.layers[0].medium for res in results]
    vec = lambda name: np.array([float(getattr(x, name)) for x in m])  # noqa: E731
    C = len(results)
    grid = {"source": MC_MODEL, "photons": [int(res.n_photons) for res in results],
            "seeds": [int(res.seed) for res in results], "n_bins": int(edges.size - 1),
            "bin_width": float(edges[1]), "r_max": float(edges[-1]),
            "single_scattering_in_R": bool(single_scattering),
            "outside_R": outside["R"], "outside_T": outside["T"],
            "interpolation": "linear in r between 0, the bin centres and r_max"}
    table = ProfileTable(
        r=r, R=out["R"][0], cdf_R=out["R"][1], u=np.linspace(0.0, 1.0, r.size), icdf_R=np.zeros((r.size, C)),
        total_R=out["R"][2], model=MC_MODEL, sigma_a=vec("sigma_a"), sigma_s=vec("sigma_s"), g=vec("g"),
        eta=vec("eta"), n_above=np.full(C, float(first.n_above)), n_below=np.full(C, float(first.n_below)),
        thickness=float(first.layers[0].thickness), T=out["T"][0], cdf_T=out["T"][1],
        icdf_T=np.zeros((r.size, C)), total_T=out["T"][2], scale=1.0, version=__version__, grid=grid)
    return replace(table, icdf_R=table.sample_radius(table.u, "R"), icdf_T=table.sample_radius(table.u, "T"))


def mc_slab_profile(medium: Medium, thickness: float, n_photons: int, *, single_scattering: bool = False,
                    **kw):
    """:func:`simulate_slab` then :func:`table_from_mc`, as a :class:`~bssrdf.render.TabulatedProfile`
    (R and T; ``profile.transmission`` is T). Keywords as in :func:`simulate_slab`."""
    from .materials import TabulatedProfile

    return TabulatedProfile(table_from_mc(simulate_slab(medium, thickness, n_photons, **kw),
                                          single_scattering=single_scattering))

"""Reflectance and transmittance profiles of stacks of slabs (Donner & Jensen 2005).

Donner & Jensen, *Light Diffusion in Multi-Layered Translucent Materials*, SIGGRAPH 2005
(DOI 10.1145/1073204.1073308), "multiple layers". Each layer is a multipole slab
(:mod:`bssrdf.profiles.multipole`) whose two faces see their own neighbours: the layer above or
below, or ``n_above`` / ``n_below`` at the ends of the stack. Light leaving one slab enters the
next, so the profiles of the stack are 2D convolutions of the slabs' profiles, products in
frequency space (the 2D Fourier transform of a radial profile is its zero-order Hankel transform
F(k) = 2π∫f(r)J₀(kr)r dr). For layer 1 on top of the stack 2 below it (the paper's Kubelka–Munk variant):

    R̂₁₂ = R̂₁ + T̂₁ R̂₂ T̂₁' / (1 − R̂₂ R̂₁'),     T̂₁₂ = T̂₁ T̂₂ / (1 − R̂₂ R̂₁'),

applied from the bottom of the stack up. The primed terms belong to layer 1 lit *from below*: its
faces are swapped, so with different indices above and below R̂₁' ≠ R̂₁ and T̂₁' ≠ T̂₁ (the paper
writes the unprimed ones; physics.md asks for the right ones, and :func:`_compose` with
``symmetric=True`` shows the difference). Profiles are per unit power *entering* the top layer,
like :func:`multipole.R` (the Fresnel or rough-interface transmittance of the incident beam,
:func:`entry_transmittance`, is left to the caller, as in Jensen's S_d = F_t R_d F_t / π).

Frequency space, exactly
    Every source of the image series transforms in closed form, ∫2πr S(z, r) J₀(kr) dr =
    2π sign(z) e^{−s|z|} with s = sqrt(σtr² + k²) (the k = 0 value is the total of
    :func:`multipole.total_R`), and the infinite series of images sums as a geometric series, so
    R̂(k) and T̂(k) of a slab are exact to rounding at every k, and so is the composition.

Back to r: a logarithmic fast Hankel transform
    f(r) = (1/2π)∫F(k)J₀(kr)k dk is evaluated by FFTLog (Talman 1978; Hamilton 2000, MNRAS 312,
    257): on logarithmic grids k = e^x, r = e^y it is a correlation of F(k)k^{2−q} with
    J₀(e^t)e^{qt}, whose Fourier transform is the Mellin transform
    M(s) = 2^{s−1}Γ(s/2)/Γ(1 − s/2) at s = q + iω; with bias q = 1 both ends of both grids vanish.
    ``N_GRID`` = 8192 points over 49 e-folds (Δ ln k = 0.006), k up to 80/z_min (z_min the
    shallowest source depth or distance to a far face of any layer) and r from 1e-10 z_min, then
    4-point Lagrange interpolation in ln r to the radii asked for; below 1e-5 z_min, where r·f(r)
    nears the FFT's rounding, the profile is f(0) = (1/2π)∫F k dk (the trapezoid rule on the log
    grid), which it equals there to O(r²) < 1e-10. It costs a few FFTs of 8192 points per channel, with
    NumPy's FFT on the CPU and cuFFT through CuPy on a GPU.
    Measured error (tests/test_layered.py, against the closed-form dipole and the multipole's image
    and modal sums): at most 3e-10 R(0) anywhere; relative 1e-11 to 1e-8 near the beam and below
    1e-5 wherever |R| ≥ 1e-9 R(0); the total ∫2πrR dr of the transformed profile equals R̂(0) to
    3e-10. (A profile has no meaningful relative accuracy below ~1e-12 of its peak: FFT rounding.)

Rough interfaces
    An interface with roughness α > 0 (:attr:`bssrdf.Layer.roughness` for the top of each layer,
    ``roughness_below`` for the bottom of the stack) replaces F_dr in each neighbouring slab's A
    by :func:`bssrdf.microfacet.F_dr_rough` (the GGX model the tracer samples; Donner & Jensen
    2005 integrate their rough-surface terms numerically in the same spirit). The interface
    conserves energy, so no other term changes; the entry transmittance of a rough top is
    :func:`entry_transmittance`.

Validity: diffusion, as in the multipole: wrong within a few mean free paths of the beam and for
layers thinner than ~2–3 reduced mean free paths (tests/test_layered.py and
``paper_figures/layered_validation.md`` give the errors against the Monte Carlo tracer). Units:
σ in mm⁻¹, lengths in mm, R and T in mm⁻².

What a rough top does to the shape of R(r): measured, not changed (2026-11-26)
    Figure d05 shows the model's roughness effect, R(α)/R(smooth), off by up to 27% at α 0.7 for
    r > 1.5 mm, although totals agree within 2.5%. Measured again with bssrdf.mc (the d05 slab:
    σa 0.02, σs 1.98 mm⁻¹, g 0, n 1.5, d 3 mm, and the same medium semi-infinite; 6e6 and 3e6
    photons per α; a second medium σa 0.1, σs 1.9, n 1.3, semi-infinite). Profile ratios
    model/MC (× entry transmittance; MC multiply scattered) over r bands 0–0.5, 0.5–1, 1–2, 2–4,
    4–8 mm, the d05 slab:

        α 0    1.54  1.39  0.92  0.83  0.94     (the smooth model itself is off in shape)
        α 0.3  1.40  1.31  0.96  0.92  1.02
        α 0.7  1.24  1.25  1.04  1.03  1.09
        effect α 0.7, (rough/smooth)model / (rough/smooth)MC: 0.81  0.90  1.13  1.25  1.16

    The rough profile agrees *better* with MC than the smooth one; the ratio's error is mostly
    the smooth model's. In MC a rough top lets light out near the beam (R ×1.32, 1.27, 1.14,
    0.98, 0.83 in the bands at α 0.7); the model's R = −D∂φ/∂z changes near the beam only
    through the image source, so it puts the extra light at 1–3 mm instead. Tried:

    * Entry depth z₀ = E[μ_t] ℓ, μ_t the cosine of the beam refracted by the GGX visible normals
      (E[μ_t] = 0.986, 0.973, 0.961 for α 0.3, 0.5, 0.7 at n 1.5): the effect's ratio moves by
      ≤ 0.04 (0.81 → 0.85 at 0–0.5 mm, 1.25 → 1.24 at 2–4 mm; worst bin over d05's 1.5–10 mm
      27.3% → 26.1%), and R at r < 0.5 mm gets worse (model/MC 1.24 → 1.30). Adding
      the lateral offset E[sin θ_t] ℓ of the first interaction (a ring, × J₀(kρ)) changes < 1%.
      Not worth a term: not implemented.
    * Entry transmittance: already the rough interface's (:func:`entry_transmittance`, 0.9708
      at α 0.7 against MC's 1 − R_specular 0.9705); it scales, it does not shape.
    * Exit through the boundary, R = C_φ φ + C_E (−D∂φ/∂z) with C_φ = (1 − 2C₁)/4,
      C_E = (1 − 3C₂)/2, C_n = ∫ρ(μ)μⁿ dμ of the (rough) interface, A = (1 + 3C₂)/(1 − 2C₁)
      (d'Eon & Irving 2011, the exitance of the Robin boundary; Frisvad et al. 2014 use the same).
      In frequency space it multiplies a face's flux by C_E + C_φ tanh(s z_b)/(D s). This fixes
      the roughness effect (worst bin 27.3% → 6.7% at α 0.7, 12.3% → 5.7% at α 0.3; bands
      1.01 1.03 1.06 1.05 1.02; n 1.3 medium, worst band 1.17 → 1.06) but changes the smooth model too
      (bands 0.89 1.17 1.14 1.12 1.13; worst bin over 1.5–10 mm 19.1% → 22.7%), so it is not the
      model here (α = 0 must keep the closed forms). The same coefficients only for rough faces,
      as shifts from the smooth ones, make the effect worse (0.73 at 0–0.5 mm, 1.31 at 2–4).

    So the shape of the roughness effect is set by how light *leaves* the medium, not by where it
    enters; fixing it means changing the exitance for every boundary, smooth ones included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.special import loggamma

from .. import backend as _backend
from .._validate import as_float_array, check_range
from ..medium import Layer, check_roughness
from ..microfacet import F_dr_rough, directional_albedos
from . import multipole
from ._common import channel_vector, check_medium, radii

__all__ = ["R", "T", "total_R", "total_T", "cumulative_R", "cumulative_T", "transforms",
           "entry_transmittance", "N_GRID"]

N_GRID = 8192          # FFTLog points
LOG_SPAN = 49.0        # e-folds covered by each grid
K_TAIL = 80.0          # k_max · z_min: F(k) ~ e^{−80} there
R_FLOOR = 1e-10        # r_min / z_min
R_SMALL = 1e-5         # below R_SMALL z_min the profile is its value at r = 0
BIAS = 1.0             # FFTLog bias q


# -- the stack ------------------------------------------------------------------------------------
@dataclass
class _Slab:
    """One layer's per-channel diffusion quantities (arrays of shape (C,)); d may be inf."""

    alpha_prime: np.ndarray
    sigma_tr: np.ndarray
    z_0: np.ndarray
    zb_top: np.ndarray
    zb_bot: np.ndarray
    d: float

    @property
    def finite(self) -> bool:
        return math.isfinite(self.d)

    @property
    def shallowest(self) -> float:
        """Smallest source depth or distance from a source to the far face [mm]."""
        z = float(np.min(self.z_0))
        return min(z, float(np.min(self.d - self.z_0))) if self.finite else z


def _check_layers(layers) -> tuple[Layer, ...]:
    if isinstance(layers, Layer):
        layers = (layers,)
    if not isinstance(layers, Sequence) or isinstance(layers, str):
        raise ValueError(f"layers must be a sequence of bssrdf.Layer; got {type(layers).__name__}")
    layers = tuple(layers)
    if not layers:
        raise ValueError("layers must contain at least one bssrdf.Layer; got an empty stack")
    for i, L in enumerate(layers):
        if not isinstance(L, Layer):
            raise ValueError(f"layers[{i}] must be a bssrdf.Layer; got {type(L).__name__}")
        check_medium(L.medium)
        if L.semi_infinite and i != len(layers) - 1:
            raise ValueError(f"layers[{i}]: thickness must be finite and > 0 mm; only the last layer "
                             "may be semi-infinite (thickness inf)")
    shapes = {L.medium.shape for L in layers}
    if len(shapes) > 1:
        raise ValueError("layers: every medium must have the same channels; got shapes "
                         f"{[L.medium.shape for L in layers]}")
    return layers


def _indices(layers, n_above, n_below) -> list[np.ndarray]:
    """Refractive indices, per channel, from above the stack to below it (len(layers) + 2)."""
    shape = layers[0].medium.shape
    out = []
    for name, n in (("n_above", n_above), ("n_below", n_below)):
        a = check_range(name, as_float_array(name, n), lo=0.0, lo_open=True)
        if a.ndim > 1 or (a.ndim == 1 and a.shape != shape):
            raise ValueError(f"{name} must be a scalar or one value per channel {shape}; got shape {a.shape}")
        out.append(channel_vector(np.broadcast_to(a, shape)))
    return [out[0]] + [channel_vector(L.medium.eta) for L in layers] + [out[1]]


def _F_dr(eta: np.ndarray, alpha: float) -> np.ndarray:
    """Diffuse reflectance of a face, per channel (η = n_slab / n_neighbour)."""
    return np.array([F_dr_rough(e, alpha) for e in eta])


def _slabs(layers, n_above, n_below, roughness_below) -> list[_Slab]:
    rough_below = check_roughness("roughness_below", roughness_below)
    n = _indices(layers, n_above, n_below)
    alphas = [L.roughness for L in layers] + [rough_below]
    out = []
    for i, L in enumerate(layers):
        m = L.medium
        sp = channel_vector(m.sigma_s_prime)
        sa = channel_vector(m.sigma_a)
        st = sa + sp
        D = 1.0 / (3.0 * st)
        f_top = _F_dr(n[i + 1] / n[i], alphas[i])
        f_bot = _F_dr(n[i + 1] / n[i + 2], alphas[i + 1])
        A_top, A_bot = (1 + f_top) / (1 - f_top), (1 + f_bot) / (1 - f_bot)
        d = L.thickness
        out.append(_Slab(alpha_prime=sp / st, sigma_tr=np.sqrt(3.0 * sa * st),
                         z_0=np.minimum(1.0 / st, 0.5 * d), zb_top=2 * A_top * D, zb_bot=2 * A_bot * D, d=d))
        if math.isfinite(d):
            multipole._warn_thin(m, d)
    return out


# -- frequency space ------------------------------------------------------------------------------
def _images(xp, s, a, L):
    """Σ_i sign(a + 2iL) e^{−s|a + 2iL|} over all i, in closed form (s (N, C) ≥ 0; a, L (C,)).

    With a' = a mod 2L the images at a' + 2jL (j ≥ 0) and a' − 2L − 2jL sum to
    (e^{−sa'} − e^{−s(2L−a')})/(1 − e^{−2sL}), written with expm1 of non-positive arguments only
    (no overflow, no cancellation as sL → 0); its s → 0 limit is (L − a')/L.
    """
    ap = np.mod(a, 2.0 * L)
    b = L - ap
    s_ap, s_far = s * xp.asarray(ap), s * xp.asarray(2.0 * L - ap)
    num = xp.where(xp.asarray(b >= 0), xp.exp(-s_ap) * -xp.expm1(-2.0 * s * xp.asarray(np.maximum(b, 0.0))),
                   xp.exp(-s_far) * xp.expm1(2.0 * s * xp.asarray(np.minimum(b, 0.0))))
    den = -xp.expm1(-2.0 * s * xp.asarray(L))
    flat = den == 0                                  # s = 0: σa = 0 at k = 0
    return xp.where(flat, xp.asarray(b / L), num / xp.where(flat, 1.0, den))


def _slab_hat(xp, slab: _Slab, k, from_below: bool):
    """(R̂, T̂) of one slab at wavenumbers k (N, 1) [mm⁻¹], lit from above or below."""
    s = xp.sqrt(xp.asarray(slab.sigma_tr) ** 2 + k * k)
    half = xp.asarray(0.5 * slab.alpha_prime)
    zb_lit, zb_far = (slab.zb_bot, slab.zb_top) if from_below else (slab.zb_top, slab.zb_bot)
    z_r, z_v = slab.z_0, -slab.z_0 - 2.0 * zb_lit
    if not slab.finite:
        R = half * (xp.exp(-s * xp.asarray(z_r)) + xp.exp(s * xp.asarray(z_v)))
        return R, xp.zeros_like(R)
    L = slab.d + zb_lit + zb_far
    R = half * (_images(xp, s, z_r, L) - _images(xp, s, z_v, L))
    T = half * (_images(xp, s, slab.d - z_r, L) - _images(xp, s, slab.d - z_v, L))
    return R, T


def _compose(xp, slabs: list[_Slab], k, symmetric: bool = False):
    """(R̂, T̂) of the stack at k (N, 1), composed from the bottom up (module notes).

    ``symmetric=True`` uses each layer's top-lit R̂ and T̂ where the bottom-lit ones belong (the
    paper's equations taken literally), to show what the difference is.
    """
    R, T = _slab_hat(xp, slabs[-1], k, False)
    for slab in reversed(slabs[:-1]):
        R1, T1 = _slab_hat(xp, slab, k, False)
        R1b, T1b = (R1, T1) if symmetric else _slab_hat(xp, slab, k, True)
        inv = 1.0 / (1.0 - R * R1b)
        R, T = R1 + T1 * R * T1b * inv, T1 * T * inv
    return R, T


# -- FFTLog ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Grid:
    x0: float      # ln k of the first k node
    y0: float      # ln r of the first r node
    delta: float   # spacing in ln k and ln r
    n: int
    r_small: float  # below it, f(r) = f(0)


def _grid(slabs: list[_Slab]) -> _Grid:
    z_min = min(s.shallowest for s in slabs)
    delta = LOG_SPAN / N_GRID
    x_top = math.log(K_TAIL / z_min)
    return _Grid(x0=x_top - (N_GRID - 1) * delta, y0=math.log(R_FLOOR * z_min), delta=delta, n=N_GRID,
                 r_small=R_SMALL * z_min)


@lru_cache(maxsize=16)
def _mellin_phase(n: int, delta: float, x0_plus_y0: float) -> np.ndarray:
    """U_j = M(q + iω_j) e^{−iω_j(x0 + y0)}, M(s) = 2^{s−1}Γ(s/2)/Γ(1 − s/2): the Mellin transform
    of J₀ (∫₀^∞ J₀(u)u^{s−1}du, 0 < Re s < 3/2) at the FFT's frequencies ω_j = 2πj/(nΔ)."""
    omega = 2.0 * np.pi * np.fft.fftfreq(n, d=delta)
    s = BIAS + 1j * omega
    log_m = (s - 1.0) * np.log(2.0) + loggamma(0.5 * s) - loggamma(1.0 - 0.5 * s)
    return np.exp(log_m - 1j * omega * x0_plus_y0)


def _at_zero(xp, F, grid: _Grid):
    """f(0) = (1/2π)∫F(k)k dk = (1/2π)∫F k² d(ln k): the trapezoid rule on the log grid (spectrally
    accurate: the integrand vanishes at both ends)."""
    k = _k_grid(xp, grid)
    return xp.sum(F * k * k, axis=0) * grid.delta / (2.0 * np.pi)


def _to_radii(xp, f_grid, f_0, grid: _Grid, r):
    """The profile at radii r (M,): 4-point Lagrange interpolation in ln r of the grid values (N, C),
    and f(0) below ``R_SMALL``·z_min, where c = r f(r) nears the FFT's rounding (there f(r) − f(0) =
    O(r²) is below 1e-10 of f(0))."""
    y = xp.log(xp.maximum(r, math.exp(grid.y0)))
    t = (y - grid.y0) / grid.delta
    i = xp.clip(xp.floor(t).astype(xp.int64), 1, grid.n - 3)
    u = (t - i)[:, None]
    fm, f0, f1, f2 = (f_grid[i + j] for j in (-1, 0, 1, 2))
    f = (-u * (u - 1) * (u - 2) / 6 * fm + (u + 1) * (u - 1) * (u - 2) / 2 * f0
         - (u + 1) * u * (u - 2) / 2 * f1 + (u + 1) * u * (u - 1) / 6 * f2)
    small = (r < grid.r_small)[:, None]
    return xp.where(small, f_0[None, :], f)


def _hankel_inverse(xp, F, grid: _Grid):
    """f(r_m) = (1/2π)∫F(k)J₀(kr)k dk on the r grid, for F (N, C) sampled on the k grid.

    With a_n = F(k_n)k_n^{2−q} and its DFT A_j, c_m = r_m^q·2πf(r_m) = (1/N)Σ_j A_j U_j e^{−2πijm/N}
    (the trigonometric interpolant of a correlated with J₀(e^t)e^{qt} exactly).
    """
    k = xp.exp(grid.x0 + grid.delta * xp.arange(grid.n, dtype=xp.float64))[:, None]
    U = xp.asarray(_mellin_phase(grid.n, grid.delta, grid.x0 + grid.y0))[:, None]
    c = xp.fft.fft(xp.fft.fft(F * k ** (2.0 - BIAS), axis=0) * U, axis=0).real / grid.n
    y = grid.y0 + grid.delta * xp.arange(grid.n, dtype=xp.float64)
    return c * xp.exp(-BIAS * y)[:, None] / (2.0 * np.pi)


def _cumulative_grid(xp, f_grid, grid: _Grid):
    """C(r_m) = ∫₀^{r_m} 2πs f(s) ds on the r grid: ∫2πs²f d(ln s), each interval by the cubic through
    its four neighbours (Δ/24·(−g₋₁ + 13g₀ + 13g₁ − g₂), error O(Δ⁴)), the end intervals by the
    trapezoid rule (g is negligible there), summed; the part below the grid, π r₀² f(0), added."""
    y = grid.y0 + grid.delta * xp.arange(grid.n, dtype=xp.float64)
    g = 2.0 * np.pi * xp.exp(2.0 * y)[:, None] * f_grid
    inner = grid.delta / 24.0 * (-g[:-3] + 13.0 * g[1:-2] + 13.0 * g[2:-1] - g[3:])
    first = 0.5 * grid.delta * (g[:1] + g[1:2])
    last = 0.5 * grid.delta * (g[-2:-1] + g[-1:])
    pieces = xp.concatenate([first, inner, last], axis=0)
    start = np.pi * math.exp(2.0 * grid.y0) * f_grid[:1]
    return xp.concatenate([start, start + xp.cumsum(pieces, axis=0)], axis=0)


def _k_grid(xp, grid: _Grid):
    return xp.exp(grid.x0 + grid.delta * xp.arange(grid.n, dtype=xp.float64))[:, None]


def _profile(r, layers, n_above, n_below, roughness_below, backend, want_T, cumulative=False):
    layers = _check_layers(layers)
    r = radii(r)
    slabs = _slabs(layers, n_above, n_below, roughness_below)
    name = _backend.resolve(backend)
    xp = _backend._cupy() if name == "cuda" else np
    r_in_kind = _backend.array_module(r)
    r_flat = xp.asarray(r if r_in_kind is xp else (r.get() if r_in_kind is not np else r),
                        dtype=xp.float64).ravel()
    grid = _grid(slabs)
    R_hat, T_hat = _compose(xp, slabs, _k_grid(xp, grid))
    F = T_hat if want_T else R_hat
    f_grid = _hankel_inverse(xp, F, grid)
    f_0 = _at_zero(xp, F, grid)
    if cumulative:
        # C(r) = πr²f(0) below the grid's first radius; interpolated in ln r above it
        c_grid = _cumulative_grid(xp, f_grid, grid)
        small = (r_flat < math.exp(grid.y0))[:, None]
        out = xp.where(small, np.pi * (r_flat * r_flat)[:, None] * f_0[None, :],
                       _to_radii(xp, c_grid, c_grid[0], replace(grid, r_small=0.0), r_flat))
    else:
        out = _to_radii(xp, f_grid, f_0, grid, r_flat)
    out = out.reshape(tuple(r.shape) + layers[0].medium.shape)
    if r.dtype == np.float32:
        out = out.astype(xp.float32)
    if r_in_kind is not xp:
        out = r_in_kind.asarray(out.get() if xp is not np else out)
    return out


def R(r, layers, n_above=1.0, n_below=1.0, roughness_below: float = 0.0, backend: str = "auto"):
    """Diffuse reflectance profile R(r) of a stack of layers [mm⁻²] (Donner & Jensen 2005).

    Exitance at the top of the stack at distance ``r`` from a normally incident pencil beam, per
    unit power entering the top layer, multiple scattering only (module notes).

    Parameters
    ----------
    r : array_like (NumPy or CuPy)
        Distances from the point of incidence [mm], finite and ≥ 0.
    layers : sequence of bssrdf.Layer
        From the top down: each a :class:`bssrdf.Medium` (σ't > 0; ``eta`` its index), a
        thickness [mm] (> 0; ``inf`` for the last layer only: a semi-infinite base) and the
        roughness (GGX α, 0–1) of its top interface. All media must have the same channels.
    n_above, n_below : float or array_like, default 1.0
        Refractive indices above and below the stack (scalar or one per channel).
    roughness_below : float, default 0.0
        GGX α of the bottom interface of the stack (ignored for a semi-infinite base).
    backend : {"auto", "cuda", "cpu", "numpy"}, default "auto"
        "cuda": CuPy (cuFFT); "cpu" and "numpy": NumPy; "auto": the GPU when CuPy finds one.

    Returns
    -------
    Array of shape ``r.shape + medium.shape``, same kind (NumPy/CuPy) as ``r``; float32 radii give
    float32 values (computed in float64).

    Raises
    ------
    ValueError
        An empty stack, a non-Layer, a semi-infinite layer above another, media with different
        channels, σ't ≤ 0, roughness outside [0, 1], bad indices or radii.

    Warns
    -----
    DiffusionValidityWarning
        For layers thinner than 2/σ't (the multipole's source is clamped into them).
    """
    return _profile(r, layers, n_above, n_below, roughness_below, backend, False)


def T(r, layers, n_above=1.0, n_below=1.0, roughness_below: float = 0.0, backend: str = "auto"):
    """Diffuse transmittance profile T(r) of a stack [mm⁻²]: exitance at the bottom face, at lateral
    distance ``r`` from the beam (0 for a semi-infinite base). Parameters as in :func:`R`."""
    return _profile(r, layers, n_above, n_below, roughness_below, backend, True)


def cumulative_R(r, layers, n_above=1.0, n_below=1.0, roughness_below: float = 0.0,
                 backend: str = "auto"):
    """∫₀^r 2πs R(s) ds: the reflected power within radius ``r`` (dimensionless; → :func:`total_R`).

    From the FFTLog grid values of R by a fourth-order rule in ln r (error ~1e-9 of the total;
    tests/test_layered.py). For tables and importance sampling: the tail beyond r is
    ``total_R − cumulative_R``. Parameters and result kinds as in :func:`R`.
    """
    return _profile(r, layers, n_above, n_below, roughness_below, backend, False, cumulative=True)


def cumulative_T(r, layers, n_above=1.0, n_below=1.0, roughness_below: float = 0.0,
                 backend: str = "auto"):
    """∫₀^r 2πs T(s) ds (see :func:`cumulative_R`)."""
    return _profile(r, layers, n_above, n_below, roughness_below, backend, True, cumulative=True)


def transforms(k, layers, n_above=1.0, n_below=1.0, roughness_below: float = 0.0):
    """Hankel transforms R̂(k), T̂(k) of the stack's profiles (dimensionless), exact in closed form.

    ``k`` [mm⁻¹] ≥ 0, any shape; returns ``(R_hat, T_hat)`` of shape ``k.shape + medium.shape``.
    At k = 0 they are the total reflectance and transmittance.
    """
    layers = _check_layers(layers)
    kk = check_range("k", np.asarray(k, dtype=np.float64), lo=0.0, unit="mm^-1")
    slabs = _slabs(layers, n_above, n_below, roughness_below)
    R_hat, T_hat = _compose(np, slabs, kk.reshape(-1, 1))
    shape = kk.shape + layers[0].medium.shape
    return R_hat.reshape(shape), T_hat.reshape(shape)


def total_R(layers, n_above=1.0, n_below=1.0, roughness_below: float = 0.0):
    """Total diffuse reflectance ∫2πr R(r) dr of the stack (= R̂(0), exact); shape ``medium.shape``."""
    return transforms(0.0, layers, n_above, n_below, roughness_below)[0]


def total_T(layers, n_above=1.0, n_below=1.0, roughness_below: float = 0.0):
    """Total diffuse transmittance ∫2πr T(r) dr of the stack (= T̂(0), exact); shape ``medium.shape``."""
    return transforms(0.0, layers, n_above, n_below, roughness_below)[1]


def entry_transmittance(layers, n_above=1.0, cos_theta: float = 1.0):
    """Fraction of a collimated beam from above (cosine ``cos_theta`` in the medium above) that enters
    the top layer: 1 − F_r for a smooth top, τ of :func:`bssrdf.microfacet.directional_albedos` for a
    rough one. Multiply :func:`R` and :func:`T` by it for profiles per unit *incident* power.
    Returns shape ``medium.shape``."""
    layers = _check_layers(layers)
    n = _indices(layers, n_above, 1.0)
    mu = float(check_range("cos_theta", as_float_array("cos_theta", cos_theta), lo=0.0, hi=1.0,
                           lo_open=True))
    tau = [float(directional_albedos(mu, e, layers[0].roughness)[1]) for e in n[1] / n[0]]
    return np.asarray(tau).reshape(layers[0].medium.shape)

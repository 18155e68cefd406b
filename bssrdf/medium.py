"""Homogeneous scattering media and their derived quantities.

A :class:`Medium` holds the radiative-transfer coefficients of a homogeneous material, one
value per channel (RGB, spectral) or a single value. The derived quantities carry the names
of Jensen et al. 2001 and Donner & Jensen 2005.

Units: coefficients in mm⁻¹, lengths in mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_float_array, check_range

__all__ = ["Medium", "Layer"]


@dataclass(frozen=True, eq=False)
class Medium:
    """A homogeneous medium.

    Parameters
    ----------
    sigma_a : float or array_like, shape (channels,)
        Absorption coefficient σa [mm⁻¹], ≥ 0.
    sigma_s : float or array_like, shape (channels,)
        Scattering coefficient σs [mm⁻¹], ≥ 0 (not the reduced one; see
        :meth:`from_reduced`).
    g : float or array_like, default 0.0
        Mean cosine of the Henyey–Greenstein phase function, in (−1, 1).
    eta : float or array_like, default 1.0
        Refractive index of the medium, > 0. The index of the neighbouring medium is an
        argument of the functions where it matters (``n_outside``, default 1.0).

    Scalars broadcast against per-channel arrays; all per-channel arrays must have the same
    length. ``shape`` is ``()`` for a single-channel medium or ``(channels,)``.

    Raises
    ------
    ValueError
        For negative or non-finite coefficients, |g| ≥ 1, η ≤ 0 or mismatched channel
        counts; the message names the parameter, its value and the valid range.

    Examples
    --------
    >>> m = Medium.from_reduced(sigma_a=0.0021, sigma_s_prime=2.19, eta=1.5)  # marble, red
    >>> round(float(m.albedo_prime), 6)
    0.999042
    """

    sigma_a: np.ndarray
    sigma_s: np.ndarray
    g: np.ndarray = field(default_factory=lambda: np.float64(0.0))
    eta: np.ndarray = field(default_factory=lambda: np.float64(1.0))

    def __post_init__(self) -> None:
        values = {
            "sigma_a": as_float_array("sigma_a", self.sigma_a),
            "sigma_s": as_float_array("sigma_s", self.sigma_s),
            "g": as_float_array("g", self.g),
            "eta": as_float_array("eta", self.eta),
        }
        check_range("sigma_a", values["sigma_a"], lo=0.0, unit="mm^-1")
        check_range("sigma_s", values["sigma_s"], lo=0.0, unit="mm^-1")
        check_range("g", values["g"], lo=-1.0, hi=1.0, lo_open=True, hi_open=True)
        check_range("eta", values["eta"], lo=0.0, lo_open=True)
        sizes = {k: v.size for k, v in values.items() if v.ndim == 1}
        if len(set(sizes.values())) > 1:
            listing = ", ".join(f"{k}: {n}" for k, n in sizes.items())
            raise ValueError(f"channel counts differ ({listing}); give each parameter either one "
                             "value or one value per channel")
        shape = (next(iter(sizes.values())),) if sizes else ()
        for name, arr in values.items():
            arr = np.broadcast_to(arr, shape).copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_reduced(cls, sigma_a, sigma_s_prime, g=0.0, eta=1.0) -> Medium:
        """A medium given by its reduced scattering coefficient σ's = σs(1 − g) [mm⁻¹].

        Diffusion models depend on σ's only; ``g`` (default 0) fixes σs = σ's/(1 − g) for
        models that need the phase function (single scattering, Monte Carlo).
        """
        g_arr = as_float_array("g", g)
        check_range("g", g_arr, lo=-1.0, hi=1.0, lo_open=True, hi_open=True)
        ssp = as_float_array("sigma_s_prime", sigma_s_prime)
        check_range("sigma_s_prime", ssp, lo=0.0, unit="mm^-1")
        return cls(sigma_a=sigma_a, sigma_s=ssp / (1.0 - g_arr), g=g_arr, eta=eta)

    # -- shape -----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """``()`` for one channel given as scalars, else ``(channels,)``."""
        return self.sigma_a.shape

    @property
    def n_channels(self) -> int:
        """Number of channels (1 for a scalar medium)."""
        return int(self.sigma_a.size)

    def channel(self, i: int) -> Medium:
        """The single-channel medium of channel ``i``."""
        if self.shape == ():
            if i not in (0, -1):
                raise IndexError(f"channel index {i} out of range for a single-channel medium")
            return self
        return Medium(self.sigma_a[i], self.sigma_s[i], self.g[i], self.eta[i])

    # -- derived quantities (names as in the papers) -----------------------------------------
    @property
    def sigma_t(self) -> np.ndarray:
        """Extinction coefficient σt = σa + σs [mm⁻¹]."""
        return self.sigma_a + self.sigma_s

    @property
    def albedo(self) -> np.ndarray:
        """Single-scattering albedo α = σs/σt (0 where σt = 0)."""
        return _safe_ratio(self.sigma_s, self.sigma_t)

    @property
    def sigma_s_prime(self) -> np.ndarray:
        """Reduced scattering coefficient σ's = σs(1 − g) [mm⁻¹]."""
        return self.sigma_s * (1.0 - self.g)

    @property
    def sigma_t_prime(self) -> np.ndarray:
        """Reduced extinction coefficient σ't = σa + σ's [mm⁻¹]."""
        return self.sigma_a + self.sigma_s_prime

    @property
    def albedo_prime(self) -> np.ndarray:
        """Reduced albedo α' = σ's/σ't (0 where σ't = 0)."""
        return _safe_ratio(self.sigma_s_prime, self.sigma_t_prime)

    @property
    def sigma_tr(self) -> np.ndarray:
        """Effective transport coefficient σtr = sqrt(3 σa σ't) [mm⁻¹]."""
        return np.sqrt(3.0 * self.sigma_a * self.sigma_t_prime)

    @property
    def D(self) -> np.ndarray:
        """Diffusion coefficient D = 1/(3σ't) [mm] (inf where σ't = 0)."""
        with np.errstate(divide="ignore"):
            return 1.0 / (3.0 * self.sigma_t_prime)

    @property
    def mfp(self) -> np.ndarray:
        """Reduced mean free path ℓ = 1/σ't [mm] (inf where σ't = 0)."""
        with np.errstate(divide="ignore"):
            return 1.0 / self.sigma_t_prime

    # -- misc --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, list[float] | float]:
        """Plain-Python parameters (for JSON/HDF5 attributes)."""
        return {k: getattr(self, k).tolist() for k in ("sigma_a", "sigma_s", "g", "eta")}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Medium):
            return NotImplemented
        return all(np.array_equal(getattr(self, k), getattr(other, k))
                   for k in ("sigma_a", "sigma_s", "g", "eta"))

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, k).tobytes() for k in ("sigma_a", "sigma_s", "g", "eta")))

    def __repr__(self) -> str:
        def fmt(a: np.ndarray) -> str:
            return repr(float(a)) if a.ndim == 0 else "[" + ", ".join(f"{x:g}" for x in a) + "]"

        return (f"Medium(sigma_a={fmt(self.sigma_a)}, sigma_s={fmt(self.sigma_s)}, "
                f"g={fmt(self.g)}, eta={fmt(self.eta)})  # mm^-1")


@dataclass(frozen=True, eq=False)
class Layer:
    """A plane-parallel layer of a homogeneous medium, for the Monte Carlo tracer and layered models.

    Parameters
    ----------
    medium : Medium
        The layer's medium. The Monte Carlo tracer is monochromatic: it needs a
        single-channel medium (use ``medium.channel(i)`` for channel ``i``).
    thickness : float
        Thickness [mm], > 0; ``float("inf")`` for a semi-infinite base (the last layer of a stack).
    roughness : float, default 0.0
        Roughness of the layer's *top* interface (with the medium above it), as the α of an isotropic
        GGX (Trowbridge–Reitz) microfacet distribution (Walter et al. 2007; α = 0: a smooth interface),
        in [0, 1]. Dimensionless. The bottom of a stack is set where the stack is used
        (``roughness_below``).

    Raises
    ------
    ValueError
        If ``medium`` is not a :class:`Medium`, ``thickness`` is not > 0 or ``roughness`` is not in
        [0, 1].
    """

    medium: Medium
    thickness: float
    roughness: float = 0.0

    def __post_init__(self) -> None:
        from ._validate import positive_scalar

        if not isinstance(self.medium, Medium):
            raise ValueError(f"Layer: medium must be a bssrdf.Medium; got {type(self.medium).__name__}")
        object.__setattr__(self, "thickness", positive_scalar("thickness", self.thickness, unit="mm",
                                                              allow_inf=True))
        object.__setattr__(self, "roughness", check_roughness("roughness", self.roughness))

    @property
    def semi_infinite(self) -> bool:
        """True for an infinitely thick layer."""
        return self.thickness == float("inf")

    def to_dict(self) -> dict:
        """Plain-Python parameters (for TOML/HDF5); ``roughness`` only when the top interface is rough."""
        d = {**self.medium.to_dict(), "thickness": self.thickness}
        if self.roughness:
            d["roughness"] = self.roughness
        return d

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return (self.medium == other.medium and self.thickness == other.thickness
                and self.roughness == other.roughness)

    def __hash__(self) -> int:
        return hash((self.medium, self.thickness, self.roughness))


def check_roughness(name: str, value) -> float:
    """``value`` as a float in [0, 1] (a GGX α), or ValueError naming ``name``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number in [0, 1] (GGX alpha); got {value!r}")
    try:
        alpha = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1] (GGX alpha); got {value!r}") from None
    if not (0.0 <= alpha <= 1.0):
        raise ValueError(f"{name} must be in [0, 1] (GGX alpha); got {value!r}")
    return alpha


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)

"""The result of a fit: estimates, standard errors, correlations, goodness of fit and the :class:`Medium`.

Units: σa, σ's in mm⁻¹ (σs = σ's/(1 − g) in the Medium), lengths in mm.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_write
from ..medium import Medium

__all__ = ["FitError", "FitResult", "RESULT_FORMAT", "CORRELATION_LIMIT", "RELATIVE_ERROR_LIMIT"]

RESULT_FORMAT = "bssrdf.fit result 1"
CORRELATION_LIMIT = 0.99      # |correlation| above this: poorly constrained (a near-degenerate pair)
RELATIVE_ERROR_LIMIT = 0.3    # standard error above this fraction of the estimate: poorly constrained


class FitError(ValueError):
    """A fit that cannot be done or did not converge (the message says which and why)."""


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()] if x.ndim else _jsonable(x.item())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass
class FitResult:
    """What a fit found, per channel.

    Attributes
    ----------
    kind : str
        ``"profile"``, ``"totals"`` or ``"appearance"``.
    model : str
        The forward model, in words (e.g. ``"mc: Monte Carlo table ..."``).
    channels : list of str
    sigma_a, sigma_s_prime : ndarray (C,)
        Estimates of σa and σ's [mm⁻¹].
    sigma_a_stderr, sigma_s_prime_stderr : ndarray (C,)
        Their standard errors [mm⁻¹] (NaN where no uncertainty could be given: see ``notes``).
    parameters : list of str
        Names of the fitted quantities in the order of ``covariance`` and ``correlation``, e.g.
        ``"sigma_a[R]"``, ``"sigma_s_prime[R]"``, ``"scale"``.
    covariance, correlation : ndarray (P, P)
        Of the quantities in ``parameters`` (linearised at the estimate; NaN where unavailable).
    medium : Medium
        σa, σs = σ's/(1 − g), g and η of the result.
    chi2, dof, chi2_reduced, p_value : float or None
        Goodness of fit (None for exact inversions, or without measurement uncertainties).
    scale, scale_stderr : ndarray or None
        Fitted scale factor(s) of the measurement (``unknown_scale``), else None.
    poorly_constrained : ndarray of bool (C,)
        Channels whose estimates are not pinned down by the data (|correlation| > 0.99 or a relative
        standard error > 30 %); ``notes`` says which.
    notes : list of str
        Everything the reader must know: poorly constrained channels, points left out, model caveats.
    inputs : dict
        The fit's inputs (file, options), for the record.
    extra : dict
        Kind-specific outputs (e.g. the fitted R and T of a totals fit, reduced χ² per channel).
    """

    kind: str
    model: str
    channels: list[str]
    sigma_a: np.ndarray
    sigma_s_prime: np.ndarray
    sigma_a_stderr: np.ndarray
    sigma_s_prime_stderr: np.ndarray
    parameters: list[str]
    covariance: np.ndarray
    correlation: np.ndarray
    medium: Medium
    chi2: float | None = None
    dof: int | None = None
    chi2_reduced: float | None = None
    p_value: float | None = None
    scale: np.ndarray | None = None
    scale_stderr: np.ndarray | None = None
    poorly_constrained: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    notes: list[str] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    plot_data: dict | None = field(default=None, repr=False)

    # -- derived ------------------------------------------------------------------------------------
    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def corr_a_s(self) -> np.ndarray:
        """Correlation of σa and σ's within each channel (C,)."""
        out = np.full(self.n_channels, np.nan)
        for c, name in enumerate(self.channels):
            try:
                i = self.parameters.index(f"sigma_a[{name}]")
                j = self.parameters.index(f"sigma_s_prime[{name}]")
            except ValueError:
                continue
            out[c] = self.correlation[i, j]
        return out

    @property
    def alpha_prime(self) -> np.ndarray:
        """Reduced albedo α' = σ's/σ't of the estimates."""
        return self.sigma_s_prime / (self.sigma_a + self.sigma_s_prime)

    # -- text -----------------------------------------------------------------------------------------
    def summary(self) -> str:
        """A table of the estimates with standard errors and correlations, goodness of fit and notes."""
        lines = [f"bssrdf.fit {self.kind}: {self.model}"]
        if self.kind == "profile" and self.chi2_reduced is not None:
            lines.append(f"  reduced chi^2 {self.chi2_reduced:.3g} ({self.dof} degrees of freedom, p = "
                         f"{self.p_value:.3g})")
        elif self.kind == "profile":
            lines.append("  reduced chi^2: n/a (no uncertainties in the data; standard errors from the "
                         "scatter of the residuals)")
        width = max(7, *(len(c) for c in self.channels))
        lines.append(f"  {'channel':<{width}}  {'sigma_a [mm^-1]':>24}  {'sigma_s_prime [mm^-1]':>24}  "
                     f"{'corr':>6}  {'alpha_prime':>11}")
        corr = self.corr_a_s
        for c, name in enumerate(self.channels):
            poor = self.poorly_constrained.size and self.poorly_constrained[c]
            flag = "  POORLY CONSTRAINED" if poor else ""
            lines.append(f"  {name:<{width}}  {_pm(self.sigma_a[c], self.sigma_a_stderr[c]):>24}  "
                         f"{_pm(self.sigma_s_prime[c], self.sigma_s_prime_stderr[c]):>24}  "
                         f"{_num(corr[c], '+.3f'):>6}  {self.alpha_prime[c]:>11.6f}{flag}")
        if self.scale is not None:
            s = np.atleast_1d(self.scale)
            e = np.atleast_1d(self.scale_stderr)
            lines.append("  scale factor: " + ", ".join(_pm(a, b) for a, b in zip(s, e, strict=True)))
        red = self.extra.get("chi2_reduced_per_channel")
        if red is not None and self.chi2_reduced is not None:
            lines.append("  reduced chi^2 per channel: " + ", ".join(
                f"{n} {_num(v, '.3g')}" for n, v in zip(self.channels, red, strict=True)))
        m = self.medium
        lines.append(f"  medium: {m!r}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    # -- files ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The JSON form (``RESULT_FORMAT``): units, model, estimates, errors, correlations, χ², Medium."""
        from .. import __version__
        from ..export import medium_to_dict

        d = {
            "format": RESULT_FORMAT,
            "bssrdf_version": __version__,
            "kind": self.kind,
            "units": {"sigma_a": "mm^-1", "sigma_s_prime": "mm^-1", "sigma_s": "mm^-1", "lengths": "mm",
                      "profiles": "mm^-2"},
            "model": self.model,
            "channels": list(self.channels),
            "estimates": {"sigma_a": self.sigma_a, "sigma_s_prime": self.sigma_s_prime,
                          "alpha_prime": self.alpha_prime},
            "standard_errors": {"sigma_a": self.sigma_a_stderr, "sigma_s_prime": self.sigma_s_prime_stderr},
            "parameters": list(self.parameters),
            "covariance": self.covariance,
            "correlation": self.correlation,
            "correlation_sigma_a_sigma_s_prime": self.corr_a_s,
            "chi2": self.chi2,
            "dof": self.dof,
            "chi2_reduced": self.chi2_reduced,
            "p_value": self.p_value,
            "poorly_constrained": self.poorly_constrained,
            "notes": list(self.notes),
            "medium": medium_to_dict(self.medium),
            "inputs": self.inputs,
            "extra": self.extra,
        }
        if self.scale is not None:
            d["estimates"]["scale"] = self.scale
            d["standard_errors"]["scale"] = self.scale_stderr
        return _jsonable(d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_json` to ``path`` atomically (nothing partial on failure)."""
        text = self.to_json()
        target = Path(path)
        with atomic_write(target) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        return target


def _num(x, fmt: str) -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(float(x), fmt)


def _pm(value, err) -> str:
    """``value ± err`` with the error to two significant digits and the value to match."""
    v = float(value)
    if err is None or not np.isfinite(err) or err <= 0:
        return f"{v:.6g}" + ("" if err is not None and np.isfinite(err) else " ± n/a")
    digits = max(0, 1 - int(math.floor(math.log10(err))))
    if digits > 12 or abs(v) >= 1e6:
        return f"{v:.4g} ± {float(err):.2g}"
    return f"{v:.{digits}f} ± {float(err):.{digits}f}" if digits else f"{v:.0f} ± {float(err):.2g}"

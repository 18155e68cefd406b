"""Running the Monte Carlo tracer: input checks, batches and launches, statistics, interruption."""

from __future__ import annotations

import math
import numbers
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import backend as _backend
from .._validate import positive_scalar
from ..fresnel import F_r
from ..medium import Layer, check_roughness
from .result import MCResult

__all__ = ["simulate"]

N_BATCHES = 64           # photons are split into this many batches for the standard errors
ROULETTE_W = 1e-4        # MCML's roulette threshold weight
ROULETTE_M = 10.0        # MCML's roulette: survive with chance 1/m, weight times m
MAX_LAUNCH = 1 << 27     # photons per launch: bounds the fixed-point tallies (< 2^64)
MAX_TALLY_VALUES = 1 << 22  # batches * tally size per launch (32 MiB of uint64, per CPU thread)
TARGET_LAUNCH_S = {"cpu": 0.25, "cuda": 0.5}  # aim for launches this long (progress, Ctrl-C)
FIXED = float(1 << 32)   # fixed-point scale of the tallies (cuda/include/bssrdf/mc.h)
N_SCALARS = 11  # bssrdf::mc::N_SCALARS, the scalar tallies in the order of mc.h's enum
(R_DIFFUSE, T_TOTAL, R_UNSCATTERED, T_UNSCATTERED, R_SINGLE, ROULETTE_GAIN, ROULETTE_LOSS, W_CUT,
 A_OUTSIDE_Z, R_SPECULAR, EVENTS) = range(N_SCALARS)
CONFIG_HEADER, CONFIG_PER_LAYER = 11, 7  # bssrdf::mc's config layout (mc.h's `unpack`)
MAX_LAYERS = 32  # bssrdf::mc::MAX_LAYERS (tests check these against the extension)


class EnergyConservationError(RuntimeError):
    """A run's weight ledger does not balance: a bug, never statistics."""


@dataclass(frozen=True)
class _Plan:
    layers: tuple[Layer, ...]
    config: np.ndarray
    n_r: int
    n_z: int
    r_max: float
    z_max: float
    w0: float
    R_specular: float | None  # None: a rough top, whose specular reflectance the tracer tallies
    roughness_below: float = 0.0

    @property
    def rough_top(self) -> bool:
        """Photons cross a rough top in the tracer (GGX α > 0 and an index step)."""
        return self.R_specular is None

    @property
    def size(self) -> int:
        return N_SCALARS + len(self.layers) + 3 * self.n_r + self.n_z

    @property
    def r_edges(self) -> np.ndarray:
        """Radial bin edges [mm]."""
        return np.linspace(0.0, self.r_max, self.n_r + 1)

    @property
    def z_edges(self) -> np.ndarray:
        """Depth bin edges [mm]."""
        return np.linspace(0.0, self.z_max, self.n_z + 1)


def _int_arg(name: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float, np.floating)):
        raise ValueError(f"{name} must be an integer >= {lo}; got {value!r}")
    if isinstance(value, (float, np.floating)):
        if not (math.isfinite(value) and float(value).is_integer()):
            raise ValueError(f"{name} must be an integer >= {lo}; got {value!r}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an integer {rng}; got {value!r}")
    return v


def _check_layers(layers) -> tuple[Layer, ...]:
    if isinstance(layers, Layer):
        layers = (layers,)
    try:
        layers = tuple(layers)
    except TypeError:
        raise ValueError(f"layers must be a sequence of bssrdf.Layer; got {layers!r}") from None
    if not layers:
        raise ValueError("layers must contain at least one bssrdf.Layer; got none")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"layers: at most {MAX_LAYERS} layers; got {len(layers)}")
    for i, L in enumerate(layers):
        if not isinstance(L, Layer):
            raise ValueError(f"layers[{i}] must be a bssrdf.Layer; got {type(L).__name__}")
        if L.medium.n_channels != 1:
            raise ValueError(f"layers[{i}]: the tracer is monochromatic and needs a single-channel "
                             f"medium; got {L.medium.n_channels} channels (use medium.channel(i))")
        if L.semi_infinite and i != len(layers) - 1:
            raise ValueError(f"layers[{i}]: only the last layer may be semi-infinite (thickness inf)")
    return layers


def _plan(layers, n_above, n_below, r_max, n_r, n_z, z_max, incidence_angle, max_path_length,
          dtype, roughness_below=0.0) -> _Plan:
    n_above = positive_scalar("n_above", n_above)
    n_below = positive_scalar("n_below", n_below)
    roughness_below = check_roughness("roughness_below", roughness_below)
    r_max = positive_scalar("r_max", r_max, unit="mm")
    n_r = _int_arg("n_r", n_r, 1, 1 << 24)
    if isinstance(incidence_angle, bool) or not isinstance(incidence_angle, numbers.Real) \
            or not (0.0 <= float(incidence_angle) < 90.0):
        raise ValueError(f"incidence_angle must be in [0, 90) degrees; got {incidence_angle!r}")
    theta = math.radians(float(incidence_angle))
    max_path = math.inf if max_path_length is None else positive_scalar(
        "max_path_length", max_path_length, unit="mm")
    total = sum(L.thickness for L in layers)
    z_max = (total if math.isfinite(total) else r_max) if z_max is None else positive_scalar(
        "z_max", z_max, unit="mm")
    n_z = n_r if n_z is None else _int_arg("n_z", n_z, 1, 1 << 24)
    last = layers[-1].medium
    if layers[-1].semi_infinite and max_path == math.inf:
        if float(last.sigma_a) == 0.0:
            raise ValueError("a semi-infinite base with sigma_a = 0 never ends a photon's path: give it "
                             "some absorption or set max_path_length")
    if layers[-1].semi_infinite and float(last.sigma_t) == 0.0:
        raise ValueError("a semi-infinite base must scatter or absorb (sigma_t > 0)")

    n0 = float(layers[0].medium.eta)
    cos_i = math.cos(theta)
    alphas = [_packed_alpha(L.roughness) for L in layers]
    if alphas[0] > 0.0 and dtype(n0) != dtype(n_above):  # the tracer's test (mc.h's unpack), in its type
        # a rough top: photons start above it (mc.h's layer -1) with the beam's direction and
        # weight 1, and cross it in event 0; the specular reflectance is a tally
        R_sp, ux0, uz0, w0 = None, math.sin(theta), cos_i, 1.0
    else:
        R_sp = float(F_r(cos_i, n0 / n_above))
        ux0 = n_above / n0 * math.sin(theta)
        uz0 = math.sqrt(max(0.0, 1.0 - ux0 * ux0))
        w0 = 1.0 - R_sp
    cfg = [n_above, n_below, ux0, uz0, w0, max_path, r_max, z_max, ROULETTE_W, ROULETTE_M,
           _packed_alpha(roughness_below)]
    z = 0.0
    for L, alpha in zip(layers, alphas, strict=True):
        m = L.medium
        cfg += [z, z + L.thickness, float(m.sigma_a), float(m.sigma_s), float(m.g), float(m.eta), alpha]
        z += L.thickness
    config = np.asarray(cfg, dtype=dtype)
    assert config.size == CONFIG_HEADER + CONFIG_PER_LAYER * len(layers)
    return _Plan(layers, config, n_r, n_z, r_max, z_max, float(config[4]), R_sp, roughness_below)


def _packed_alpha(alpha: float) -> float:
    """A GGX α as the tracer gets it: below float32's smallest normal number (1.2e-38) it is 0.

    The tracer takes an interface with α > 0 as rough; a subnormal α would be rough on the CPU and
    smooth on a GPU that flushes subnormals to zero, and a float64 α below that would be rough in
    double precision only. Such an α changes nothing physical, so it is packed as 0 (smooth).
    """
    return alpha if alpha >= float(np.finfo(np.float32).tiny) else 0.0


# -- backends -----------------------------------------------------------------------------------
class _CpuRunner:
    name = "cpu"

    def __init__(self, plan: _Plan, dtype, n_threads: int | None):
        core = _backend._core()
        self.fn = getattr(core, "mc_trace_f32" if dtype == np.float32 else "mc_trace_f64")
        self.plan = plan
        self.n_threads = 0 if n_threads is None else int(n_threads)
        # 1: SIMD lanes (AVX2 build where available); 2: generic SIMD build; 0: the GPU kernel's
        # scalar loop, on the CPU (the tests compare the three)
        self.mode = 1
        self.device = f"CPU, {core.max_threads() if not n_threads else n_threads} OpenMP threads"

    def run(self, seed: int, first: int, count: int, n_batches: int) -> np.ndarray:
        p = self.plan
        t = np.zeros(n_batches * p.size, dtype=np.uint64)
        self.fn(p.config, len(p.layers), p.n_r, p.n_z, seed, first, count, n_batches, t,
                self.n_threads, self.mode)
        return t.reshape(n_batches, p.size)


def _make_runner(name: str, plan: _Plan, dtype, n_threads):
    if name == "cuda":
        from ._cuda import CudaRunner

        return CudaRunner(plan, dtype)
    return _CpuRunner(plan, dtype, n_threads)


class _Interrupt:
    """SIGINT → a flag checked between launches (a second Ctrl-C interrupts at once)."""

    def __init__(self):
        self.flag = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.getsignal(signal.SIGINT)

            def handler(signum, frame):
                if self.flag:
                    raise KeyboardInterrupt
                self.flag = True

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


# -- the run ------------------------------------------------------------------------------------
def simulate(
    layers: Sequence[Layer] | Layer,
    n_photons: int,
    *,
    n_above: float = 1.0,
    n_below: float = 1.0,
    roughness_below: float = 0.0,
    r_max: float,
    n_r: int,
    seed: int = 0,
    backend: str = "auto",
    incidence_angle: float = 0.0,
    max_path_length: float | None = None,
    n_z: int | None = None,
    z_max: float | None = None,
    precision: str = "single",
    progress: bool | None = None,
    n_threads: int | None = None,
) -> MCResult:
    """Trace photon packets through a stack of layers (MCML conventions) and tally where they go.

    Parameters
    ----------
    layers : sequence of Layer, or one Layer
        From the top down; each a single-channel :class:`bssrdf.Medium` (σa, σs [mm⁻¹], g, η)
        and a thickness [mm]; the last may be ``float("inf")`` (a semi-infinite base). A layer's
        ``roughness`` (GGX α, dimensionless) makes its top interface rough (see Notes).
    n_photons : int
        Photon packets to trace, ≥ 1. Any count runs in bounded memory.
    n_above, n_below : float, default 1.0
        Refractive indices of the media above the top and below the bottom of the stack.
    roughness_below : float, default 0.0
        GGX α of the bottom of the last layer, in [0, 1] (dimensionless; 0: smooth). Irrelevant
        for a semi-infinite base.
    r_max : float
        Outer edge [mm] of the radial tallies ``R_r``, ``T_r``, ``R_r_single``.
    n_r : int
        Number of radial bins (width ``r_max / n_r``).
    seed : int, default 0
        Key of the counter-based generator (Philox4x32-10), 0 ≤ seed < 2⁶⁴. Photon ``k`` of a
        run draws the same numbers on every backend and thread layout.
    backend : {"auto", "cuda", "cpu"}, default "auto"
        "auto" takes the GPU when CuPy finds one, else the CPU extension (OpenMP threads).
    incidence_angle : float, default 0.0
        Angle of the pencil beam from the surface normal [degrees], in [0, 90).
    max_path_length : float, optional
        Stop photons after this path length [mm] (e.g. c·t/n for a time gate); their weight is
        tallied in ``W_cut``. Default: no limit.
    n_z, z_max : optional
        Depth bins of ``A_z``: ``n_z`` bins (default ``n_r``) over [0, ``z_max``] mm (default:
        the stack's thickness, or ``r_max`` for a semi-infinite base).
    precision : {"single", "double"}, default "single"
        Floating-point type of the transport arithmetic (tallies are exact integers either way).
    progress : bool, optional
        Show a progress bar (tqdm; photons/s). Default: shown once a run has taken 2 s.
    n_threads : int, optional
        OpenMP threads of the CPU backend (default: all cores).

    Returns
    -------
    MCResult
        Tallies with standard errors (``result.stderr(name)``), photon count, seed, backend,
        wall time. After Ctrl-C the photons traced so far, with ``partial=True``.

    Raises
    ------
    ValueError
        For invalid inputs (named, with the valid range).
    EnergyConservationError
        If the weight ledger of the run does not balance: R_specular + R_diffuse + T_total +
        A_total + W_cut − roulette_net must equal 1 up to float rounding.

    Notes
    -----
    Each photon's random numbers come from Philox4x32-10 keyed by ``seed`` with counter
    (event, photon index). Photon i belongs to batch i mod 64 (fewer batches for tiny runs or
    huge tally arrays); the standard error of each tally is that of the batch means, and does not
    depend on how the run was split into launches (nor does anything else). A run is reproducible
    bit for bit on a backend; the CPU and GPU trace the same photons, their tallies agreeing to
    float rounding.

    Rough interfaces: an interface with GGX α > 0 (a layer's ``roughness`` for its top,
    ``roughness_below`` for the bottom of the stack) and different indices on its two sides is
    crossed by a GGX microfacet (Walter et al. 2007, "Microfacet models for refraction through rough
    surfaces", EGSR) drawn from the distribution of visible normals (Heitz 2018), as Mitsuba 3's
    ``roughdielectric`` samples it: Fresnel reflection or refraction at that facet; an outgoing
    direction on the wrong side of the surface (light that would meet the microsurface again) draws
    the facet again, so the interface conserves energy (:mod:`bssrdf.microfacet` integrates the same
    model for the diffusion models). Photons enter through a rough top by the same step; what it
    reflects is then the tally ``R_specular``, with a standard error (through a smooth top,
    R_specular is Fresnel's, exact). α below 1.2e-38 counts as 0 (smooth).
    """
    layers = _check_layers(layers)
    n_photons = _int_arg("n_photons", n_photons, 1, (1 << 63) - 1)
    seed = _int_arg("seed", seed, 0, (1 << 64) - 1)
    if precision not in ("single", "double"):
        raise ValueError(f"precision must be 'single' or 'double'; got {precision!r}")
    if backend not in ("auto", "cuda", "cpu"):
        raise ValueError(f"backend must be 'auto', 'cuda' or 'cpu' for the Monte Carlo tracer; "
                         f"got {backend!r}")
    if n_threads is not None:
        n_threads = _int_arg("n_threads", n_threads, 1, 4096)
    dtype = np.float32 if precision == "single" else np.float64
    plan = _plan(layers, n_above, n_below, r_max, n_r, n_z, z_max, incidence_angle,
                 max_path_length, dtype, roughness_below)
    name = _backend.resolve(backend)
    if name == "numpy":
        raise RuntimeError("the Monte Carlo tracer needs the compiled extension bssrdf._core or a GPU; "
                           "reinstall with a C++17 compiler present (pip install -e .)")
    runner = _make_runner(name, plan, dtype, n_threads)

    # Photon i belongs to batch i mod n_batches (whatever launch traces it), so a run's errors do
    # not depend on launch sizes, and an interrupted run has traced part of every batch.
    n_batches = _n_batches(n_photons, plan.size)
    sums = np.zeros((n_batches, plan.size), dtype=np.float64)
    ints = np.zeros(N_SCALARS + len(layers), dtype=object)  # exact ledger (Python ints)
    done = np.zeros(n_batches, dtype=np.int64)
    events = 0
    launch = 1024 if name == "cpu" else 1 << 20
    target = TARGET_LAUNCH_S[name]
    interrupted = False
    first = 0
    bar = _progress_bar(n_photons, progress)
    t0 = time.perf_counter()
    try:
        with _Interrupt() as stop:
            while first < n_photons and not stop.flag:
                count = min(launch, n_photons - first)
                t_launch = time.perf_counter()
                t = runner.run(seed, first, count, n_batches)
                dt = time.perf_counter() - t_launch
                sums += t.astype(np.float64)
                ints += [int(x) for x in t[:, : N_SCALARS + len(layers)].sum(axis=0, dtype=object)]
                events += int(t[:, EVENTS].sum())
                done += _batch_counts(first, count, n_batches)
                first += count
                if bar is not None:
                    bar.update(count)
                if count == launch:  # a full launch: aim the next one at the target time
                    rate = count / max(dt, 1e-6)
                    launch = int(min(MAX_LAUNCH, max(256, min(4 * launch, rate * target))))
            interrupted = first < n_photons
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    n_done = int(done.sum())
    if n_done == 0:
        raise KeyboardInterrupt("Monte Carlo run interrupted before any photon was traced")
    _check_ledger(ints, n_done, plan, events, dtype)
    tallies, errors = _statistics(sums, done, plan)
    from .. import __version__

    return MCResult(
        layers=layers, n_above=float(n_above),
        n_below=float(n_below), roughness_below=plan.roughness_below,
        incidence_angle=float(incidence_angle),
        max_path_length=None if max_path_length is None else float(max_path_length),
        r_edges=plan.r_edges, z_edges=plan.z_edges,
        tallies=tallies, errors=errors, n_photons=n_done, n_requested=n_photons, seed=seed,
        backend=name, precision=precision, wall_time=wall, events=events,
        n_batches=int(np.count_nonzero(done)), partial=interrupted, version=__version__,
        device=runner.device,
    )


def _n_batches(n_photons: int, size: int) -> int:
    """N_BATCHES, or fewer for tiny runs or tally arrays so large that 64 copies would not fit."""
    return int(max(1, min(N_BATCHES, n_photons, max(4, MAX_TALLY_VALUES // size))))


def _batch_counts(first: int, count: int, n_batches: int) -> np.ndarray:
    """Photons of [first, first + count) in each batch (photon i in batch i mod n_batches)."""
    b = np.arange(n_batches)
    i0 = first + (b - first) % n_batches
    return np.where(i0 < first + count, (first + count - i0 + n_batches - 1) // n_batches, 0)


def _progress_bar(total: int, progress: bool | None):
    if progress is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit="photon", unit_scale=True, delay=0 if progress else 2.0,
                desc="Monte Carlo", leave=False, dynamic_ncols=True)


def _check_ledger(ints, n: int, plan: _Plan, events: int, dtype) -> None:
    """W_in = R_s + R_d + T + A + W_cut + roulette loss − roulette gain, in fixed-point units.

    Through a smooth top W_in = n·(1 − R_specular) (R_SPECULAR, the tally, is 0); through a rough
    top W_in = n and the tracer tallies the specular reflection.
    """
    L = len(plan.layers)
    w_in = n * int(float(plan.w0) * FIXED + 0.5)
    a = sum(ints[N_SCALARS:N_SCALARS + L])
    out = (ints[R_SPECULAR] + ints[R_DIFFUSE] + ints[T_TOTAL] + a + ints[W_CUT] + ints[ROULETTE_LOSS]
           - ints[ROULETTE_GAIN])
    # each fixed-point deposit rounds by half a unit; float arithmetic of the weight by ~eps
    eps = float(np.finfo(dtype).eps)
    tol = 2 * events + 8 * n + 64 * eps * FIXED * n
    if abs(out - w_in) > tol:
        r_s = plan.R_specular if not plan.rough_top else 0.0
        raise EnergyConservationError(
            "Monte Carlo energy check failed: R_specular + R_diffuse + T_total + A_total "
            f"+ W_cut − roulette_net = {r_s + out / FIXED / n:.12g} (expected 1; R_specular "
            f"{r_s + ints[R_SPECULAR] / FIXED / n:.6g}, R_diffuse {ints[R_DIFFUSE] / FIXED / n:.6g}, "
            f"T_total {ints[T_TOTAL] / FIXED / n:.6g}, A_total {a / FIXED / n:.6g}, W_cut "
            f"{ints[W_CUT] / FIXED / n:.6g}, roulette gain {ints[ROULETTE_GAIN] / FIXED / n:.6g}, loss "
            f"{ints[ROULETTE_LOSS] / FIXED / n:.6g})")


def _statistics(sums: np.ndarray, done: np.ndarray, plan: _Plan):
    """Means per photon of every tally and their standard errors from the batch means."""
    keep = done > 0
    sums, done = sums[keep] / FIXED, done[keep].astype(np.float64)
    n = done.sum()
    mean = sums.sum(axis=0) / n
    B = len(done)
    if B > 1:
        dev = sums / done[:, None] - mean
        var = (done[:, None] * dev**2).sum(axis=0) / (B - 1)   # per-photon variance
        err = np.sqrt(var / n)
    else:
        err = np.full_like(mean, np.nan)
    L, nr, nz = len(plan.layers), plan.n_r, plan.n_z
    r, z = plan.r_edges, plan.z_edges
    area = np.pi * (r[1:] ** 2 - r[:-1] ** 2)
    dz = np.diff(z)
    o = N_SCALARS
    sl = {"A_layers": slice(o, o + L), "R_r": slice(o + L, o + L + nr),
          "T_r": slice(o + L + nr, o + L + 2 * nr), "R_r_single": slice(o + L + 2 * nr, o + L + 3 * nr),
          "A_z": slice(o + L + 3 * nr, o + L + 3 * nr + nz)}
    scale = {"A_layers": 1.0, "R_r": area, "T_r": area, "R_r_single": area, "A_z": dz}
    tallies: dict = {}
    errors: dict = {}
    if plan.rough_top:  # tallied by the tracer
        tallies["R_specular"], errors["R_specular"] = float(mean[R_SPECULAR]), float(err[R_SPECULAR])
    else:               # Fresnel's, exact
        tallies["R_specular"], errors["R_specular"] = plan.R_specular, 0.0
    for name, idx in (("R_diffuse", R_DIFFUSE), ("R_unscattered", R_UNSCATTERED), ("R_single", R_SINGLE),
                      ("T_total", T_TOTAL), ("T_unscattered", T_UNSCATTERED), ("W_cut", W_CUT)):
        tallies[name], errors[name] = float(mean[idx]), float(err[idx])
    for name, s in sl.items():
        tallies[name], errors[name] = mean[s] / scale[name], err[s] / scale[name]
    tallies["A_total"] = float(tallies["A_layers"].sum())
    # A_total's error: from the batch means of the per-layer sum, not a sum of errors
    tallies["roulette_net"] = float(mean[ROULETTE_GAIN] - mean[ROULETTE_LOSS])
    if B > 1:
        a_b = sums[:, sl["A_layers"]].sum(axis=1) / done
        errors["A_total"] = float(math.sqrt((done * (a_b - tallies["A_total"]) ** 2).sum() / (B - 1) / n))
        net_b = (sums[:, ROULETTE_GAIN] - sums[:, ROULETTE_LOSS]) / done
        errors["roulette_net"] = float(math.sqrt((done * (net_b - tallies["roulette_net"]) ** 2).sum()
                                                 / (B - 1) / n))
    else:
        errors["A_total"] = errors["roulette_net"] = float("nan")
    tallies["A_outside_z"] = float(mean[A_OUTSIDE_Z])
    errors["A_outside_z"] = float(err[A_OUTSIDE_Z])
    return tallies, errors

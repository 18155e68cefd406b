"""Benchmarks: ``python -m bssrdf.bench profiles``, ``... mc``, ``... layers`` and ``... fit``.

``profiles`` prints evaluated values per second for the dipole and the multipole (10 and 40
dipole pairs, i.e. 21 and 81 dipoles, as fixed image sums) on every available backend, over array
sizes from 1e3 up to ``--max-size``. On a GPU it also measures the device's copy bandwidth
(device-to-device copy of a large array) and prints the fraction of it that the dipole kernel
moves (it reads r and writes R: 2 values' worth of bytes per value).

Timing: each case is run once to warm up (compilation, caches), then repeated until at least
``--min-time`` seconds have passed; the best repetition is reported. GPU timings use CUDA
events around the kernel launch alone ("kernel") and around the public API call, which also
validates the radii ("api").

``fit`` times :func:`bssrdf.fit.fit_profile` on a three-channel profile of 200 radii (the case of the issue's
speed targets: under 1 s with the dipole or multipole, under 5 s with the Monte Carlo table, on the CPU), and
:func:`bssrdf.fit.fit_totals` and :func:`bssrdf.fit.from_appearance` on three channels; each case is run
``--repeat`` times (default 3, after one warm-up that builds the cached tables) and the best wall time is
printed with the fit's function evaluations.

``mc`` prints the speed of the Monte Carlo tracer (:func:`bssrdf.mc.simulate`): photons per ms,
scattering events per second, wall time, photon count and device, for every available backend
and each case (MCX's ``cube60`` physics with its 5 ns cut, a three-layer skin stack with Fresnel
boundaries, and cube60 without the cut, the physics of the MCML comparison), beside the speed
targets. Each case is traced once with a few photons to warm up (kernel compilation), then
timed once through the public call (``MCResult.wall_time``: launches, copies and statistics
included).

``layers`` times :func:`bssrdf.profiles.layered.R` and ``.T`` for a three-layer RGB stack (skin-like:
epidermis 0.25 mm, dermis 2 mm, a semi-infinite subcutis, a rough top) on a 1024-point radius grid,
per backend ("cpu": NumPy and SciPy; "cuda": CuPy and cuFFT, radii and result on the GPU), through the
public call (checks, composition, FFTLog, interpolation). Best of repetitions over ``--min-time``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from .. import Medium, backend
from ..profiles import dipole, multipole

# one channel: marble, red (σ's 2.19, σa 0.0021 mm⁻¹, η 1.5); slab 2 mm
MEDIUM = Medium.from_reduced(0.0021, 2.19, eta=1.5)
THICKNESS = 2.0


def _cases():
    return {
        "dipole": (lambda r, b: dipole.R_d(r, MEDIUM, backend=b), "dipole_R_d", None),
        "multipole n=10 (21 dipoles)": (
            lambda r, b: multipole.R(r, MEDIUM, THICKNESS, n_dipoles=10, backend=b), "multipole", 10),
        "multipole n=40 (81 dipoles)": (
            lambda r, b: multipole.R(r, MEDIUM, THICKNESS, n_dipoles=40, backend=b), "multipole", 40),
    }


def _best_time(fn, min_time: float, sync=lambda: None) -> float:
    fn()
    sync()
    best, spent = np.inf, 0.0
    while spent < min_time:
        t0 = time.perf_counter()
        fn()
        sync()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return best


def _gpu_event_time(fn, min_time: float) -> float:
    import cupy as cp

    fn()
    cp.cuda.Device().synchronize()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    best, spent = np.inf, 0.0
    while spent < min_time:
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        dt = cp.cuda.get_elapsed_time(start, stop) * 1e-3
        best, spent = min(best, dt), spent + dt
    return best


def copy_bandwidth(n_bytes: int = 2**30) -> float:
    """Device-to-device copy bandwidth [bytes/s] (read + write counted)."""
    import cupy as cp

    a = cp.empty(n_bytes // 4, dtype=cp.float32)
    b = cp.empty_like(a)
    t = _gpu_event_time(lambda: b.__setitem__(Ellipsis, a), 0.5)
    return 2 * a.nbytes / t


def _raw_kernel(name: str, r, n_pairs, dtype):
    """The bare CUDA launch without validation or convergence checks."""
    from ..backend import Scalar, _launch_cuda
    from ..profiles._common import channel_vector, relative_eta

    eta = channel_vector(relative_eta(MEDIUM, 1.0))
    sa, ssp = channel_vector(MEDIUM.sigma_a), channel_vector(MEDIUM.sigma_s_prime)
    if name == "dipole_R_d":
        return lambda: _launch_cuda(name, r, [sa, ssp, eta], [], [], dtype)
    scalars = [Scalar(THICKNESS, "T"), Scalar(n_pairs, "i"), Scalar(0, "i"), Scalar(0, "i")]
    return lambda: _launch_cuda(name, r, [sa, ssp, eta, eta], [], scalars, dtype)


def bench_profiles(backends, sizes, dtypes, min_time: float) -> list[dict]:
    rows = []
    bandwidth = None
    if "cuda" in backends:
        bandwidth = copy_bandwidth()
        print(f"# GPU copy bandwidth: {bandwidth / 1e12:.3f} TB/s (device-to-device, read+write)")
    header = f"{'backend':7} {'dtype':7} {'model':28} {'size':>10} {'values/s':>12} {'note':>24}"
    print(header)
    print("-" * len(header))
    for b in backends:
        for dtype in dtypes:
            for label, (fn, kname, n_pairs) in _cases().items():
                for n in sizes:
                    if b == "numpy" and n > 1e7:
                        continue  # minutes per point; the reference is not a speed target
                    r_host = np.linspace(0.0, 20.0, int(n)).astype(dtype)
                    note = ""
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if b == "cuda":
                            import cupy as cp

                            r = cp.asarray(r_host)
                            t = _gpu_event_time(lambda fn=fn, r=r, b=b: fn(r, b), min_time)
                            t_k = _gpu_event_time(_raw_kernel(kname, r, n_pairs, np.dtype(dtype)),
                                                  min_time)
                            note = f"kernel {n / t_k:.3g}/s"
                            if kname == "dipole_R_d":
                                frac = 2 * np.dtype(dtype).itemsize * n / t_k / bandwidth
                                note = f"kernel {frac:.0%} of copy BW"
                        else:
                            t = _best_time(lambda fn=fn, r=r_host, b=b: fn(r, b), min_time)
                    rows.append(dict(backend=b, dtype=np.dtype(dtype).name, model=label, size=int(n),
                                     values_per_s=n / t, note=note))
                    print(f"{b:7} {np.dtype(dtype).name:7} {label:28} {int(n):>10.0e} {n / t:>12.3e} "
                          f"{note:>24}", flush=True)
    return rows


def _speedup_summary(rows: list[dict]) -> None:
    """CPU extension vs NumPy reference at the largest size both ran."""
    for model in sorted({r["model"] for r in rows}):
        sizes = [x["size"] for x in rows if x["model"] == model and x["backend"] == "numpy"]
        if not sizes:
            continue
        pick = {(r["backend"], r["dtype"]): r for r in rows
                if r["model"] == model and r["size"] == max(sizes)}
        if ("cpu", "float64") in pick and ("numpy", "float64") in pick:
            s = pick[("cpu", "float64")]["values_per_s"] / pick[("numpy", "float64")]["values_per_s"]
            print(f"# {model}: CPU extension / NumPy reference (float64, "
                  f"{pick[('cpu', 'float64')]['size']:.0e} values): {s:.1f}x")

# -- Monte Carlo ------------------------------------------------------------------------------
C_MM_PER_NS = 299.792458   # speed of light in vacuum [mm/ns]
CUBE60_N = 1.37
CUBE60_CUT = C_MM_PER_NS * 5.0 / CUBE60_N   # path length [mm] of 5 ns of flight in n = 1.37 (≈ 1094)

# speed targets of the tracer, and the codes they come from (see the table's "target" column)
GPU_PHOTONS_PER_MS = 1.0e6    # cube60, one GPU (MCX pmcx: ~3.5e5 photons/ms on an H100)
GPU_EVENTS_PER_S = 1.0e11     # cube60, one GPU
CPU_PHOTONS_PER_S_CORE = 5e5  # cube60 physics, per core (MCML 1.2.2, gcc -O3: ~1.7e5 photons/s, one core)
DEFAULT_PHOTONS = {"cpu": 1e6, "cuda": 1e8}   # a few seconds per case on a CPU, ~1 s on a GPU


def _mc_cases() -> dict[str, dict]:
    """name -> keyword arguments of bssrdf.mc.simulate (besides photons, backend, precision)."""
    from .. import Layer

    # MCX's cube60 benchmark physics as an infinite slab: μa 0.005 mm⁻¹, μs 1 mm⁻¹, g 0.01,
    # 60 mm thick, n 1.37 inside and outside (no reflection at the boundaries), pencil beam.
    cube60 = [Layer(Medium(0.005, 1.0, 0.01, CUBE60_N), 60.0)]
    matched = dict(n_above=CUBE60_N, n_below=CUBE60_N, r_max=30.0, n_r=100, n_z=60)
    # Skin near 600 nm in air, Fresnel at every boundary. Round, representative values (not a fit
    # to one data set) inside the ranges reviewed by Bashkatov, Genina & Tuchin, J. Innov. Opt.
    # Health Sci. 4, 9-38 (2011), skin/dermis/subcutaneous-fat tables; the skin reduced scattering
    # of Jacques, Phys. Med. Biol. 58, R37 (2013), 46.0 cm⁻¹ (λ/500 nm)^-1.421 ≈ 3.6 mm⁻¹ at 600 nm:
    #   epidermis 0.1 mm: μa 0.4 mm⁻¹ (light-moderate melanin), μs 25 mm⁻¹, g 0.80 (μs' 5.0), n 1.40
    #   dermis    1.5 mm: μa 0.05 mm⁻¹ (~1-2 % blood),         μs 20 mm⁻¹, g 0.85 (μs' 3.0), n 1.40
    #   subcutis  3.0 mm: μa 0.02 mm⁻¹ (fat),                  μs 15 mm⁻¹, g 0.90 (μs' 1.5), n 1.44
    skin = [Layer(Medium(0.4, 25.0, 0.80, 1.40), 0.1),
            Layer(Medium(0.05, 20.0, 0.85, 1.40), 1.5),
            Layer(Medium(0.02, 15.0, 0.90, 1.44), 3.0)]
    return {
        "cube60": dict(layers=cube60, max_path_length=CUBE60_CUT, **matched),
        "skin3": dict(layers=skin, n_above=1.0, n_below=1.0, r_max=10.0, n_r=100, n_z=100),
        "cube60-nocut": dict(layers=cube60, max_path_length=None, **matched),
    }


MC_CASE_LABELS = {
    "cube60": "cube60 (5 ns cut)",
    "skin3": "skin, 3 layers, Fresnel",
    "cube60-nocut": "cube60, no cut (MCML)",
}


def _mc_target(backend_name: str, case: str, photons_per_ms: float, events_per_s: float,
               n_threads: int) -> str:
    """The issue's target for this row and how the measurement compares ("" where none applies)."""
    if backend_name == "cuda" and case == "cube60":
        ok = photons_per_ms >= GPU_PHOTONS_PER_MS and events_per_s >= GPU_EVENTS_PER_S
        return (f">= {GPU_PHOTONS_PER_MS:.1e}/ms, {GPU_EVENTS_PER_S:.0e} ev/s: "
                f"{photons_per_ms / GPU_PHOTONS_PER_MS:.0%}, "
                f"{events_per_s / GPU_EVENTS_PER_S:.0%}{'' if ok else ' (below)'}")
    if backend_name == "cpu" and case.startswith("cube60"):
        per_core = photons_per_ms * 1e3 / n_threads
        ok = per_core >= CPU_PHOTONS_PER_S_CORE
        return (f">= {CPU_PHOTONS_PER_S_CORE:.0e}/s/core: {per_core:.2e} "
                f"({per_core / CPU_PHOTONS_PER_S_CORE:.0%}){'' if ok else ' (below)'}")
    return ""


def bench_mc(backends, cases, precisions, photons, n_threads) -> list[dict]:
    """Trace each case once per backend and precision; print and return one row each."""
    from .. import mc

    all_cases = _mc_cases()
    rows = []
    header = (f"{'backend':7} {'precision':9} {'case':24} {'photons':>8} {'wall s':>7} {'photons/ms':>10} "
              f"{'events/s':>9} {'ev/photon':>9}  {'target (this/target)':40} device")
    print(header)
    print("-" * len(header))
    for b in backends:
        threads = None
        if b == "cpu":
            threads = n_threads or backend._core().max_threads()
        count = int(photons if photons is not None else DEFAULT_PHOTONS[b])
        for precision in precisions:
            for case in cases:
                kw = all_cases[case]
                run = dict(backend=b, precision=precision, progress=False, n_threads=threads, seed=1, **kw)
                if b == "cuda":
                    run.pop("n_threads")
                mc.simulate(n_photons=min(count, 10_000), **run)   # warm-up: kernel compilation, caches
                res = mc.simulate(n_photons=count, **run)
                t = res.wall_time
                per_ms = res.n_photons / t / 1e3
                ev_s = res.events / t
                target = _mc_target(b, case, per_ms, ev_s, threads or 1)
                rows.append(dict(backend=b, precision=precision, case=case, photons=res.n_photons,
                                 wall_time=t, photons_per_ms=per_ms, events_per_s=ev_s,
                                 events=res.events, device=res.device, target=target))
                print(f"{b:7} {precision:9} {MC_CASE_LABELS[case]:24} {res.n_photons:>8.1e} {t:>7.3g} "
                      f"{per_ms:>10.3g} {ev_s:>9.2e} {res.events / res.n_photons:>9.1f}  {target:40} "
                      f"{res.device}", flush=True)
    return rows


def _mc_main(args) -> int:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    errors = []
    for b in backends:
        if b not in ("cpu", "cuda"):
            errors.append(f"--backends: the Monte Carlo tracer runs on 'cpu' or 'cuda'; got {b!r}")
            continue
        try:
            backend.resolve(b)
        except (ValueError, RuntimeError) as e:
            errors.append(str(e))
    unknown = [c for c in cases if c not in MC_CASE_LABELS]
    if unknown:
        errors.append(f"--cases must be among {', '.join(MC_CASE_LABELS)}; got {', '.join(unknown)}")
    bad = [p for p in precisions if p not in ("single", "double")]
    if bad:
        errors.append(f"--precision must be 'single' and/or 'double'; got {', '.join(bad)}")
    if not (backends and cases and precisions):
        errors.append("--backends, --cases and --precision need at least one entry each")
    if args.photons is not None and not (args.photons >= 1 and float(args.photons).is_integer()):
        errors.append(f"--photons must be an integer >= 1; got {args.photons:g}")
    if args.threads is not None and args.threads < 1:
        errors.append(f"--threads must be >= 1; got {args.threads}")
    if errors:
        print(f"bssrdf.bench: error: {errors[0]}", file=sys.stderr)
        return 2
    import platform

    threads = args.threads or (backend._core().max_threads() if backend.cpu_available() else "n/a")
    print(f"# bssrdf.bench mc on {platform.node()} ({platform.processor() or platform.machine()}), "
          f"backends {backends}, CPU threads {threads}")
    print(f"# cube60: μa 0.005 mm⁻¹, μs 1 mm⁻¹, g 0.01, 60 mm slab, n 1.37 inside and out, pencil beam; "
          f"cut at c·5 ns/1.37 = {CUBE60_CUT:.1f} mm")
    print(f"# targets: GPU >= {GPU_PHOTONS_PER_MS:.1e} photons/ms and >= {GPU_EVENTS_PER_S:.0e} events/s "
          f"on cube60 (MCX pmcx ~3.5e5 photons/ms on an H100); CPU >= {CPU_PHOTONS_PER_S_CORE:.0e} "
          f"photons/s per core on cube60 physics (MCML 1.2.2, gcc -O3: ~1.7e5 photons/s on one core)")
    try:
        bench_mc(backends, cases, precisions, args.photons, args.threads)
    except ValueError as e:   # e.g. a photon count beyond what simulate() accepts
        print(f"bssrdf.bench: error: {e}", file=sys.stderr)
        return 2
    return 0


LAYERS_TARGET_MS = {"cuda": 10.0, "cpu": 200.0}


def _layers_stack():
    from .. import Layer

    epidermis = Medium.from_reduced([0.20, 0.45, 1.10], [2.4, 2.9, 3.5], eta=1.4)
    dermis = Medium.from_reduced([0.03, 0.08, 0.20], [1.6, 1.9, 2.4], eta=1.4)
    subcutis = Medium.from_reduced([0.01, 0.02, 0.04], [1.2, 1.3, 1.4], eta=1.44)
    return [Layer(epidermis, 0.25, roughness=0.3), Layer(dermis, 2.0), Layer(subcutis, float("inf"))]


def bench_layers(backends, min_time: float) -> list[dict]:
    from ..profiles import layered

    stack = _layers_stack()
    rows = []
    for b in backends:
        r = np.linspace(0.0, 20.0, 1024)
        sync = lambda: None  # noqa: E731
        if b == "cuda":
            cp = backend._cupy()
            r = cp.asarray(r)
            sync = cp.cuda.Device().synchronize
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_R = _best_time(lambda r=r, b=b: layered.R(r, stack, backend=b), min_time, sync)
            t_RT = _best_time(lambda r=r, b=b: (layered.R(r, stack, backend=b),
                                                layered.T(r, stack, backend=b)), min_time, sync)
        row = {"backend": b, "R_ms": 1e3 * t_R, "RT_ms": 1e3 * t_RT}
        rows.append(row)
        target = LAYERS_TARGET_MS.get(b)
        print(f"{b:<6} {row['R_ms']:9.2f} ms  {row['RT_ms']:9.2f} ms   "
              f"{f'(target < {target:g} ms)' if target else ''}", flush=True)
    return rows


def _layers_main(args) -> int:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in ("cpu", "cuda", "numpy"):
            print(f"bssrdf.bench: error: --backends: layers run on 'cpu' (NumPy) or 'cuda'; got {b!r}",
                  file=sys.stderr)
            return 2
        try:
            backend.resolve(b)
        except (ValueError, RuntimeError) as e:
            print(f"bssrdf.bench: error: {e}", file=sys.stderr)
            return 2
    if not backends:
        print("bssrdf.bench: error: --backends needs at least one entry", file=sys.stderr)
        return 2
    import platform

    print(f"# bssrdf.bench layers on {platform.node()} ({platform.processor() or platform.machine()}), "
          f"backends {backends}")
    print("# three-layer RGB stack (epidermis 0.25 mm, rough top α 0.3; dermis 2 mm; semi-infinite "
          "subcutis), 1024 radii in [0, 20] mm; best of repetitions")
    print(f"{'backend':<6} {'R':>12} {'R and T':>12}")
    bench_layers(backends, args.min_time)
    return 0




# -- fits -------------------------------------------------------------------------------------------
FIT_TARGETS = {"dipole": 1.0, "multipole": 1.0, "mc": 5.0}   # seconds, 3 channels x 200 points, CPU


def _fit_cases():
    """name -> (callable, target seconds or None, description)."""
    from .. import fit
    from ..fit.mc_table import mc_model
    from ..fit.mc_table import single_scattering as mc_single

    # skin1 (Jensen 2001), eta 1.3: 200 radii from 0.05 to 10 mm, 3 % noise; values from the Monte Carlo table
    # (semi-infinite) and, for the multipole, from the multipole + single scattering of a 2 mm slab
    from ..profiles import multipole

    skin = Medium.from_reduced([0.032, 0.17, 0.48], [0.74, 0.88, 1.01], eta=1.3)
    r = np.linspace(0.05, 10.0, 200)
    rng = np.random.default_rng(1)

    def noisy(clean):
        values = clean * (1.0 + 0.03 * rng.standard_normal(clean.shape))
        return fit.profile_from_arrays(r, values, 0.03 * clean, channels=list("RGB"))

    semi = noisy(mc_model(1.3).profile(r, skin.sigma_a, skin.sigma_s_prime))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slab = noisy(np.asarray(multipole.R(r, skin, 2.0, backend="numpy"))
                     + mc_single(1.3).R_1(r[:, None], skin.sigma_t_prime, skin.sigma_s_prime))
    what = "3 channels x 200 radii"
    cases = {
        "profile dipole": (lambda: fit.fit_profile(semi, model="dipole", eta=1.3), FIT_TARGETS["dipole"],
                           what),
        "profile multipole": (lambda: fit.fit_profile(slab, model="multipole", eta=1.3, thickness=2.0),
                              FIT_TARGETS["multipole"], what + ", 2 mm slab"),
        "profile mc": (lambda: fit.fit_profile(semi, model="mc", eta=1.3), FIT_TARGETS["mc"], what),
        "profile mc, unknown scale": (lambda: fit.fit_profile(semi, model="mc", eta=1.3, unknown_scale=True),
                                      FIT_TARGETS["mc"], what),
    }
    cases["totals"] = (lambda: fit.fit_totals([0.4, 0.3, 0.2], [0.1, 0.15, 0.2], 1.0, eta=1.4,
                                              progress=False),
                       None, "3 channels, adding-doubling")
    cases["appearance mc"] = (lambda: fit.from_appearance([0.83, 0.79, 0.75], [8.5, 5.6, 3.9], eta=1.5),
                              None, "3 channels")
    return cases


def bench_fit(repeat: int) -> list[dict]:
    import os

    rows = []
    header = f"{'case':28} {'what':36} {'best s':>8} {'target s':>8} {'evaluations':>11}"
    print(header)
    print("-" * len(header))
    for name, (fn, target, what) in _fit_cases().items():
        res = fn()   # warm-up: cached tables, single-scattering lookups
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = fn()
            best = min(best, time.perf_counter() - t0)
        evals = res.extra.get("function_evaluations", res.extra.get("forward_evaluations", ""))
        tgt = "" if target is None else f"{target:g}"
        verdict = "" if target is None else ("" if best <= target else "  (above target)")
        rows.append(dict(case=name, seconds=best, target=target, evaluations=evals))
        print(f"{name:28} {what:36} {best:>8.3f} {tgt:>8} {evals!s:>11}{verdict}", flush=True)
    print(f"# CPU: {os.cpu_count()} logical cores; fits are single-threaded NumPy/SciPy")
    return rows


def bench_render(size: int, n_samples: int, methods: list[str], backend_name: str = "auto",
                 gpu_dtype: str = "float32") -> list[dict]:
    """Render a sphere (R 10 mm, dipole σa 0.1/0.2/0.3, σ's 2 mm⁻¹, η 1.3, oblique directional light)
    at ``size``² pixels with ``n_samples`` irradiance samples on ``backend_name`` (see
    :func:`bssrdf.render.render`); print seconds per pass and method, and the pass-2 throughput: profile
    evaluations (visible pixels × samples, the pairs a brute-force sum takes, whichever method ran) per
    second. Each method runs once untimed first when it uses the GPU (kernel compilation)."""
    from bssrdf import Medium, render

    medium = Medium.from_reduced(sigma_a=[0.1, 0.2, 0.3], sigma_s_prime=[2.0, 2.0, 2.0], eta=1.3)
    prof = render.DipoleProfile(medium)
    scene = render.Scene(objects=[render.Sphere((0, 0, 0), 10.0)],
                         lights=[render.DirectionalLight(direction=(1, 1, -1), irradiance=1.0)])
    cam = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=size, height=size)
    dtype = np.dtype(gpu_dtype).type
    print(f"{'method':<10} {'backend':<7} {'pixels':>8} {'visible':>8} {'samples':>8} {'radius mm':>9} "
          f"{'irradiance s':>12} {'evaluation s':>12} {'total s':>8} {'pairs/s':>9}")
    rows = []
    for m in methods:
        if backend_name == "cuda" or (backend_name == "auto" and m == "brute" and backend.cuda_available()):
            small = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=8, height=8)
            render.render(scene, small, prof, n_samples=1000, method=m, backend=backend_name, gpu_dtype=dtype)
        t0 = time.perf_counter()
        res = render.render(scene, cam, prof, n_samples=n_samples, method=m, backend=backend_name,
                            gpu_dtype=dtype, progress=False)
        total = time.perf_counter() - t0
        row = dict(method=m, backend=backend_name, visible=int(res.hit.sum()), samples=len(res.samples.area),
                   radius=res.radius, total=total, **res.timings)
        row["pairs_per_s"] = row["visible"] * row["samples"] / row["evaluation"]
        rows.append(row)
        print(f"{m:<10} {backend_name:<7} {size * size:>8} {row['visible']:>8} {row['samples']:>8} "
              f"{res.radius:>9.3f} {row['irradiance']:>12.3f} {row['evaluation']:>12.3f} {total:>8.2f} "
              f"{row['pairs_per_s']:>9.3g}", flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bssrdf.bench",
                                description="bssrdf benchmarks (values per second; not tests).")
    sub = p.add_subparsers(dest="what", required=True)
    q = sub.add_parser("profiles", help="dipole and multipole profile evaluation speed")
    q.add_argument("--backends", default=",".join(backend.available_backends()),
                   help="comma-separated backends (default: all available here: %(default)s)")
    q.add_argument("--max-size", type=float, default=None,
                   help="largest array size (default 1e8 with a GPU, else 1e7)")
    q.add_argument("--dtypes", default="float64,float32", help="default: %(default)s")
    q.add_argument("--min-time", type=float, default=0.3,
                   help="seconds of repetitions per point (default %(default)s)")
    q = sub.add_parser("mc", help="Monte Carlo tracer speed: photons/ms and scattering events/s")
    mc_default = [b for b in backend.available_backends() if b in ("cuda", "cpu")]
    q.add_argument("--backends", default=",".join(mc_default),
                   help="comma-separated, of cuda and cpu (default: all available here: %(default)s)")
    q.add_argument("--cases", default=",".join(MC_CASE_LABELS),
                   help="comma-separated cases (default: %(default)s)")
    q.add_argument("--photons", type=float, default=None,
                   help="photons per case (default 1e6 on the CPU, 1e8 on a GPU)")
    q.add_argument("--threads", type=int, default=None,
                   help="OpenMP threads of the CPU backend (default: all cores)")
    q.add_argument("--precision", default="single",
                   help="comma-separated: single, double (default: %(default)s)")
    q = sub.add_parser("layers", help="layered composition (three-layer RGB stack, 1024 radii): ms per call")
    layer_default = [b for b in backend.available_backends() if b in ("cuda", "cpu")] or ["numpy"]
    q.add_argument("--backends", default=",".join(layer_default),
                   help="comma-separated, of cuda and cpu (default: %(default)s)")
    q.add_argument("--min-time", type=float, default=1.0,
                   help="seconds of repetitions per case (default %(default)s)")
    q = sub.add_parser("fit",
                       help="bssrdf.fit speed: profile fits (dipole, multipole, mc), totals, appearance")
    q.add_argument("--repeat", type=int, default=3, help="timed runs per case, best reported (default 3)")
    q = sub.add_parser("render",
                       help="bssrdf.render: a size² sphere with n irradiance samples: seconds, pairs/s")
    q.add_argument("--size", type=int, default=512, help="image width and height (default %(default)s)")
    q.add_argument("--samples", type=float, default=1e5, help="irradiance samples (default %(default)g)")
    q.add_argument("--methods", default="clustered",
                   help="comma-separated, of clustered, truncated, brute (default %(default)s; on 2 cores "
                        "without the GPU, brute takes hours at the defaults)")
    q.add_argument("--backend", default="auto", choices=("auto", "cuda", "cpu", "numpy"),
                   help="where pass 2 runs (default %(default)s; cuda: brute only)")
    q.add_argument("--gpu-dtype", default="float32", choices=("float32", "float64"),
                   help="arithmetic of the GPU kernel (default %(default)s)")
    args = p.parse_args(argv)
    if args.what == "render":
        from bssrdf.render import METHODS

        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        bad = [m for m in methods if m not in METHODS]
        if bad or args.size < 1 or args.samples < 1:
            print(f"bssrdf.bench: error: --methods must be of {METHODS}, --size and --samples >= 1; got "
                  f"{args.methods!r}, {args.size}, {args.samples}", file=sys.stderr)
            return 2
        if args.backend == "cuda" and methods != ["brute"]:
            print(f"bssrdf.bench: error: --backend cuda runs --methods brute only; got {args.methods!r}",
                  file=sys.stderr)
            return 2
        try:
            backend.resolve(args.backend)
        except RuntimeError as e:
            print(f"bssrdf.bench: error: {e}", file=sys.stderr)
            return 2
        import platform

        print(f"# bssrdf.bench render on {platform.node()} ({platform.processor() or platform.machine()})")
        bench_render(args.size, int(args.samples), methods, args.backend, args.gpu_dtype)
        return 0
    if args.what == "mc":
        return _mc_main(args)
    if args.what == "layers":
        return _layers_main(args)
    if args.what == "fit":
        if args.repeat < 1:
            print(f"bssrdf.bench: error: --repeat must be >= 1; got {args.repeat}", file=sys.stderr)
            return 2
        import platform

        print(f"# bssrdf.bench fit on {platform.node()} ({platform.processor() or platform.machine()})")
        bench_fit(args.repeat)
        return 0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        try:
            backend.resolve(b)
        except (ValueError, RuntimeError) as e:
            print(f"bssrdf.bench: error: {e}", file=sys.stderr)
            return 2
    max_size = args.max_size or (1e8 if "cuda" in backends else 1e7)
    sizes = [s for s in (1e3, 1e4, 1e5, 1e6, 1e7, 1e8) if s <= max_size]
    dtypes = [np.dtype(d.strip()).type for d in args.dtypes.split(",")]
    import platform

    print(f"# bssrdf.bench profiles on {platform.node()} ({platform.processor() or platform.machine()}), "
          f"backends {backends}, CPU threads "
          f"{backend._core().max_threads() if backend.cpu_available() else 'n/a'}")
    rows = bench_profiles(backends, sizes, dtypes, args.min_time)
    _speedup_summary(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

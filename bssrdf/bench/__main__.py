"""Benchmarks: ``python -m bssrdf.bench profiles``.

Prints evaluated values per second for the dipole and the multipole (10 and 40 dipole pairs,
i.e. 21 and 81 dipoles, as fixed image sums) on every available backend, over array sizes
from 1e3 up to ``--max-size``. On a GPU it also measures the device's copy bandwidth
(device-to-device copy of a large array) and prints the fraction of it that the dipole kernel
moves (it reads r and writes R: 2 values' worth of bytes per value).

Timing: each case is run once to warm up (compilation, caches), then repeated until at least
``--min-time`` seconds have passed; the best repetition is reported. GPU timings use CUDA
events around the kernel launch alone ("kernel") and around the public API call, which also
validates the radii ("api").
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
                    print(f"{b:7} {np.dtype(dtype).name:7} {label:28} {int(n):>10.0e} "
                          f"{n / t:>12.3e} {note:>24}", flush=True)
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
    args = p.parse_args(argv)
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

"""``python -m bssrdf.figures``: reproduce the figures of Jensen 2001 and Donner & Jensen 2005.

Writes ``<out>/<paper>/<id>_<name>.png``, ``.pdf``, ``.h5`` (the data) and ``.txt`` (the caption) for
every figure, or those given with ``--only``. A figure that fails is reported and the others still run;
the exit status is 1 if any failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from .._cli import CliError, Parser, check_writable, error, quiet_broken_pipe

PROG = "bssrdf.figures"


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description="Reproduce the figures of Jensen et al. 2001 and Donner & Jensen 2005 "
                                      "(Monte Carlo reference on every comparison) into paper_figures/.")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.add_argument("--only", nargs="+", metavar="ID", help="figure ids to make (e.g. j01 d04); default: all")
    p.add_argument("--photons", type=float, default=None, metavar="N",
                   help="photons per Monte Carlo run, for every figure (default: each figure's own, sized so "
                        "that all of them take under 15 minutes on a 2-core CPU; a GPU takes 10x more)")
    p.add_argument("--backend", choices=("auto", "cuda", "cpu"), default="auto",
                   help="where the Monte Carlo tracer and the profiles run (default: auto, the GPU if CuPy "
                        "finds one)")
    p.add_argument("--seed", type=int, default=2026, help="base seed of the Monte Carlo runs (default 2026)")
    p.add_argument("--out", default="paper_figures", metavar="DIR",
                   help="output folder (default paper_figures)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:   # output piped into head
        quiet_broken_pipe()
        return 0


def _main(argv: list[str] | None) -> int:
    from ._core import Context, registry, write

    try:
        args = build_parser().parse_args(argv)
        specs = registry()
        if args.list:
            for s in specs.values():
                print(f"{s.id}  {s.paper:<11s} {s.title}  ({s.photons:.0e} photons per run by default)")
            return 0
        ids = args.only or list(specs)
        unknown = [i for i in ids if i not in specs]
        if unknown:
            raise CliError(f"unknown figure id(s) {', '.join(unknown)}; known: {', '.join(specs)}")
        if args.photons is not None and not (args.photons >= 1 and float(args.photons).is_integer()):
            raise CliError(f"--photons must be an integer >= 1; got {args.photons:g}")
        if args.seed < 0:
            raise CliError(f"--seed must be >= 0; got {args.seed}")
        from pathlib import Path

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        check_writable(out / "probe", "figures")
        if args.backend != "auto":
            from .. import backend

            backend.resolve(args.backend)
    except CliError as e:
        return error(PROG, e)
    except (ValueError, RuntimeError, OSError) as e:
        return error(PROG, e)

    failed = []
    t_all = time.perf_counter()
    for n, fid in enumerate(ids, 1):
        spec = specs[fid]
        print(f"[{n}/{len(ids)}] {fid} {spec.title} ...", flush=True)
        t0 = time.perf_counter()
        try:
            ctx = Context(photons=None if args.photons is None else int(args.photons), backend=args.backend,
                          seed=args.seed, progress=not args.quiet, default_photons=spec.photons)
            result = spec.make(ctx)
            seconds = time.perf_counter() - t0
            stem = write(spec, result, out, seconds=seconds)
            import matplotlib.pyplot as plt

            plt.close(result.figure)
            dev = f"; largest deviation {result.max_deviation}" if result.max_deviation else ""
            print(f"      wrote {stem}.png/.pdf/.h5/.txt in {seconds:.1f} s{dev}", flush=True)
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted during {fid}", file=sys.stderr)
            return 130
        except Exception as e:  # one figure's failure must not stop the others
            failed.append(fid)
            print(f"{PROG}: {fid} FAILED: {type(e).__name__}: {e}", file=sys.stderr)
            traceback.print_exc(limit=3, file=sys.stderr)
    print(f"{len(ids) - len(failed)} of {len(ids)} figures in {time.perf_counter() - t_all:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

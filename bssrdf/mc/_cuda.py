"""The GPU backend of the Monte Carlo tracer: cuda/mc.cu compiled by CuPy (NVRTC)."""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from .. import backend as _backend

BLOCK = 256              # threads per block
MAX_BLOCKS_PER_SM = 8    # 2048 resident threads per SM on sm_80/sm_90
SHARED_TALLY_BYTES = 40 * 1024  # tally arrays up to this size accumulate in shared memory


@functools.cache
def _module():
    cp = _backend._cupy()
    src_dir = _backend.cuda_source_dir()
    source = (src_dir / "mc.cu").read_text()
    # CuPy's cache keys on the source text and options, not on included headers
    h = hashlib.sha256()
    for header in sorted((src_dir / "include").rglob("*.h")):
        h.update(header.read_bytes())
    options = ("-std=c++17", "--use_fast_math", f"-I{src_dir / 'include'}",
               f"-DBSSRDF_HEADERS_SHA={h.hexdigest()[:16]}")
    names = [f"mc_trace_kernel<{t}, {s}>" for t in ("float", "double") for s in ("true", "false")]
    return cp.RawModule(code=source, options=options, name_expressions=names)


class CudaRunner:
    """Launches of ``mc_trace_kernel`` over a persistent grid: as many resident blocks as fit."""

    name = "cuda"

    def __init__(self, plan, dtype):
        cp = _backend._cupy()
        self.cp = cp
        self.plan = plan
        ctype = "float" if dtype == np.float32 else "double"
        tally_bytes = 8 * plan.size
        self.shared = tally_bytes <= SHARED_TALLY_BYTES
        self.kernel = _module().get_function(f"mc_trace_kernel<{ctype}, {str(self.shared).lower()}>")
        self.shared_bytes = tally_bytes if self.shared else 0
        self.config = cp.asarray(plan.config)
        dev = cp.cuda.Device()
        attrs = dev.attributes
        self.sms = attrs["MultiProcessorCount"]
        # resident blocks per SM, limited by threads, registers and shared memory
        regs = max(1, self.kernel.num_regs)
        by_regs = attrs["MaxRegistersPerMultiprocessor"] // (regs * BLOCK)
        smem = self.shared_bytes + self.kernel.shared_size_bytes + 1024  # + per-block reserve
        by_smem = attrs["MaxSharedMemoryPerMultiprocessor"] // smem
        by_threads = attrs["MaxThreadsPerMultiProcessor"] // BLOCK
        self.blocks_per_sm = max(1, min(MAX_BLOCKS_PER_SM, by_regs, by_smem, by_threads))
        name = cp.cuda.runtime.getDeviceProperties(dev.id)["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        self.device = (f"{name} ({self.sms} SMs; {self.blocks_per_sm} blocks of {BLOCK} per SM, "
                       f"{regs} registers, tallies in {'shared' if self.shared else 'global'} memory)")

    def run(self, seed: int, first: int, count: int, n_batches: int) -> np.ndarray:
        """Tallies of photons [first, first + count), shape (n_batches, size)."""
        cp, p = self.cp, self.plan
        tallies = cp.zeros((n_batches, p.size), dtype=cp.uint64)
        counters = cp.zeros(n_batches, dtype=cp.uint64)
        # a whole number of blocks per batch (block b traces batch b mod n_batches), as many as are
        # resident at once, but no more than the launch has photons for
        resident = self.sms * self.blocks_per_sm
        per_batch = max(1, min(resident // n_batches, -(-count // (n_batches * BLOCK))))
        grid = n_batches * per_batch
        self.kernel((grid,), (BLOCK,), (self.config, np.int32(len(p.layers)), np.int32(p.n_r),
                                        np.int32(p.n_z), np.uint64(seed), np.uint64(first),
                                        np.uint64(count), np.uint64(n_batches), counters, tallies),
                    shared_mem=self.shared_bytes)
        return cp.asnumpy(tallies)

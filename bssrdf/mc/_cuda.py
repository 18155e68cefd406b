"""The GPU backend of the Monte Carlo tracer: cuda/mc.cu compiled by CuPy (NVRTC)."""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from .. import backend as _backend

SHARED_MAX = 5632   # MC_SHARED_MAX in cuda/mc.cu: tally arrays up to this size live in shared memory
BLOCK = 256
BLOCKS_PER_SM = 8   # resident blocks per SM the persistent grid aims for


@functools.cache
def _module():
    cp = _backend._cupy()
    src_dir = _backend.cuda_source_dir()
    source = (src_dir / "mc.cu").read_text()
    h = hashlib.sha256()
    for header in sorted((src_dir / "include").rglob("*.h")):
        h.update(header.read_bytes())
    options = ("-std=c++17", "--use_fast_math", f"-I{src_dir / 'include'}",
               f"-DBSSRDF_HEADERS_SHA={h.hexdigest()[:16]}")
    names = [f"mc_trace_kernel<{t}, {s}>" for t in ("float", "double") for s in ("true", "false")]
    return cp.RawModule(code=source, options=options, name_expressions=names)


class CudaRunner:
    name = "cuda"

    def __init__(self, plan, dtype):
        cp = _backend._cupy()
        self.cp = cp
        self.plan = plan
        ctype = "float" if dtype == np.float32 else "double"
        shared = "true" if plan.size <= SHARED_MAX else "false"
        self.kernel = _module().get_function(f"mc_trace_kernel<{ctype}, {shared}>")
        self.config = cp.asarray(plan.config)
        self.tallies = cp.zeros(plan.size, dtype=cp.uint64)
        dev = cp.cuda.Device()
        props = cp.cuda.runtime.getDeviceProperties(dev.id)
        self.sms = dev.attributes["MultiProcessorCount"]
        self.device = f"{props['name'].decode() if isinstance(props['name'], bytes) else props['name']}" \
                      f" ({self.sms} SMs)"

    def run(self, seed: int, first: int, count: int) -> np.ndarray:
        cp, p = self.cp, self.plan
        self.tallies.fill(0)
        lanes = self.sms * BLOCKS_PER_SM * BLOCK
        grid = max(1, min(self.sms * BLOCKS_PER_SM, (count + BLOCK - 1) // BLOCK))
        del lanes
        self.kernel((grid,), (BLOCK,), (self.config, np.int32(len(p.layers)), np.int32(p.n_r),
                                        np.int32(p.n_z), np.uint64(seed), np.uint64(first),
                                        np.uint64(count), self.tallies))
        return cp.asnumpy(self.tallies)

"""cuda/mc.cu's kernel run on the host: the GPU's glue against the CPU build, with no GPU.

The kernel (persistent lanes, per-batch photon counters, block b on batch b mod n_batches, tallies
in shared memory flushed by atomics, or straight to global memory) is compiled by the system C++
compiler against tests/cuda_emulation/cuda_shim.h, which runs each block as real threads with a
barrier and atomics. Its per-batch tallies must equal, bit for bit, those of the CPU extension's
scalar path (mc_trace_lane: the same photons through the same functions). This checks the launch
logic and the batch bookkeeping of the GPU path; it does not check CUDA's compiler, its fast math
or the hardware: the tests marked `cuda` do that on a GPU.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import bssrdf
from bssrdf import backend
from bssrdf.mc import _run as run_mod

ROOT = Path(__file__).resolve().parent.parent
CXX = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")

pytestmark = [
    pytest.mark.skipif(CXX is None, reason="needs a C++20 compiler"),
    pytest.mark.skipif(not backend.cpu_available(), reason="needs the CPU extension"),
]

LAYERS = [bssrdf.Layer(bssrdf.Medium(0.2, 8.0, 0.8, 1.4), 0.5),
          bssrdf.Layer(bssrdf.Medium(0.05, 3.0, 0.0, 1.33), 2.0)]
# every interface rough: photons enter through a rough top (layer -1, event 0), cross rough inner
# interfaces both ways and a rough bottom (GGX alpha, mc.h's rough_dielectric)
ROUGH_LAYERS = [bssrdf.Layer(bssrdf.Medium(0.2, 8.0, 0.8, 1.4), 0.5, roughness=0.3),
                bssrdf.Layer(bssrdf.Medium(0.0, 0.0, 0.0, 1.5), 0.2, roughness=0.1),
                bssrdf.Layer(bssrdf.Medium(0.05, 3.0, 0.0, 1.33), 2.0, roughness=0.6)]
STACKS = {"smooth": (LAYERS, 0.0), "rough": (ROUGH_LAYERS, 0.4)}


def _rewrite_kernel(dst: Path) -> None:
    src = (ROOT / "cuda" / "mc.cu").read_text()
    shared_tallies = "extern __shared__ unsigned long long shared_t[];"
    shared_setup = "__shared__ bssrdf::mc::Setup<T> s;"
    assert shared_tallies in src and shared_setup in src, "mc.cu's shared declarations changed"
    src = src.replace(shared_tallies, "extern unsigned long long emu_shared_t[];\n"
                                      "    unsigned long long* shared_t = emu_shared_t;")
    src = src.replace(shared_setup, "static bssrdf::mc::Setup<T> s;")
    assert "__shared__" not in src
    dst.write_text('#include "cuda_shim.h"\n' + src)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("emu")
    probe = out / "probe.cpp"
    probe.write_text("#include <barrier>\nint main() { std::barrier<> b(1); b.arrive_and_wait(); }\n")
    if subprocess.run([CXX, "-std=c++20", "-pthread", str(probe), "-o", str(out / "probe")],
                      capture_output=True).returncode != 0:
        pytest.skip("the C++ compiler has no C++20 <barrier>")
    _rewrite_kernel(out / "mc_emulated.cpp")
    binaries = {}

    def get(ctype: str, shared: bool) -> Path:
        key = (ctype, shared)
        if key not in binaries:
            exe = out / f"run_{ctype}_{int(shared)}"
            cmd = [CXX, "-std=c++20", "-O2", "-pthread", f"-I{ROOT / 'cuda' / 'include'}",
                   f"-I{ROOT / 'tests' / 'cuda_emulation'}", f"-I{out}", f"-DEMU_T={ctype}",
                   f"-DEMU_SHARED={'true' if shared else 'false'}",
                   str(ROOT / "tests" / "cuda_emulation" / "run_kernel.cpp"), "-o", str(exe)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, f"the emulated kernel does not compile:\n{proc.stderr[-3000:]}"
            binaries[key] = exe
        return binaries[key]

    return get


@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize("ctype,shared", [("double", True), ("double", False), ("float", True)])
def test_emulated_gpu_kernel_equals_cpu_bit_for_bit(build, ctype, shared, stack):
    dtype = np.float64 if ctype == "double" else np.float32
    layers, roughness_below = STACKS[stack]
    plan = run_mod._plan(layers, 1.0, 1.5, 3.0, 30, None, None, 20.0, 40.0, dtype, roughness_below)
    assert plan.rough_top == (stack == "rough")
    seed, first, count, n_batches = 7, 1000, 3000, 8
    grid, block = 2 * n_batches, 32  # two blocks per batch, as CudaRunner lays them out
    args = [str(build(ctype, shared)), str(len(layers)), str(plan.n_r), str(plan.n_z), str(seed),
            str(first), str(count), str(n_batches), str(grid), str(block)]
    args += [repr(float(x)) for x in plan.config]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout.split()
    gpu = np.array([int(x) for x in out], dtype=np.uint64).reshape(n_batches, plan.size)

    t = np.zeros(n_batches * plan.size, dtype=np.uint64)
    fn = getattr(backend._core(), "mc_trace_f64" if ctype == "double" else "mc_trace_f32")
    fn(plan.config, len(layers), plan.n_r, plan.n_z, seed, first, count, n_batches, t, 1, 0)
    cpu = t.reshape(n_batches, plan.size)

    ev = run_mod.EVENTS  # the GPU counts interactions per batch, the CPU in batch 0's array
    assert gpu[:, ev].sum() == cpu[:, ev].sum() > 0
    gpu[:, ev] = cpu[:, ev] = 0
    np.testing.assert_array_equal(gpu, cpu)
    # every batch got its photons (photon i in batch i mod n_batches)
    assert np.all(gpu[:, run_mod.R_DIFFUSE] + gpu[:, run_mod.T_TOTAL] > 0)
    if stack == "rough":  # the rough steps ran: specular reflection on entry
        assert np.all(gpu[:, run_mod.R_SPECULAR] > 0)

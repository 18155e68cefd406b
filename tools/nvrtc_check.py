"""Compile every CUDA source under cuda/ with NVRTC, as CuPy does at run time (no GPU needed).

CI runs this after `nvcc`: nvcc compiles the explicit instantiations, NVRTC the name expressions
(`mc_trace_kernel<float, true>`, `render_dipole_kernel<float, 3>`, ...) that bssrdf/backend.py,
bssrdf/mc/_cuda.py and bssrdf/render/kernels.py ask CuPy for, with the same options (NVRTC rejects some things nvcc accepts, e.g. host-only headers).

Usage: python tools/nvrtc_check.py [path/to/libnvrtc.so]   (default: the nvidia-cuda-nvrtc wheel)
"""

from __future__ import annotations

import ctypes
import glob
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bssrdf.backend import KERNELS  # noqa: E402
from bssrdf.render.kernels import KERNEL_NAMES as RENDER_KERNELS  # noqa: E402


def _find_lib() -> str:
    site = sysconfig.get_paths()["purelib"]
    hits = sorted(glob.glob(f"{site}/nvidia/**/libnvrtc.so*", recursive=True))
    hits = [h for h in hits if "builtins" not in h]
    if not hits:
        raise SystemExit("libnvrtc not found: pip install nvidia-cuda-nvrtc")
    return hits[0]


def compile_source(lib, path: Path, names: list[str], extra: list[str]) -> None:
    src = path.read_bytes()
    prog = ctypes.c_void_p()
    if lib.nvrtcCreateProgram(ctypes.byref(prog), src, path.name.encode(), 0, None, None) != 0:
        raise SystemExit(f"{path}: nvrtcCreateProgram failed")
    for n in names:
        lib.nvrtcAddNameExpression(prog, n.encode())
    opts = [b"-std=c++17", f"-I{ROOT / 'cuda' / 'include'}".encode(), b"-DBSSRDF_HEADERS_SHA=check",
            b"--gpu-architecture=compute_90"] + [o.encode() for o in extra]
    arr = (ctypes.c_char_p * len(opts))(*opts)
    res = lib.nvrtcCompileProgram(prog, len(opts), arr)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    text = log.value.decode(errors="replace").strip()
    if res != 0 or "warning" in text:
        print(text)
        raise SystemExit(f"NVRTC: {path.name} failed (result {res})")
    for n in names:
        lowered = ctypes.c_char_p()
        if lib.nvrtcGetLoweredName(prog, n.encode(), ctypes.byref(lowered)) != 0:
            raise SystemExit(f"NVRTC: {path.name}: no kernel {n}")
    print(f"NVRTC: {path.name}: {len(names)} kernels compiled")


def main() -> None:
    lib = ctypes.CDLL(sys.argv[1] if len(sys.argv) > 1 else _find_lib())
    profiles = [f"{k}_kernel<{t}>" for k in KERNELS for t in ("float", "double")]
    compile_source(lib, ROOT / "cuda" / "profiles.cu", profiles, [])
    mc = [f"mc_trace_kernel<{t}, {s}>" for t in ("float", "double") for s in ("true", "false")]
    compile_source(lib, ROOT / "cuda" / "mc.cu", mc, ["--use_fast_math"])
    compile_source(lib, ROOT / "cuda" / "render.cu", RENDER_KERNELS, ["--use_fast_math"])
    # the renderer API (cuda/README.md): every profile header, used from a device function
    with tempfile.TemporaryDirectory() as tmp:
        api = Path(tmp) / "api_check.cu"
        api.write_text(API_CHECK)
        compile_source(lib, api, [f"api_check<{t}>" for t in ("float", "double")], [])


API_CHECK = r"""
#include "bssrdf/bssrdf.h"
#include "bssrdf/render.h"
template <class T>
__global__ void api_check(const T* r, const T* values, const T* cdf, int n_r, T* out) {
    const bssrdf::TableView<T> v = bssrdf::make_table_view(r, values, cdf, n_r, 1);
    const T x = r[threadIdx.x % n_r];
    out[threadIdx.x] = bssrdf::table_eval(v, x, 0) + bssrdf::table_pdf(v, x, 0) +
                       bssrdf::table_sample_radius(v, T(0.5), 0) + bssrdf::table_r_max(v);
}
"""


if __name__ == "__main__":
    main()

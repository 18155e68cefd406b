"""The compiled evaluators of pass 2 (bssrdf.render.kernels; cuda/include/bssrdf/render.h): the CPU
extension's truncated and brute-force sums against the NumPy/SciPy reference of bssrdf.render.pipeline,
render.h's table lookup against ProfileTable.evaluate, input checks, the dispatch of render(), the GPU
kernel cuda/render.cu run on the host (cuda_emulation), and on a GPU (marked cuda)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import bssrdf
from bssrdf import backend, render
from bssrdf.export.table import profile_table
from bssrdf.render import kernels
from bssrdf.render import pipeline as pl

ROOT = Path(__file__).resolve().parent.parent
CXX = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")

# σtr ≈ 0.81, 1.17, 1.46 mm⁻¹: truncation radius ~7 mm, smaller than a 10 mm sphere
RGB = bssrdf.Medium.from_reduced(sigma_a=[0.1, 0.2, 0.3], sigma_s_prime=[2.0, 2.0, 2.0], eta=1.3)
GREY = bssrdf.Medium.from_reduced(sigma_a=0.15, sigma_s_prime=1.5, eta=1.4)
SLAB = bssrdf.Medium.from_reduced(sigma_a=[0.05, 0.02, 0.1], sigma_s_prime=[2.0, 1.5, 3.0], eta=1.3)

needs_core = pytest.mark.skipif(not backend.cpu_available(), reason="needs the CPU extension bssrdf._core")


@pytest.fixture(scope="module")
def tables():
    return {"RGB": profile_table(RGB), "GREY": profile_table(GREY),
            "SLAB": profile_table(SLAB, thickness=2.0)}


def _profile(kind: str, channels: int, tables):
    if kind == "dipole":
        return render.DipoleProfile(RGB if channels == 3 else GREY)
    return render.TabulatedProfile(tables["RGB" if channels == 3 else "GREY"])


def _sphere_points(n: int, rng, radius=10.0, centre=(0.0, 0.0, 0.0)):
    v = rng.normal(size=(n, 3))
    return np.asarray(centre) + radius * v / np.linalg.norm(v, axis=1)[:, None]


def _case(channels: int, seed=0, n_out=300, n_samples=6000):
    rng = np.random.default_rng(seed)
    xs = _sphere_points(n_samples, rng)
    xo = _sphere_points(n_out, rng)
    ps = rng.uniform(0.1, 1.0, size=(n_samples, channels)) * (4 * np.pi * 100 / n_samples)
    return xo, xs, ps


# -- the CPU extension against the NumPy reference ---------------------------------------------------
@needs_core
@pytest.mark.parametrize("kind", ["dipole", "table"])
@pytest.mark.parametrize("channels", [1, 3])
def test_compiled_truncated_equals_numpy(kind, channels, tables):
    prof = _profile(kind, channels, tables)
    xo, xs, ps = _case(channels)
    radius = prof.radius(1e-3)
    ref = pl._truncated(xo, xs, ps, prof, radius)
    got = kernels.cpu_sum(xo, xs, ps, prof, radius)
    assert got.shape == ref.shape == (len(xo), channels)
    assert np.all(ref > 0)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    # the compiled brute-force sum, too
    np.testing.assert_allclose(kernels.cpu_sum(xo, xs, ps, prof), pl._brute(xo, xs, ps, prof), rtol=1e-12)


@needs_core
@pytest.mark.parametrize("kind", ["dipole", "table"])
@pytest.mark.parametrize("channels", [1, 3])
def test_compiled_clustered_equals_numpy(kind, channels, tables):
    prof = _profile(kind, channels, tables)
    xo, xs, ps = _case(channels, seed=6, n_out=200, n_samples=20000)
    area = np.full(len(xs), 4 * np.pi * 100 / len(xs))
    radius = prof.radius(1e-3)
    ref = pl._clustered(xo, xs, ps, area, prof, radius)
    got = kernels.cpu_clustered(xo, xs, ps, area, prof, radius, pl.CLUSTER_RATIO)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    # it is an approximation of the truncated sum (within 0.3%, tests/test_render.py), not a copy of it
    trunc = kernels.cpu_sum(xo, xs, ps, prof, radius)
    assert 1e-6 < np.max(np.abs(got / trunc - 1)) < 3e-3
    with pytest.raises(ValueError, match="area"):
        kernels.cpu_clustered(xo, xs, ps, area[:-1], prof, radius, pl.CLUSTER_RATIO)


@needs_core
def test_truncated_with_a_tiny_tail_equals_brute(tables):
    xo, xs, ps = _case(3, seed=1)
    dip = render.DipoleProfile(RGB)
    brute = pl._brute(xo, xs, ps, dip)
    radius = dip.radius(1e-12)
    assert radius < np.linalg.norm(np.ptp(xs, axis=0))        # a real truncation, not the brute fallback
    np.testing.assert_allclose(kernels.cpu_sum(xo, xs, ps, dip, radius), brute, rtol=1e-9)
    # a table is 0 beyond its r_max: truncating there changes nothing
    tab = render.TabulatedProfile(tables["SLAB"])
    xo, xs, ps = xo * 3.0, xs * 3.0, ps                      # a 30 mm sphere: r_max < its diameter
    assert tab.table.r_max < 60.0
    np.testing.assert_allclose(kernels.cpu_sum(xo, xs, ps, tab, tab.table.r_max), pl._brute(xo, xs, ps, tab),
                               rtol=1e-12)


@needs_core
def test_render_cpu_equals_numpy():
    """render(backend="cpu") (compiled) against backend="numpy" (NumPy + SciPy), every method: two
    objects."""
    scene = render.Scene(objects=[render.Sphere((0, 0, 0), 10.0), render.Sphere((18, 0, 0), 6.0)],
                         lights=[render.DirectionalLight(direction=(1, 1, -1), irradiance=1.0)])
    cam = render.PerspectiveCamera(eye=(7, -45, 0), look_at=(7, 0, 0), fov=50, width=24, height=16)
    prof = render.DipoleProfile(RGB)
    for method in ("truncated", "brute", "clustered"):
        a = render.render(scene, cam, prof, n_samples=6000, method=method, backend="numpy")
        b = render.render(scene, cam, prof, n_samples=6000, method=method, backend="cpu")
        assert a.hit.sum() > 60
        np.testing.assert_allclose(b.image, a.image, rtol=1e-12, atol=1e-15 * a.image.max())
    a = render.render(scene, cam, prof, n_samples=6000, method="truncated", backend="numpy")
    c = render.render(scene, cam, prof, n_samples=6000)                # auto: compiled truncated here
    if not backend.cuda_available():
        np.testing.assert_allclose(c.image, a.image, rtol=1e-9, atol=1e-3 * a.image.max())
        assert c.radius < np.inf


# -- render.h's table lookup ---------------------------------------------------------------------------
@needs_core
@pytest.mark.parametrize("name,quantity", [("RGB", "R"), ("GREY", "R"), ("SLAB", "R"), ("SLAB", "T")])
def test_table_lookup_equals_evaluate(tables, name, quantity):
    t = tables[name]
    r0, kappa, dx = kernels.table_grid(t)
    assert dx > 0                                            # the O(1) lookup on x(r)
    rng = np.random.default_rng(2)
    r = np.concatenate([t.r, 0.5 * (t.r[1:] + t.r[:-1]), np.nextafter(t.r, 0), np.nextafter(t.r, np.inf),
                        rng.uniform(0, 1.2 * t.r_max, 20000), [t.r_max, np.nextafter(t.r_max, np.inf), 1e6]])
    ref = t.evaluate(r, quantity)
    got = kernels.table_lookup(t, r, quantity)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    assert np.all(got[r > t.r_max] == 0)
    # a grid not uniform in x(r): binary search, same values
    r2 = np.unique(np.concatenate([t.r[::3], t.r[1:3], [t.r_max]]))
    T = None if t.T is None else t.evaluate(r2, "T")
    other = dataclasses.replace(t, r=r2, R=t.evaluate(r2, "R"), T=T)
    assert kernels.table_grid(other)[2] == 0
    np.testing.assert_allclose(kernels.table_lookup(other, r, quantity), other.evaluate(r, quantity),
                               rtol=1e-12, atol=0)
    without = dataclasses.replace(t, grid={})
    assert kernels.table_grid(without) == (1.0, 0.0, 0.0)


# -- inputs ------------------------------------------------------------------------------------------
@needs_core
def test_bad_inputs_raise_value_error():
    prof = render.DipoleProfile(RGB)
    xo, xs, ps = _case(3, n_out=5, n_samples=50)
    bad = [
        (xo[:, :2], xs, ps, "xo"), (xo, xs.ravel(), ps, "xs"), (xo, xs, ps[:-1], "ps"),
        (xo, xs, ps[:, :1], "channels"), (xo.astype(int), xs, ps, "xo"), (xo, xs, ps.astype(np.int64), "ps"),
        (xo, xs, np.where(ps > 0.5, np.nan, ps), "ps"), (xo.tolist(), xs, ps, "xo"),
    ]
    for a, b, c, name in bad:
        with pytest.raises(ValueError, match=name):
            kernels.cpu_sum(a, b, c, prof, 5.0)
    for radius in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="radius"):
            kernels.cpu_sum(xo, xs, ps, prof, radius)
    with pytest.raises(ValueError, match="profile"):
        kernels.cpu_sum(xo, xs, ps, render.LambertianBRDF(0.5), 5.0)
    five = render.DipoleProfile(bssrdf.Medium.from_reduced(sigma_a=[0.1] * 5, sigma_s_prime=[1.0] * 5))
    assert not kernels.supported(five)
    with pytest.raises(ValueError, match="channels"):
        kernels.cpu_sum(xo, xs, np.ones((len(xs), 5)), five, 5.0)
    with pytest.raises(ValueError, match="gpu_dtype"):
        pl._array_module("cuda", "brute", np.int32)


def test_dispatch():
    assert pl._array_module("numpy", "truncated") is np
    with pytest.raises(ValueError, match="backend"):
        pl._array_module("metal", "brute")
    with pytest.raises(ValueError, match="brute"):
        pl._array_module("cuda", "clustered")
    if backend.cpu_available():
        assert pl._array_module("cpu", "truncated").name == "cpu"
        where = pl._array_module("auto", "truncated")
        assert where.name == "cpu" and where.zeros(2).shape == (2,)        # stands in for NumPy
        assert pl._array_module(where, "truncated") is where
    expect = "cuda" if backend.cuda_available() else ("cpu" if backend.cpu_available() else None)
    got = pl._array_module("auto", "brute")
    assert (got.name if isinstance(got, pl._Where) else None) == expect


# -- cuda/render.cu's kernel on the host ---------------------------------------------------------------
def _rewrite_render_kernel(dst: Path) -> None:
    src = (ROOT / "cuda" / "render.cu").read_text()
    shared = "extern __shared__ __align__(16) unsigned char render_shared[];"
    assert shared in src, "render.cu's shared declaration changed"
    src = src.replace(shared, "unsigned char* render_shared = emu_render_shared;")
    assert "__shared__" not in src
    dst.write_text('#include "cuda_shim.h"\nextern unsigned char emu_render_shared[];\n' + src)


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    if CXX is None:
        pytest.skip("needs a C++20 compiler")
    out = tmp_path_factory.mktemp("emu_render")
    _rewrite_render_kernel(out / "render_emulated.cpp")
    exes = {}

    def get(ctype: str) -> Path:
        if ctype not in exes:
            exe = out / f"run_render_{ctype}"
            cmd = [CXX, "-std=c++20", "-O1", "-pthread", f"-I{ROOT / 'cuda' / 'include'}",
                   f"-I{ROOT / 'tests' / 'cuda_emulation'}", f"-I{out}", f"-DEMU_T={ctype}",
                   str(ROOT / "tests" / "cuda_emulation" / "run_render.cpp"), "-o", str(exe)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode and "barrier" in proc.stderr:
                pytest.skip("the C++ compiler has no C++20 <barrier>")
            assert proc.returncode == 0, f"the emulated kernel does not compile:\n{proc.stderr[-3000:]}"
            exes[ctype] = exe
        return exes[ctype]

    return out, get


def _run_emulated(emulated, prof, xo, xs, ps, dtype, block=32, chunk=64):
    out_dir, get = emulated
    kind, arrays, grid = kernels.profile_arrays(prof)
    C, N, M = ps.shape[1], len(xo), len(xs)
    parts = [xo.ravel(), xs.ravel(), ps.ravel()]
    if kind == "dipole":
        parts += arrays
    else:
        parts += [[arrays[0].size, *grid], arrays[0], arrays[1].ravel()]
    data = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts]).astype(dtype)
    (out_dir / "in.bin").write_bytes(data.tobytes())
    split = -(-M // chunk)
    ctype = "float" if dtype == np.float32 else "double"
    subprocess.run([str(get(ctype)), kind, str(C), str(N), str(M), str(block), str(chunk), str(split),
                    str(out_dir / "in.bin"), str(out_dir / "out.bin")], check=True, timeout=120)
    return np.fromfile(out_dir / "out.bin", dtype=np.float64).reshape(split, N, C).sum(axis=0)


@needs_core
@pytest.mark.parametrize("kind", ["dipole", "table"])
def test_emulated_gpu_kernel_equals_cpu(emulated, kind, tables):
    """render.cu's kernel (tiles through 'shared' memory, partial last tile and block, sample chunks over
    blockIdx.y) run on the host: double equals the CPU extension's brute sum, float the NumPy reference to
    float precision. Not CUDA's compiler or fast math: the cuda-marked tests check those."""
    for channels in (1, 3):
        prof = _profile(kind, channels, tables)
        xo, xs, ps = _case(channels, seed=3, n_out=45, n_samples=300)
        ref = pl._brute(xo, xs, ps, prof)
        got = _run_emulated(emulated, prof, xo, xs, ps, np.float64)
        np.testing.assert_allclose(got, kernels.cpu_sum(xo, xs, ps, prof), rtol=1e-13)
        np.testing.assert_allclose(got, ref, rtol=1e-13)
        centre = 0.5 * (xs.min(axis=0) + xs.max(axis=0))
        got32 = _run_emulated(emulated, prof, xo - centre, xs - centre, ps, np.float32)
        np.testing.assert_allclose(got32, ref, rtol=2e-5)


# -- on a GPU ------------------------------------------------------------------------------------------
def _scenes():
    spheres = render.Scene(objects=[render.Sphere((0, 0, 0), 10.0), render.Sphere((18, 0, 4), 6.0)],
                           lights=[render.DirectionalLight(direction=(1, 1, -1), irradiance=1.0)])
    cam = render.PerspectiveCamera(eye=(7, -45, 0), look_at=(7, 0, 0), fov=50, width=48, height=32)
    slab = render.Scene(objects=[render.Plane((0, 0, 0), (0, 0, 1), (15.0, 15.0)),
                                 render.Sphere((0, 0, 8), 4.0)],
                        lights=[render.PointLight((5, -5, 30), intensity=900.0)])
    cam2 = render.PerspectiveCamera(eye=(0, -40, 40), look_at=(0, 0, 0), fov=40, width=40, height=40)
    return [(spheres, cam), (slab, cam2)]


@pytest.mark.cuda
@pytest.mark.parametrize("kind", ["dipole", "table"])
@pytest.mark.parametrize("channels", [1, 3])
def test_gpu_kernel_matches_numpy_brute(kind, channels, tables):
    """cuda/render.cu against the NumPy brute-force sum: float32 to 1e-4 of each pixel (pixels above
    1e-3 of the maximum; below, 1e-7 of the maximum), float64 to 1e-10, several objects."""
    prof = _profile(kind, channels, tables)
    for scene, cam in _scenes():
        ref = render.render(scene, cam, prof, n_samples=20_000, method="brute", backend="numpy")
        assert ref.hit.sum() > 250
        scale = ref.image.max()
        for dtype, rtol, atol in ((np.float32, 1e-4, 1e-7), (np.float64, 1e-10, 1e-14)):
            gpu = render.render(scene, cam, prof, n_samples=20_000, backend="cuda", gpu_dtype=dtype)
            np.testing.assert_allclose(gpu.image, ref.image, rtol=rtol, atol=atol * scale)


@pytest.mark.cuda
def test_gpu_sum_direct_and_auto(tables):
    """kernels.cuda_sum on NumPy and CuPy inputs, many samples (several chunks over blockIdx.y), and
    render(backend="auto") choosing the GPU for the brute-force sum."""
    import cupy as cp

    prof = render.DipoleProfile(RGB)
    xo, xs, ps = _case(3, seed=5, n_out=3000, n_samples=70_000)
    ref = kernels.cpu_sum(xo, xs, ps, prof) if backend.cpu_available() else pl._brute(xo, xs, ps, prof)
    np.testing.assert_allclose(kernels.cuda_sum(xo, xs, ps, prof, np.float64), ref, rtol=1e-10)
    got = kernels.cuda_sum(cp.asarray(xo), cp.asarray(xs), cp.asarray(ps), prof)
    assert isinstance(got, cp.ndarray)
    np.testing.assert_allclose(got.get(), ref, rtol=1e-4)
    scene, cam = _scenes()[0]
    a = render.render(scene, cam, prof, n_samples=5000)                 # auto → GPU, brute
    assert np.isinf(a.radius)
    b = render.render(scene, cam, prof, n_samples=5000, method="brute", backend="numpy")
    np.testing.assert_allclose(a.image, b.image, rtol=1e-4, atol=1e-7 * b.image.max())


class _FakeCuPy:
    """Just enough of CuPy, on NumPy, for kernels.cuda_sum's Python path; the kernel launch runs the
    emulated render.cu (so the whole GPU path but CUDA itself runs here)."""

    class ndarray:  # nothing is a CuPy array: NumPy in, NumPy out
        pass

    def __init__(self, launch):
        self.launch = launch
        self.cuda = type("cuda", (), {"Device": lambda *_: type("D", (), {"attributes":
                                                                         {"MultiProcessorCount": 1}})()})

    asarray = staticmethod(np.asarray)
    ascontiguousarray = staticmethod(np.ascontiguousarray)
    empty = staticmethod(np.empty)
    zeros = staticmethod(np.zeros)
    isfinite = staticmethod(np.isfinite)
    asnumpy = staticmethod(np.asarray)


@needs_core
@pytest.mark.parametrize("kind", ["dipole", "table"])
def test_cuda_sum_python_path_on_the_emulator(emulated, kind, tables, monkeypatch):
    out_dir, get = emulated

    class Function:
        def __init__(self, name):
            self.name = name

        def __call__(self, grid, block, args, shared_mem=0):
            ctype = "float" if "float" in self.name else "double"
            dtype = np.float32 if ctype == "float" else np.float64
            xo, N, xs, M, ps, chunk = args[:6]
            C = ps.shape[1]
            assert shared_mem == (3 + C) * block[0] * np.dtype(dtype).itemsize
            assert chunk % block[0] == 0 and grid[0] * block[0] >= N and grid[1] * chunk >= M
            if kind == "dipole":
                rest = list(args[6:9])
            else:
                rest = [[args[8], *args[9:12]], args[6], args[7]]
            parts = [xo, xs, ps] + rest
            data = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts]).astype(dtype)
            (out_dir / "in_py.bin").write_bytes(data.tobytes())
            subprocess.run([str(get(ctype)), kind, str(C), str(N), str(M), str(block[0]), str(chunk),
                            str(grid[1]), str(out_dir / "in_py.bin"), str(out_dir / "out_py.bin")],
                           check=True, timeout=120)
            args[-1][...] = np.fromfile(out_dir / "out_py.bin").reshape(args[-1].shape)

    module = type("M", (), {"get_function": lambda self, name: Function(name)})()
    monkeypatch.setattr(backend, "_cupy", lambda: _FakeCuPy(None))
    monkeypatch.setattr(backend, "cuda_available", lambda: True)
    monkeypatch.setattr(kernels, "_cuda_module", lambda: module)
    prof = _profile(kind, 3, tables)
    xo, xs, ps = _case(3, seed=4, n_out=40, n_samples=600)
    xo, xs = xo + 100.0, xs + 100.0                         # far from the origin: cuda_sum recentres
    ref = pl._brute(xo, xs, ps, prof)
    np.testing.assert_allclose(kernels.cuda_sum(xo, xs, ps, prof, np.float64), ref, rtol=1e-13)
    np.testing.assert_allclose(kernels.cuda_sum(xo, xs, ps, prof), ref, rtol=2e-5)
    # and through render's dispatch: backend "cuda" → _sum → cuda_sum
    where = pl._array_module("cuda", "brute", np.float64)
    assert where.name == "cuda"
    got = pl._sum(xo, xs, ps, np.ones(len(xs)), prof, "brute", np.inf, where)
    np.testing.assert_allclose(got, ref, rtol=1e-13)

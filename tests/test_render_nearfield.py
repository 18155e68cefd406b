"""The near-field term of pass 2 (``render(..., near_field=...)``, :mod:`bssrdf.render.nearfield`)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bssrdf
from bssrdf import backend as _backend
from bssrdf import render
from bssrdf.fresnel import F_t
from bssrdf.render.nearfield import AUTO_FACTOR, FarProfile, split_profile

from .test_render_kernels import emulated  # noqa: F401  (the fixture: render.cu built for the host)

# σtr ≈ 0.55, 0.30, 0.95 mm⁻¹ (tests/test_render.py's SLAB)
SLAB = bssrdf.Medium.from_reduced(sigma_a=[0.05, 0.02, 0.1], sigma_s_prime=[2.0, 1.5, 3.0], eta=1.3)
# a thin, strongly scattering top layer (mfp' ≈ 0.1 mm) on a base: a peak ~0.1 mm wide on a long tail
TOP = bssrdf.Medium(sigma_a=(0.2, 0.5, 1.0), sigma_s=(40.0, 45.0, 50.0), g=0.8, eta=1.4)
BASE = bssrdf.Medium.from_reduced(sigma_a=[0.05, 0.2, 0.4], sigma_s_prime=[3.0, 3.0, 3.0], eta=1.4)


def _narrow() -> render.TabulatedProfile:
    from bssrdf.export.table import layered_table

    with warnings.catch_warnings():   # the 0.2 mm top layer is below 2 reduced mean free paths: a warning
        warnings.simplefilter("ignore")
        return render.TabulatedProfile(layered_table([bssrdf.Layer(TOP, 0.2), bssrdf.Layer(BASE, np.inf)]))


def _sphere_scene(px: int = 24):
    scene = render.Scene(objects=[render.Sphere((0, 0, 0), 10.0)],
                         lights=[render.DirectionalLight(direction=(1, 1, -1), irradiance=1.0)])
    cam = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=px, height=px)
    return scene, cam


def _plane(half: float) -> render.Scene:
    return render.Scene(objects=[render.Plane((0, 0, 0), (0, 0, 1), (half, half))],
                        lights=[render.DirectionalLight(direction=(0, 0, -1), irradiance=1.0)])


def _simpson(prof, r) -> np.ndarray:
    """∫₀^{r_max} 2πr R(r) dr of ``prof`` evaluated at the grid radii ``r`` and the midpoints (Simpson's rule
    on each interval: exact for 2πr times a linear interpolant) → (C,)."""
    a, b = r[:-1], r[1:]
    m = 0.5 * (a + b)
    f = [2 * np.pi * x[:, None] * prof.R(x) for x in (a, m, b)]
    return np.sum((b - a)[:, None] / 6.0 * (f[0] + 4.0 * f[1] + f[2]), axis=0)


@pytest.mark.parametrize("which", ["table", "dipole"])
def test_split_conserves_the_interpolated_energy(which):
    """far + near = ∫2πr R dr of the table's interpolant (Simpson's rule on the far table's own
    interpolation, independent of the closed form used for ``near``); R_far = R·w(r) at the grid radii, w
    the quintic smoothstep of r/r_s (0 at 0, 1 from r_s on); the truncation radius is the unsplit profile's.
    A dipole is tabulated (within 1e-4 of its closed form)."""
    if which == "table":
        prof = _narrow()
        table = prof.table
    else:
        from bssrdf.export.table import profile_table

        prof = render.DipoleProfile(SLAB)
        table = profile_table(SLAB)
    full = render.TabulatedProfile(table)
    for r_s in (0.05, 0.37, 2.0):
        far, near, r_cut = split_profile(prof, r_s)
        assert isinstance(far, FarProfile) and r_cut == r_s
        r = table.r
        inner = r[r < r_s]
        t = inner / r_s
        np.testing.assert_allclose(far.R(inner), full.R(inner) * (t**3 * (10 - 15 * t + 6 * t**2))[:, None],
                                   rtol=1e-12, atol=0)
        assert np.all(far.R(np.array([0.0])) == 0.0)
        outer = r[r >= r_s]
        np.testing.assert_array_equal(far.R(outer), full.R(outer))
        whole, part = _simpson(full, r), _simpson(far, r)
        np.testing.assert_allclose(part + near, whole, rtol=1e-12)
        np.testing.assert_allclose(far.total(), part, rtol=1e-4)    # the CDF's mass (exact profile beyond)
        assert far.radius(1e-3) == full.radius(1e-3)
    if which == "dipole":
        np.testing.assert_allclose(full.total(), prof.total(), rtol=2e-4)


def test_flat_slab_energy_at_a_coarse_spacing():
    """tests/test_render.py's flat slab (plane lit along −n, L = F_t(η,1)² R_tot E/π within 1% at every pixel
    of the centre 4 mm × 4 mm) at a spacing of 0.4 mm instead of 0.05 mm (8.9e3 samples, jittered grid).

    Measured (max |error| over the 16 pixels, seeds 0–3): no near field 25.6 / 18.6 / 19.3 / 18.7 %;
    near_field = 3 mm 0.36 / 0.34 / 0.48 / 0.47 %; 2 mm 0.87 / 0.71 / 0.77 / 1.3 %; "auto" (4 × 0.4 = 1.6
    mm) 1.3 / 1.2 / 1.5 / 2.1 % (the jittered grid's random part: on a plane r_s must be larger than on
    the sphere's Fibonacci lattice).
    """
    prof = render.DipoleProfile(SLAB)
    half = prof.radius(1e-3) + 2.0
    n = int((2 * half / 0.4) ** 2)
    cam = render.OrthographicCamera((0, 0, 10), (0, 0, 0), up=(0, 1, 0), view_height=4.0, width=4, height=4)
    L = F_t(1.0, prof.eta) ** 2 * prof.total() / np.pi
    plain = render.render(_plane(half), cam, prof, n_samples=n, seed=0)
    near = render.render(_plane(half), cam, prof, n_samples=n, seed=0, near_field=3.0)
    auto = render.render(_plane(half), cam, prof, n_samples=n, seed=0, near_field="auto")
    assert np.max(np.abs(plain.image / L - 1.0)) > 0.08
    assert np.max(np.abs(near.image / L - 1.0)) < 0.01
    assert np.max(np.abs(auto.image / L - 1.0)) < 0.03
    assert near.near_field == pytest.approx(3.0, rel=0.03) and plain.near_field is None
    h = np.sqrt(np.mean(auto.samples.area))
    assert auto.near_field == pytest.approx(AUTO_FACTOR * h, rel=0.03)


def test_narrow_profile_on_a_sphere_at_few_samples():
    """A thin scattering top layer (peak ~0.1 mm wide) on a 10 mm sphere, 24² pixels: at 1e4 samples
    (spacing 0.35 mm) against a plain render at 4e5 (spacing 0.056 mm; converged: 8e5 and 1.6e6 change the
    comparison by < 1e-5), RMS over the lit pixels relative to their mean (R / G / B):

    * no near field: 44 / 58 / 83 % (seed 1), 39 / 52 / 73 % (seed 2): the lattice's moiré; lit means
      off by 3.4–6.4 % (seed 1);
    * near_field="auto" (r_s 1.4 mm): 0.12 / 0.15 / 0.16 % (seed 1), 0.11 / 0.14 / 0.15 % (seed 2); lit
      means within 0.025 %.
    """
    prof = _narrow()
    scene, cam = _sphere_scene()
    ref = render.render(scene, cam, prof, n_samples=400_000, seed=99).image
    lit = ref[..., 0] > 0.05 * ref[..., 0].max()

    def rms(img):
        return np.sqrt(np.mean(((img[lit] - ref[lit]) / ref[lit].mean(axis=0)) ** 2, axis=0))

    plain = render.render(scene, cam, prof, n_samples=10_000, seed=1).image
    near = render.render(scene, cam, prof, n_samples=10_000, seed=1, near_field="auto").image
    assert np.all(rms(plain) > 0.2), rms(plain)
    assert np.all(rms(near) < 0.005), rms(near)
    np.testing.assert_allclose(near[lit].mean(axis=0), ref[lit].mean(axis=0), rtol=1e-3)


def test_off_is_unchanged_and_backends_agree():
    """near_field=None: the same image, bit for bit, as no argument. With the near field, the compiled CPU
    sums (truncated, brute, clustered) equal the NumPy reference's (the far part is a table for both)."""
    scene, cam = _sphere_scene(16)
    prof = render.DipoleProfile(SLAB)
    a = render.render(scene, cam, prof, n_samples=4000)
    b = render.render(scene, cam, prof, n_samples=4000, near_field=None)
    np.testing.assert_array_equal(a.image, b.image)
    assert b.near_field is None and b.near is None
    if not _backend.cpu_available():
        pytest.skip("the compiled extension is not built")
    for prof in (render.DipoleProfile(SLAB), _narrow()):
        for method in ("truncated", "brute", "clustered"):
            kw = dict(n_samples=4000, method=method, near_field=0.5)
            x = render.render(scene, cam, prof, backend="numpy", **kw)
            y = render.render(scene, cam, prof, backend="cpu", **kw)
            np.testing.assert_allclose(y.image, x.image, rtol=1e-11, atol=1e-15 * x.image.max())


def test_slab_transmission_is_unchanged():
    """On a back-lit slab with T (a multipole table) the front face is unlit, so its image is the T sum
    alone: the same with or without the near field (which splits R only, at E_t(x_o) = 0 here)."""
    from bssrdf.export.table import profile_table

    prof = render.TabulatedProfile(profile_table(SLAB, thickness=2.0))
    slab = render.Slab((0, 0, 0), (0, 0, 1), (8.0, 8.0), 2.0)
    cam = render.OrthographicCamera((0, 0, 10), (0, 0, 0), up=(0, 1, 0), view_height=4.0, width=6, height=6)
    back = render.Scene(objects=[slab], lights=[render.DirectionalLight((0, 0, 1), 1.0)])
    a = render.render(back, cam, prof, n_samples=20_000)
    b = render.render(back, cam, prof, n_samples=20_000, near_field=0.8)
    assert a.image.max() > 0
    np.testing.assert_allclose(b.image, a.image, rtol=1e-12, atol=0)
    # a dipole (no T) on a slab sums the back face with R: r_s must stay below the thickness
    with pytest.raises(ValueError, match="thickness"):
        render.render(back, cam, render.DipoleProfile(SLAB), n_samples=2000, near_field=2.5)


def test_bad_near_field_raises():
    scene, cam = _sphere_scene(4)
    prof = render.DipoleProfile(SLAB)
    r_t = prof.radius(1e-3)
    for bad in (-0.1, 0.0, np.nan, np.inf, "near", True, 1.01 * r_t):
        with pytest.raises(ValueError, match="near_field"):
            render.render(scene, cam, prof, n_samples=500, near_field=bad)
    # a BRDF has no profile to split: the argument is ignored
    lam = render.render(scene, cam, render.LambertianBRDF(0.5), near_field=1.0)
    assert lam.near_field is None


@pytest.mark.cuda
def test_gpu_near_field_matches_numpy():
    """The GPU kernel sums the far table like any table: float64 equals NumPy's brute force with the same
    near field to 1e-10, float32 to 1e-4."""
    scene, cam = _sphere_scene()
    for prof in (render.DipoleProfile(SLAB), _narrow()):
        cpu = render.render(scene, cam, prof, n_samples=20_000, method="brute", backend="numpy",
                            near_field=0.5)
        g64 = render.render(scene, cam, prof, n_samples=20_000, backend="cuda", gpu_dtype=np.float64,
                            near_field=0.5)
        g32 = render.render(scene, cam, prof, n_samples=20_000, backend="cuda", near_field=0.5)
        np.testing.assert_allclose(g64.image, cpu.image, rtol=1e-10, atol=1e-14 * cpu.image.max())
        np.testing.assert_allclose(g32.image, cpu.image, rtol=1e-4, atol=1e-6 * cpu.image.max())


def test_emulated_gpu_kernel_sums_the_far_table(emulated):  # noqa: F811 (the imported fixture)
    """cuda/render.cu's table kernel run on the host (tests/cuda_emulation, as in test_render_kernels.py)
    with a split profile's far table (R·w(r), 0 at r = 0): double equals the NumPy and
    compiled CPU brute sums to 1e-13, float to 2e-5."""
    from bssrdf.render import kernels

    from .test_render_kernels import _run_emulated

    if not _backend.cpu_available():
        pytest.skip("the compiled extension is not built")
    far, _, _ = split_profile(_narrow(), 0.3)
    rng = np.random.default_rng(4)
    xs = rng.uniform(-1.5, 1.5, (300, 3)) * [1, 1, 0.1]
    xo = rng.uniform(-1.0, 1.0, (45, 3)) * [1, 1, 0.1]
    ps = rng.uniform(0.1, 1.0, (300, 3))
    ref = render.pipeline._brute(xo, xs, ps, far)
    assert np.all(ref > 0)
    np.testing.assert_allclose(_run_emulated(emulated, far, xo, xs, ps, np.float64), ref, rtol=1e-13)
    np.testing.assert_allclose(kernels.cpu_sum(xo, xs, ps, far), ref, rtol=1e-13)
    np.testing.assert_allclose(_run_emulated(emulated, far, xo, xs, ps, np.float32), ref, rtol=2e-5)

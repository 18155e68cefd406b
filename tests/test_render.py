"""bssrdf.render: geometry, lights and shadows, the energy of a flat slab, convergence on a sphere,
truncated vs brute-force evaluation, output files."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

import bssrdf
from bssrdf import render
from bssrdf.fresnel import F_t

# σtr ≈ 0.55, 0.30, 0.95 mm⁻¹: a truncation radius of ~17 mm at tail 1e-3.
SLAB = bssrdf.Medium.from_reduced(sigma_a=[0.05, 0.02, 0.1], sigma_s_prime=[2.0, 1.5, 3.0], eta=1.3)
# σtr ≈ 0.81, 1.17, 1.46 mm⁻¹: truncation radius ~7 mm, smaller than a 10 mm sphere.
SPHERE = bssrdf.Medium.from_reduced(sigma_a=[0.1, 0.2, 0.3], sigma_s_prime=[2.0, 2.0, 2.0], eta=1.3)


def _down(half: float, light_direction=(0, 0, -1)) -> render.Scene:
    return render.Scene(objects=[render.Plane((0, 0, 0), (0, 0, 1), (half, half))],
                        lights=[render.DirectionalLight(direction=light_direction, irradiance=1.0)])


# -- geometry ----------------------------------------------------------------------------------
def test_sphere_intersection_normal_and_samples():
    s = render.Sphere((1.0, 2.0, 3.0), 2.0)
    o = np.array([[1.0, 2.0, -10.0], [1.0, 2.0, 3.0], [10.0, 10.0, 10.0]])
    d = np.array([[0, 0, 1.0], [0, 0, 1.0], [1.0, 0, 0]])
    np.testing.assert_allclose(s.intersect(o, d), [11.0, 2.0, np.inf])       # outside, inside, miss
    np.testing.assert_allclose(s.normal(np.array([[1.0, 2.0, 1.0]])), [[0, 0, -1.0]])
    smp = s.sample(5000, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(smp.points - s.center, axis=1), 2.0)
    np.testing.assert_allclose(smp.normals, (smp.points - s.center) / 2.0)
    assert smp.area.sum() == pytest.approx(4 * np.pi * 4.0, rel=1e-12)
    # evenly spread: the mean of the normals vanishes to O(1/n)
    assert np.linalg.norm(smp.normals.mean(axis=0)) < 1e-3


def test_plane_intersection_and_samples():
    p = render.Plane((0, 0, 1.0), (0, 0, 1), (2.0, 1.0))
    o = np.array([[0.5, 0.5, 5.0], [3.0, 0.0, 5.0], [0.0, 0.0, 0.0]])
    d = np.array([[0, 0, -1.0], [0, 0, -1.0], [0, 0, 1.0]])
    np.testing.assert_allclose(p.intersect(o, d), [4.0, np.inf, 1.0])       # hit, outside, from behind
    smp = p.sample(1000, np.random.default_rng(1))
    assert smp.area.sum() == pytest.approx(8.0)
    assert np.all(np.abs(smp.points[:, 0]) <= 2.0) and np.all(np.abs(smp.points[:, 1]) <= 1.0)
    np.testing.assert_allclose(smp.points[:, 2], 1.0)


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="radius"):
        render.Sphere((0, 0, 0), -1.0)
    with pytest.raises(ValueError, match="half_size"):
        render.Plane((0, 0, 0), (0, 0, 1), (1.0, 0.0))
    with pytest.raises(ValueError, match="objects"):
        render.Scene(objects=[])
    scene = _down(5.0)
    cam = render.OrthographicCamera((0, 0, 5), (0, 0, 0), up=(0, 1, 0), width=2, height=2)
    prof = render.DipoleProfile(SLAB)
    with pytest.raises(ValueError, match="method"):
        render.render(scene, cam, prof, n_samples=100, method="octree")
    with pytest.raises(ValueError, match="n_samples"):
        render.render(scene, cam, prof, n_samples=0)
    with pytest.raises(ValueError, match="tail"):
        prof.radius(0.0)
    with pytest.raises(ValueError, match="backend"):
        render.render(scene, cam, prof, n_samples=100, backend="metal")
    with pytest.raises(ValueError, match="brute"):
        render.render(scene, cam, prof, n_samples=100, backend="cuda", method="truncated")
    if not bssrdf.backend.cuda_available():
        with pytest.raises(RuntimeError, match="CuPy"):
            render.render(scene, cam, prof, n_samples=100, backend="cuda")


# -- lights and shadows ------------------------------------------------------------------------
def test_point_light_inverse_square_and_occluder_shadow():
    plane = render.Plane((0, 0, 0), (0, 0, 1), (10.0, 10.0))
    occluder = render.Plane((5.0, 0, 2.0), (0, 0, 1), (5.0, 10.0))       # covers x > 0, above the plane
    light = render.PointLight((0, 0, 4.0), intensity=16.0)
    scene = render.Scene(objects=[plane], lights=[light], occluders=[occluder])
    pts = np.array([[-3.0, 0, 0], [-0.5, 0, 0], [0.5, 0, 0], [3.0, 0, 0]])
    nrm = np.tile([0, 0, 1.0], (4, 1))
    E = render.pipeline.incident_irradiance(scene, pts, nrm, 1)[:, 0]
    d2 = pts[:, 0] ** 2 + 16.0
    expect = 16.0 / d2 * 4.0 / np.sqrt(d2)                    # I/d² cos θ
    np.testing.assert_allclose(E, np.where(pts[:, 0] < 0, expect, 0.0), rtol=1e-12)
    # with the Fresnel factor F_t(η, cos θ)
    Et = render.pipeline.incident_irradiance(scene, pts[:1], nrm[:1], 1, np.array([1.3]))[0, 0]
    assert Et == pytest.approx(expect[0] * float(F_t(4.0 / np.sqrt(d2[0]), 1.3)), rel=1e-12)


# -- the profile's truncation ------------------------------------------------------------------
def test_dipole_tail_closed_form():
    prof = render.DipoleProfile(SLAB)
    np.testing.assert_allclose(prof.tail(0.0), prof.total(), rtol=1e-12)
    for r0 in (0.5, 3.0):
        num = [integrate.quad(lambda r, c=c: 2 * np.pi * r * prof.R(np.array([r]))[0, c], r0, 200.0,
                              limit=400, epsrel=1e-11)[0] for c in range(3)]
        np.testing.assert_allclose(prof.tail(r0), num, rtol=1e-7)
    rad = prof.radius(1e-3)
    assert np.max(prof.tail(rad) / prof.total()) == pytest.approx(1e-3, rel=1e-6)


# -- energy: a large flat slab lit uniformly along its normal ---------------------------------
def test_flat_slab_energy():
    """Plane of half-width (truncation radius + 2 mm), samples every 0.05 mm, E = 1 along −n.

    Under the BSSRDF S_d = (1/π) F_t(η, ω_i) R_d F_t(η, ω_o) the exitance below the boundary is
    M_d = F_t(η, 1) R_tot E (R_tot = total_R_d), the radiance seen along the normal is
    L = F_t(η, 1)² R_tot E / π, and the radiosity is F_t(η, 1) T_h(η) R_tot E with
    T_h = 2∫F_t(η, μ)μ dμ. Every pixel of the centre 4 mm × 4 mm is within 1% of L.
    """
    prof = render.DipoleProfile(SLAB)
    half = prof.radius(1e-3) + 2.0
    n = int((2 * half / 0.05) ** 2)
    scene = _down(half)
    cam = render.OrthographicCamera((0, 0, 10), (0, 0, 0), up=(0, 1, 0), view_height=4.0, width=4, height=4)
    res = render.render(scene, cam, prof, n_samples=n)
    ft1 = F_t(1.0, prof.eta)
    L = ft1**2 * prof.total() / np.pi
    assert res.hit.all()
    err = res.image / L - 1.0
    assert np.max(np.abs(err)) < 0.01, err
    # the exitance below the boundary, and the radiosity, at the same points (the brute-force sum)
    pts = np.array([[0.0, 0, 0], [1.0, -1.0, 0]])
    M = render.exitance(pts, np.zeros(2, int), res.samples, prof, method="brute")
    np.testing.assert_allclose(M / (ft1 * prof.total()), 1.0, atol=0.01)
    Th = render.hemispherical_transmittance(prof.eta)
    radiosity = np.pi * res.image[0, 0] / ft1 * Th
    np.testing.assert_allclose(radiosity, ft1 * Th * prof.total(), rtol=0.01)
    # the matching Lambertian surface gives the same radiosity
    lam = render.LambertianBRDF.matching(prof)
    res_l = render.render(scene, cam, lam)
    np.testing.assert_allclose(np.pi * res_l.image[0, 0], radiosity, rtol=0.01)


def test_hemispherical_transmittance():
    assert render.hemispherical_transmittance(1.0)[0] == pytest.approx(1.0, abs=1e-12)
    # T_h(η) = 1 − (external diffuse reflectance); for η = 1.5 that reflectance is ≈ 0.0918
    assert render.hemispherical_transmittance(1.5)[0] == pytest.approx(1.0 - 0.0918, abs=5e-4)


# -- a sphere: convergence with the number of samples, truncated vs brute ----------------------
def _sphere_scene():
    scene = render.Scene(objects=[render.Sphere((0, 0, 0), 10.0)],
                         lights=[render.DirectionalLight(direction=(1, 1, -1), irradiance=1.0)])
    cam = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=24, height=24)
    return scene, cam


def test_sphere_converges_with_samples():
    scene, cam = _sphere_scene()
    prof = render.DipoleProfile(SPHERE)
    ref = render.render(scene, cam, prof, n_samples=128_000, seed=99).image
    lit = ref[..., 0] > 0.05 * ref[..., 0].max()
    errors = []
    for n in (2_000, 8_000, 32_000):
        img = render.render(scene, cam, prof, n_samples=n, seed=1).image
        errors.append(float(np.sqrt(np.mean(((img[lit] - ref[lit]) / ref[lit]) ** 2))))
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < 0.01 and errors[2] < errors[0] / 10, errors


def test_profile_backends_agree():
    r = np.linspace(0.0, 20.0, 1001)
    ref = render.DipoleProfile(SLAB, backend="numpy").R(r)
    np.testing.assert_allclose(render.DipoleProfile(SLAB).R(r), ref, rtol=1e-13)
    with pytest.raises(ValueError, match="backend"):
        render.DipoleProfile(SLAB, backend="cuda")


def test_truncated_matches_brute_force():
    scene, cam = _sphere_scene()
    cam = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=12, height=12)
    prof = render.DipoleProfile(SPHERE)
    brute = render.render(scene, cam, prof, n_samples=10_000, method="brute")
    assert np.isinf(brute.radius)
    tight = render.render(scene, cam, prof, n_samples=10_000, method="truncated", tail=1e-12)
    np.testing.assert_allclose(tight.image, brute.image, rtol=1e-9, atol=1e-12)
    loose = render.render(scene, cam, prof, n_samples=10_000, method="truncated", tail=1e-3)
    assert 0 < loose.radius < 20.0
    # truncation drops at most `tail` of each sample's spread power (plus the quadrature's noise)
    assert np.max(np.abs(loose.image - brute.image)) <= 2e-3 * brute.image.max()
    assert np.all(loose.image <= brute.image + 1e-15)


# -- output ------------------------------------------------------------------------------------
def test_output_files(tmp_path):
    img = np.linspace(0, 2, 4 * 5 * 3).reshape(4, 5, 3)
    render.write_npy(tmp_path / "a.npy", img)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), img)
    render.write_png(tmp_path / "a.png", img, exposure=0.5)
    import matplotlib.image as mpimg
    back = mpimg.imread(tmp_path / "a.png")
    assert back.shape[:2] == (4, 5)
    np.testing.assert_allclose(back[..., :3], np.round(render.tonemap(img, 0.5) * 255) / 255, atol=1e-6)
    np.testing.assert_allclose(render.srgb_encode(np.array([0.0, 0.0031308, 0.5, 1.0, 2.0])),
                               [0.0, 0.04045, 0.735357, 1.0, 1.0], atol=1e-5)


def test_clustered_matches_truncated():
    """Far cells at their centroids (cell ≥ 6 cells away): within 0.3% of the truncated sum on lit pixels."""
    scene, cam = _sphere_scene()
    prof = render.DipoleProfile(SPHERE)
    a = render.render(scene, cam, prof, n_samples=50_000, method="truncated")
    b = render.render(scene, cam, prof, n_samples=50_000, method="clustered")
    assert b.radius == a.radius
    lit = a.image > 0.05 * a.image.max()
    assert np.max(np.abs(b.image - a.image)[lit] / a.image[lit]) < 3e-3


@pytest.mark.cuda
def test_gpu_brute_force_matches_numpy():
    """The GPU's brute-force sum (cuda/render.cu, float64) equals the NumPy one; the CuPy version of the
    NumPy code (pipeline._brute with CuPy arrays) too. More in tests/test_render_kernels.py."""
    import cupy

    scene, cam = _sphere_scene()
    prof = render.DipoleProfile(SPHERE)
    cpu = render.render(scene, cam, prof, n_samples=20_000, method="brute", backend="numpy")
    gpu = render.render(scene, cam, prof, n_samples=20_000, backend="cuda", gpu_dtype=np.float64)
    np.testing.assert_allclose(gpu.image, cpu.image, rtol=1e-10, atol=1e-14 * cpu.image.max())
    xo, xs = cpu.samples.points[:500], cpu.samples.points
    np.testing.assert_allclose(render.pipeline._brute(xo, xs, cpu.samples.power, prof, cupy),
                               render.pipeline._brute(xo, xs, cpu.samples.power, prof), rtol=1e-10)


def test_shadow_boundary_on_a_flat_slab():
    """An occluder shades x > 0 of a large plane lit along its normal. Exactly, the exitance at x₀ is
    F_t(η,1) E ∫ R_d over the lit half-plane = F_t E [R_tot − ∫_{|x₀|}^∞ 2πr R_d(r) arccos(|x₀|/r)/π dr]
    for x₀ ≤ 0 (the bracketed integral alone for x₀ > 0). Samples every 0.05 mm."""
    prof = render.DipoleProfile(SLAB)
    half = prof.radius(1e-3) + 2.0
    plane = render.Plane((0, 0, 0), (0, 0, 1), (half, half))
    occluder = render.Plane((half, 0, 1.0), (0, 0, 1), (half, 2 * half))
    scene = render.Scene(objects=[plane], lights=[render.DirectionalLight((0, 0, -1), 1.0)],
                         occluders=[occluder])
    smp = render.irradiance_samples(scene, prof, int((2 * half / 0.05) ** 2), np.random.default_rng(3))
    x0 = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    pts = np.stack([x0, np.zeros(5), np.zeros(5)], axis=1)
    M = render.exitance(pts, np.zeros(5, int), smp, prof)

    def far_half(a: float, c: int) -> float:
        f = lambda r: 2 * np.pi * r * prof.R(np.array([r]))[0, c] * np.arccos(min(1.0, a / r)) / np.pi  # noqa: E731
        return integrate.quad(f, a, 200.0, limit=400)[0]

    ft = F_t(1.0, prof.eta)
    exact = np.array([[ft[c] * (far_half(abs(x), c) if x > 0 else prof.total()[c] - far_half(abs(x), c))
                       for c in range(3)] for x in x0])
    err = np.abs(M - exact) / (ft * prof.total())          # in units of the fully lit exitance
    assert np.all(err[x0 != 0] < 5e-3), err
    assert np.all(err < 0.015), err                         # on the edge itself the peak is cut in half
    assert np.all(M[x0 > 0] < M[x0 < 0][::-1])              # darker in the shadow, mirror for mirror


# -- tabulated profiles ----------------------------------------------------------------------------
def test_tabulated_dipole_renders_as_the_closed_form():
    """A TabulatedProfile of the dipole's table: totals and tails against the dipole's closed forms,
    and the same sphere image as DipoleProfile (the table interpolates to ~1e-4)."""
    from bssrdf.export.table import profile_table

    exact = render.DipoleProfile(SPHERE)
    tab = render.TabulatedProfile(profile_table(SPHERE))
    np.testing.assert_allclose(tab.total(), exact.total(), rtol=2e-4)
    np.testing.assert_allclose(tab.tail(2.0), exact.tail(2.0), rtol=2e-3)
    assert tab.radius(1e-3) == pytest.approx(exact.radius(1e-3), rel=0.03)
    np.testing.assert_allclose(tab.eta, exact.eta)
    scene = render.Scene(objects=[render.Sphere((0, 0, 0), 10.0)],
                         lights=[render.DirectionalLight(direction=(1, 1, -1), irradiance=1.0)])
    cam = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=24, height=24)
    a = render.render(scene, cam, exact, n_samples=8000)
    b = render.render(scene, cam, tab, n_samples=8000)
    assert np.abs(a.image[a.hit] - b.image[a.hit]).max() < 3e-4 * a.image[a.hit].max()


def test_tabulated_slab_transmission_and_errors():
    from bssrdf.export.table import profile_table
    from bssrdf.profiles import multipole

    table = profile_table(SLAB, thickness=2.0)
    slab = render.TabulatedProfile(table)
    assert slab.has_transmission
    np.testing.assert_allclose(slab.transmission.total(), multipole.total_T(SLAB, 2.0), rtol=2e-4)
    np.testing.assert_allclose(slab.total(), multipole.total_R(SLAB, 2.0), rtol=2e-4)
    r = np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(slab.transmission.R(r), table.evaluate(r, "T"))
    with pytest.raises(ValueError, match="transmittance"):
        _ = render.TabulatedProfile(profile_table(SLAB)).transmission
    with pytest.raises(ValueError, match="quantity"):
        render.TabulatedProfile(profile_table(SLAB), "T")
    with pytest.raises(TypeError, match="ProfileTable"):
        render.TabulatedProfile(SLAB)
    with pytest.raises(ValueError, match="tail"):
        slab.radius(0.0)


def test_exr_read_back_by_mitsuba(tmp_path):
    """write_exr's files open in an independent reader (Mitsuba 3's Bitmap, OpenEXR's library)."""
    mi = pytest.importorskip("mitsuba")
    mi.set_variant("scalar_rgb")
    img = np.random.default_rng(0).random((5, 7, 3)) * 100.0
    render.write_exr(tmp_path / "rgb.exr", img)
    back = np.array(mi.Bitmap(str(tmp_path / "rgb.exr")))
    np.testing.assert_array_equal(back, img.astype(np.float32))
    render.write_exr(tmp_path / "half.exr", img, pixel_type="half")
    np.testing.assert_allclose(np.array(mi.Bitmap(str(tmp_path / "half.exr"))), img, rtol=1e-3)
    render.write_exr(tmp_path / "y.exr", img[:, :, 1])
    back = np.array(mi.Bitmap(str(tmp_path / "y.exr"))).reshape(5, 7)
    np.testing.assert_array_equal(back, img[:, :, 1].astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        render.write_exr(tmp_path / "bad.exr", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="half"):
        render.write_exr(tmp_path / "big.exr", np.full((2, 2), 1e6), pixel_type="half")
    with pytest.raises(ValueError, match="finite"):
        render.write_exr(tmp_path / "nan.exr", np.full((2, 2), np.nan))


def test_progress_blocks_change_nothing(monkeypatch):
    """With a progress bar, pass 2 runs in blocks of points: the image is bit-identical, for a sphere
    and for a back-lit slab with the multipole's R and T."""
    from bssrdf.export.table import profile_table
    from bssrdf.render import pipeline

    monkeypatch.setattr(pipeline, "PROGRESS_CHUNKS", 7)
    scene = render.Scene(objects=[render.Sphere((0, 0, 0), 10.0)],
                         lights=[render.DirectionalLight(direction=(1, 1, -1), irradiance=1.0)])
    cam = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=96, height=96)
    prof = render.DipoleProfile(SPHERE)
    a = render.render(scene, cam, prof, n_samples=6000, progress=False)
    b = render.render(scene, cam, prof, n_samples=6000, progress=True)
    np.testing.assert_array_equal(a.image, b.image)
    slab = render.Scene(objects=[render.Slab((0, 0, 0), (0, 0, 1), (6.0, 6.0), 2.0)],
                        lights=[render.DirectionalLight(direction=(0, 0, 1), irradiance=1.0)])
    cam = render.OrthographicCamera((0, 0, 5), (0, 0, 0), up=(0, 1, 0), view_height=8.0, width=96, height=96)
    tab = render.TabulatedProfile(profile_table(SLAB, thickness=2.0))
    a = render.render(slab, cam, tab, n_samples=20000, progress=False)
    b = render.render(slab, cam, tab, n_samples=20000, progress=True)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.image.max() > 0

"""bssrdf.render meshes and the specular term: icosphere geometry against the sphere's closed forms,
ray hits bracketed by the analytic Sphere, sampling quadrature, validation, OBJ files, a flat mesh
against the Plane (and the slab's closed form), a meshed sphere against the Sphere, and the GGX lobe
against an independent integration over visible normals."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import bssrdf
from bssrdf import render
from bssrdf.fresnel import F_r, F_t
from bssrdf.microfacet import _disk_nodes, directional_albedos, visible_normal

# σtr ≈ 0.81, 1.17, 1.46 mm⁻¹: truncation radius ~7 mm (as tests/test_render.py's SPHERE).
MEDIUM = bssrdf.Medium.from_reduced(sigma_a=[0.1, 0.2, 0.3], sigma_s_prime=[2.0, 2.0, 2.0], eta=1.3)
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "meshes" / "icosphere_r10_s2.obj"


# -- geometry ----------------------------------------------------------------------------------
def test_icosphere_area_and_volume_converge_to_the_sphere():
    """Inscribed in the sphere: area and volume below 4πR², 4πR³/3, the gap falling ~4× per
    subdivision (O(h²))."""
    R = 3.0
    da, dv = [], []
    for s in range(5):
        m = render.icosphere(R, s, center=(1.0, -2.0, 0.5))
        assert m.faces.shape == (20 * 4**s, 3) and m.closed and m.consistent
        np.testing.assert_allclose(np.linalg.norm(m.vertices - (1.0, -2.0, 0.5), axis=1), R, rtol=1e-14)
        da.append(4 * np.pi * R**2 - m.area)
        dv.append(4 * np.pi * R**3 / 3 - m.volume)
    da, dv = np.array(da), np.array(dv)
    assert np.all(da > 0) and np.all(dv > 0)
    assert np.all(da[1:] / da[:-1] < 0.31) and np.all(dv[1:] / dv[:-1] < 0.33), (da, dv)
    assert da[-1] / da[-2] == pytest.approx(0.25, abs=0.01)
    assert dv[-1] / dv[-2] == pytest.approx(0.25, abs=0.01)
    assert da[-1] / (4 * np.pi * R**2) < 2e-3 and dv[-1] / (4 * np.pi * R**3 / 3) < 3e-3
    b = render.box((1, 2, 3), (2.0, 3.0, 4.0))
    assert b.area == pytest.approx(2 * (6 + 8 + 12)) and b.volume == pytest.approx(24.0)


def test_icosphere_hits_are_bracketed_by_spheres():
    """The convex mesh lies between its inscribed ball (radius the least distance from the centre
    to a face plane) and the sphere through its vertices: for rays from outside, the analytic
    Sphere's distances bracket the mesh's, and rays missing the sphere miss the mesh."""
    c, R = np.array([0.5, 1.0, -1.0]), 10.0
    m = render.icosphere(R, 3, center=c)
    r_in = float(np.min(np.einsum("ij,ij->i", m.vertices[m.faces[:, 0]] - c, m.face_normals)))
    sagitta = R - r_in
    assert 0 < sagitta < 0.01 * R
    rng = np.random.default_rng(5)
    n = 20_000
    u = rng.normal(size=(n, 3))
    o = c + 40.0 * u / np.linalg.norm(u, axis=1, keepdims=True)
    target = c + rng.uniform(-1.1 * R, 1.1 * R, size=(n, 3))
    d = (target - o) / np.linalg.norm(target - o, axis=1, keepdims=True)
    t, face = m.intersect_faces(o, d)
    t_out = render.Sphere(c, R).intersect(o, d)
    t_in = render.Sphere(c, r_in).intersect(o, d)
    assert np.all(np.isinf(t[np.isinf(t_out)]))
    assert np.all(np.isfinite(t[np.isfinite(t_in)]))
    hit = np.isfinite(t)
    assert hit.sum() > n / 3
    assert np.all(t[hit] >= t_out[hit] - 1e-9)
    inner = np.isfinite(t_in)
    assert np.all(t[inner] <= t_in[inner] + 1e-9)
    np.testing.assert_array_equal(face >= 0, hit)
    # the normal of the face hit, and the nearest-face lookup without it, agree
    x = o[hit] + t[hit, None] * d[hit]
    np.testing.assert_allclose(m.normal(x, face[hit]), m.face_normals[face[hit]])
    assert np.mean(np.all(np.isclose(m.normal(x), m.face_normals[face[hit]]), axis=1)) > 0.999
    # flat-face normals are within the angle of a face's half-width of the sphere's
    cos = np.einsum("ij,ij->i", m.normal(x, face[hit]), (x - c) / np.linalg.norm(x - c, axis=1)[:, None])
    assert np.min(cos) > np.cos(np.arccos(r_in / R) + 1e-6)


def test_mesh_sampling_is_an_area_quadrature():
    """Areas that sum to each triangle's, points on the surface with outward normals, about n of
    them, and ∫ x² dA over a box's surface (closed form 100/3 mm⁴ for 2 × 3 × 4 mm) to 3e-4; with
    fewer points than triangles, a lattice of equal areas A/n and per-triangle counts within ±1 of
    n A_k / A."""
    b = render.box((0, 0, 0), (2.0, 3.0, 4.0))
    n = 20_000
    s = b.sample(n, np.random.default_rng(2))
    assert abs(s.area.size - n) < 0.1 * n
    assert s.area.sum() == pytest.approx(b.area, rel=1e-12)
    half = np.array([1.0, 1.5, 2.0])
    assert np.all(np.abs(s.points) <= half + 1e-12)
    on_face = np.isclose(np.abs(s.points), half)
    assert np.all(on_face.sum(axis=1) == 1)
    axis = np.argmax(on_face, axis=1)
    rows = np.arange(s.area.size)
    np.testing.assert_allclose(np.abs(s.normals[rows, axis]), 1.0)
    assert np.all(np.sign(s.normals[rows, axis]) == np.sign(s.points[rows, axis]))
    assert (s.points[:, 0] ** 2 * s.area).sum() == pytest.approx(100.0 / 3.0, rel=3e-4)      # O(h²)
    # the icosphere: every point on its triangle, each triangle's area accounted for exactly
    m = render.icosphere(2.0, 2)
    s = m.sample(5_000, np.random.default_rng(3))
    f = m._nearest_face(s.points)
    np.testing.assert_allclose(np.bincount(f, weights=s.area, minlength=m.faces.shape[0]), m.face_areas,
                               rtol=1e-12)
    np.testing.assert_allclose(np.einsum("ij,ij->i", s.points - m.vertices[m.faces[f, 0]], m.face_normals[f]),
                               0.0, atol=1e-12)
    assert np.linalg.norm(np.sum(s.points * s.area[:, None], axis=0)) < 1e-9     # centroid at the centre
    # fewer points than triangles: the shifted lattice
    m = render.icosphere(2.0, 3)
    s = m.sample(300, np.random.default_rng(4))
    assert s.area.size == 300
    np.testing.assert_allclose(s.area, m.area / 300)
    counts = np.bincount(m._nearest_face(s.points), minlength=m.faces.shape[0])
    assert np.all(np.abs(counts - 300 * m.face_areas / m.area) < 1.0 + 1e-9)


def test_mesh_validation():
    v = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="vertices must have shape"):
        render.Mesh(v[:, :2], [[0, 1, 2]])
    with pytest.raises(ValueError, match="vertex 1 is"):
        render.Mesh(np.where([[0], [1], [0], [0]], np.nan, v), [[0, 1, 2]])
    with pytest.raises(ValueError, match=r"face 1 is \[1, 2, 4\]"):
        render.Mesh(v, [[0, 1, 2], [1, 2, 4]])
    with pytest.raises(ValueError, match="face 0 .* area"):
        render.Mesh(v, [[0, 1, 1]])
    with pytest.raises(ValueError, match="non-zero area; face 1"):
        render.Mesh(np.vstack([v, [[2.0, 0, 0]]]), [[0, 1, 2], [0, 1, 4]])      # collinear
    with pytest.raises(ValueError, match="faces must have shape"):
        render.Mesh(v, [[0, 1, 2, 3]])
    with pytest.raises(ValueError, match="integer"):
        render.Mesh(v, [[0, 1, 2.5]])
    with pytest.raises(ValueError, match="vertex_normals"):
        render.Mesh(v, [[0, 1, 2]], vertex_normals=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="subdivisions"):
        render.icosphere(1.0, -1)
    with pytest.raises(ValueError, match="size"):
        render.box((0, 0, 0), (1.0, 0.0, 1.0))
    # a closed mesh wound inward is turned outward, with a warning naming the signed volume
    b = render.box((0, 0, 0), 2.0)
    with pytest.warns(UserWarning, match="signed volume -8"):
        inward = render.Mesh(b.vertices, b.faces[:, ::-1])
    assert inward.volume == pytest.approx(8.0)
    np.testing.assert_allclose(inward.face_normals, b.face_normals)
    # an inconsistently wound closed mesh is accepted with a warning
    f = b.faces.copy()
    f[0] = f[0, ::-1]
    with pytest.warns(UserWarning, match="not consistently wound"):
        assert not render.Mesh(b.vertices, f).consistent
    # an open mesh keeps its winding, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sq = render.Mesh(v, [[0, 1, 3], [0, 3, 2]])
    assert not sq.closed and np.isnan(sq.volume)
    np.testing.assert_allclose(sq.face_normals, [[0, 0, 1.0]] * 2)


def test_mesh_occluder_casts_a_shadow():
    """A box above x > 0 of a plane lit from straight above: no light under it, E elsewhere; the
    box as an object hides the plane behind it from the camera, and its own top is lit."""
    plane = render.Plane((0, 0, 0), (0, 0, 1), (10.0, 10.0))
    blocker = render.box((5.0, 0.0, 3.0), (10.0, 30.0, 1.0))
    scene = render.Scene([plane], [render.DirectionalLight((0, 0, -1), 2.0)], occluders=[blocker])
    pts = np.array([[-3.0, 0, 0], [-0.1, 2.0, 0], [0.1, -2.0, 0], [3.0, 0, 0]])
    E = render.pipeline.incident_irradiance(scene, pts, np.tile([0, 0, 1.0], (4, 1)), 1)[:, 0]
    np.testing.assert_array_equal(E, [2.0, 2.0, 0.0, 0.0])
    both = render.Scene([plane, blocker], scene.lights)
    cam = render.OrthographicCamera((0, 0, 20), (0, 0, 0), up=(0, 1, 0), view_height=4.0, width=4, height=4)
    res = render.render(both, cam, render.LambertianBRDF(0.5))
    np.testing.assert_allclose(res.image[..., 0], 0.5 / np.pi * 2.0)      # plane on the left, box top right
    hits = both.trace(*(a.reshape(-1, 3) for a in cam.rays()))
    np.testing.assert_array_equal(hits.index.reshape(4, 4), [[0, 0, 1, 1]] * 4)
    np.testing.assert_allclose(hits.points[hits.index == 1][:, 2], 3.5)


# -- OBJ files -----------------------------------------------------------------------------------
def test_obj_round_trip(tmp_path):
    for smooth in (False, True):
        m = render.icosphere(2.5, 2, center=(1, 2, 3), smooth=smooth)
        render.write_obj(tmp_path / "a.obj", m, comment="test")
        back = render.Mesh.from_obj(tmp_path / "a.obj")
        np.testing.assert_array_equal(back.faces, m.faces)
        np.testing.assert_array_equal(back.vertices, m.vertices)
        if smooth:
            np.testing.assert_allclose(back.vertex_normals, m.vertex_normals, rtol=0, atol=1e-15)
        else:
            assert back.vertex_normals is None
    scaled = render.load_obj(tmp_path / "a.obj", scale=10.0)
    assert scaled.area == pytest.approx(100.0 * m.area, rel=1e-12)
    shipped = render.load_obj(SHIPPED)
    ref = render.icosphere(10.0, 2, smooth=True)
    assert shipped.closed and shipped.faces.shape == (320, 3) and shipped.area == pytest.approx(ref.area)


def test_obj_parser_forms_and_errors(tmp_path):
    text = """# a unit square as one quad and a triangle fan, and a tetrahedron
v 0 0 0
v 1 0 0   # trailing comment
v 1 1 0
v 0 1 0
vt 0 0
vn 0 0 1
o square
s off
f 1/1/1 2/1/1 3/1/1 4/1/1
"""
    p = tmp_path / "sq.obj"
    p.write_text(text)
    sq = render.load_obj(p)
    np.testing.assert_array_equal(sq.faces, [[0, 1, 2], [0, 2, 3]])
    assert sq.area == pytest.approx(1.0)
    np.testing.assert_allclose(sq.vertex_normals, [[0, 0, 1.0]] * 4)
    tet = """v 0 0 0 1.0 0.5 0.5
v 1 0 0
v 0 1 0
v 0 0 1
f -4 -2 -3
f -4//  -3 -1
f 1/1 4/2 3/3
f 2 3 4
"""
    p.write_text(tet)
    t = render.load_obj(p)
    assert t.closed and t.consistent and t.volume == pytest.approx(1 / 6)
    np.testing.assert_array_equal(t.faces[0], [0, 2, 1])
    bad = {
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n": r"sq.obj:4: vertex index 4 is out of range \(1..3",
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n": r"sq.obj:4: vertex index 0",
        "v 0 0 0\nv 1 0 x\nv 0 1 0\nf 1 2 3\n": r"sq.obj:2: 'v' coordinates must be numbers",
        "v 0 0 0\nv 1 0\n": r"sq.obj:2: 'v' needs at least 3",
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1 2\nf 1 2 3\n": r"sq.obj:4: 'vn' needs 3",
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1/1/1 2 3\n": r"sq.obj:4: malformed face corner",
        "# c\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n": r"sq.obj:5: a face needs at least 3",
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1//1 2//1 3//1\n": r"sq.obj:4: normal index 1 is out of range",
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 a 3\n": r"sq.obj:4: vertex index 'a'",
        "v 0 0 0\n": r"no faces",
        "v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n": r"face 0 .*area",
    }
    for content, pattern in bad.items():
        p.write_text(content)
        with pytest.raises(ValueError, match=pattern):
            render.load_obj(p)


# -- rendering -----------------------------------------------------------------------------------
def test_flat_mesh_matches_plane_and_the_closed_form():
    """Two triangles of half-width r_trunc + 2 mm lit along the normal, samples every 0.05 mm:
    every pixel within 1% of L = F_t(η,1)² R_tot E/π and of the Plane's render."""
    prof = render.DipoleProfile(MEDIUM)
    half = prof.radius(1e-3) + 2.0
    v = np.array([[-half, -half, 0], [half, -half, 0], [-half, half, 0], [half, half, 0]])
    mesh = render.Mesh(v, [[0, 1, 3], [0, 3, 2]])
    light = [render.DirectionalLight((0, 0, -1), 1.0)]
    cam = render.OrthographicCamera((0, 0, 10), (0, 0, 0), up=(0, 1, 0), view_height=4.0, width=4, height=4)
    n = int((2 * half / 0.05) ** 2)
    img_m = render.render(render.Scene([mesh], light), cam, prof, n_samples=n).image
    img_p = render.render(render.Scene([render.Plane((0, 0, 0), (0, 0, 1), (half, half))], light),
                          cam, prof, n_samples=n).image
    L = F_t(1.0, prof.eta) ** 2 * prof.total() / np.pi
    assert np.max(np.abs(img_m / L - 1)) < 0.01, img_m / L - 1
    assert np.max(np.abs(img_m / img_p - 1)) < 0.01, img_m / img_p - 1


def _sphere_setup(width=24):
    light = [render.DirectionalLight(direction=(1, 1, -1), irradiance=1.0)]
    cam = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=width, height=width)
    return light, cam


def test_icosphere_render_converges_to_the_sphere():
    """The same view of a 10 mm sphere and of icospheres of 1 to 4 subdivisions (flat normals):
    the RMS relative difference over pixels lit in both falls ~4× with each subdivision (to 0.7%);
    with smooth normals, to 0.3%."""
    light, cam = _sphere_setup()
    prof = render.DipoleProfile(MEDIUM)
    ref = render.render(render.Scene([render.Sphere((0, 0, 0), 10.0)], light), cam, prof, n_samples=30_000)

    def error(mesh):
        img = render.render(render.Scene([mesh], light), cam, prof, n_samples=30_000).image
        lit = (ref.image[..., 0] > 0.05 * ref.image[..., 0].max()) & (img[..., 0] > 0)
        assert lit.sum() > 250
        return float(np.sqrt(np.mean(((img[lit] - ref.image[lit]) / ref.image[lit]) ** 2)))

    errors = np.array([error(render.icosphere(10.0, s)) for s in (1, 2, 3, 4)])
    assert np.all(errors[1:] < errors[:-1] / 2.5), errors
    assert errors[-1] < 0.01, errors
    assert error(render.icosphere(10.0, 4, smooth=True)) < 0.004


# -- the specular term ---------------------------------------------------------------------------
def _albedo_by_half_vectors(spec: render.Specular, mu_i: float, eta: float, n_theta=200, n_phi=400) -> float:
    """∫ f_s cos θ_o dω_o over the outgoing hemisphere, integrated over half vectors:
    dω_o = 4 (ω_o·h) dω_h; θ_h = arctan(α tan x), x Gauss–Legendre on (0, π/2), φ_h midpoint rule."""
    a = spec.roughness
    x, w = np.polynomial.legendre.leggauss(n_theta)
    x = 0.25 * np.pi * (x + 1.0)
    w = 0.25 * np.pi * w
    th = np.arctan(a * np.tan(x))
    dth = a / np.cos(x) ** 2 / (1.0 + (a * np.tan(x)) ** 2)
    ph = (np.arange(n_phi) + 0.5) / n_phi * 2 * np.pi
    TH, PH = np.meshgrid(th, ph, indexing="ij")
    W = (w * dth)[:, None] * np.sin(TH) * (2 * np.pi / n_phi)
    h = np.stack([np.sin(TH) * np.cos(PH), np.sin(TH) * np.sin(PH), np.cos(TH)], -1).reshape(-1, 3)
    wi = np.array([np.sqrt(1 - mu_i**2), 0.0, mu_i])
    wo = 2 * (h @ wi)[:, None] * h - wi
    nrm = np.tile([0, 0, 1.0], (h.shape[0], 1))
    f = spec.brdf(nrm, np.broadcast_to(wi, h.shape), wo, [eta])[:, 0]
    jac = 4.0 * np.clip(np.einsum("ij,ij->i", wo, h), 0, None)
    return float(np.sum(f * np.clip(wo[:, 2], 0, None) * jac * W.ravel()))


def _albedo_by_visible_normals(alpha: float, mu_i: float, eta: float) -> float:
    """The same albedo as E_{m ~ D_ωi}[F_r(ω_i·m) G1(ω_o) 1(ω_o above)] (Heitz 2018's visible normals,
    :func:`bssrdf.microfacet.visible_normal`, quadrature over its disk): f_s cos θ_o dω_o =
    F G1(ω_i) G1(ω_o) D (ω_i·m)/cos θ_i dm = F G1(ω_o) D_ωi(m) dm."""
    u1, u2, w = _disk_nodes(192, 384)
    wi = np.array([np.sqrt(1 - mu_i**2), 0.0, mu_i])
    m = visible_normal(np.broadcast_to(wi, (u1.size, 3)), alpha, u1, u2)
    c = np.clip(m @ wi, 0, 1)
    wo = 2 * c[:, None] * m - wi
    up = wo[:, 2] > 0
    from bssrdf.microfacet import G1
    return float(np.sum(w * np.where(up, F_r(c, eta) * G1(wo[:, 2], alpha), 0.0)))


@pytest.mark.parametrize("alpha", [0.1, 0.3, 0.6])
def test_specular_albedo_matches_visible_normal_integration(alpha):
    spec = render.Specular(roughness=alpha)
    for mu in (0.95, 0.6, 0.25):
        a = _albedo_by_half_vectors(spec, mu, 1.4)
        b = _albedo_by_visible_normals(alpha, mu, 1.4)
        assert a == pytest.approx(b, rel=2e-4), (alpha, mu, a, b)


def test_specular_albedo_tends_to_fresnel_when_smooth():
    """α = 0.02: the lobe reflects F_r(η, cos θ_i), as bssrdf.microfacet's rough interface does."""
    spec = render.Specular(roughness=0.02)
    for mu in (0.9, 0.5):
        a = _albedo_by_half_vectors(spec, mu, 1.3)
        rho, _ = directional_albedos(mu, 1.3, 0.02)
        assert a == pytest.approx(float(F_r(mu, 1.3)), rel=5e-3)
        assert a == pytest.approx(float(rho), rel=5e-3)


@pytest.mark.parametrize("shape", ["sphere", "icosphere"])
def test_specular_highlight_at_the_mirror_direction(shape):
    """A smooth lobe (α = 0.05) on a sphere: the brightest pixel is the one whose (analytic) sphere
    normal is nearest the half vector of its light and view directions (±1 pixel for the smooth
    icosphere), within 1.5° of it, away from where the light is normal; on the Sphere the pixel's
    radiance is F_r(η, ω_o·h) D(h) G1(ω_i) G1(ω_o) E / (4 cos θ_o) there."""
    obj = render.Sphere((0, 0, 0), 10.0) if shape == "sphere" else render.icosphere(10.0, 4, smooth=True)
    wl = np.array([1.0, -0.5, 0.6])
    wl /= np.linalg.norm(wl)
    scene = render.Scene([obj], [render.DirectionalLight(direction=tuple(-wl), irradiance=2.0)])
    cam = render.PerspectiveCamera(eye=(0, -60, 0), look_at=(0, 0, 0), fov=22, width=96, height=96)
    res = render.render(scene, cam, render.LambertianBRDF(0.0, eta=1.4), specular=render.Specular(0.05))
    o, d = cam.rays()
    t = render.Sphere((0, 0, 0), 10.0).intersect(o, d)
    n = (o + t[..., None] * d) / 10.0
    h = wl - d
    h /= np.linalg.norm(h, axis=-1, keepdims=True)
    cos_nh = np.where(np.isfinite(t), np.einsum("ijk,ijk->ij", n, h), -1.0)
    k = np.unravel_index(np.argmax(res.image[..., 0]), res.hit.shape)
    nearest = np.unravel_index(np.argmax(cos_nh), cos_nh.shape)
    angle = np.degrees(np.arccos(min(1.0, cos_nh[k])))
    assert angle < 1.5, angle
    assert np.degrees(np.arccos(n[k] @ wl)) > 20                  # not where the light is normal
    if shape == "sphere":
        assert k == nearest
        from bssrdf.microfacet import G1, D
        cos_o, cos_i = float(-(n[k] @ d[k])), float(n[k] @ wl)
        L = (float(F_r(h[k] @ wl, 1.4)) * D(cos_nh[k], 0.05) * G1(cos_i, 0.05) * G1(cos_o, 0.05)
             * 2.0 / (4 * cos_o))
        assert res.image[k][0] == pytest.approx(L, rel=1e-9)
    else:
        assert max(abs(k[0] - nearest[0]), abs(k[1] - nearest[1])) <= 1, (k, nearest)


def test_specular_adds_to_either_material():
    light, cam = _sphere_setup(width=12)
    scene = render.Scene([render.icosphere(10.0, 3, smooth=True)], light)
    prof = render.DipoleProfile(MEDIUM)
    spec = render.Specular(roughness=0.2)
    base = render.render(scene, cam, prof, n_samples=5_000)
    both = render.render(scene, cam, prof, n_samples=5_000, specular=spec)
    alone = render.render(scene, cam, render.LambertianBRDF(0.0, eta=tuple(prof.eta)), specular=spec)
    assert alone.image.max() > 0.1 * base.image.max()
    np.testing.assert_allclose(both.image, base.image + alone.image, rtol=1e-12, atol=1e-15)
    # the matched Lambertian surface carries η, so its highlight is the BSSRDF's
    lam = render.LambertianBRDF.matching(prof)
    diff = (render.render(scene, cam, lam, specular=spec).image - render.render(scene, cam, lam).image)
    np.testing.assert_allclose(diff, alone.image, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="roughness"):
        render.Specular(roughness=0.0)
    with pytest.raises(ValueError, match="eta"):
        render.Specular(eta=-1.0)
    with pytest.raises(ValueError, match="Specular.eta must be given"):
        render.render(scene, cam, render.LambertianBRDF(0.5), specular=spec)
    with pytest.raises(TypeError, match="specular"):
        render.render(scene, cam, prof, specular=0.3)

"""Profile tables (bssrdf.export.table): grid, accuracy against closed forms, sampling, files."""

import warnings

import numpy as np
import pytest
from scipy import integrate, stats

import bssrdf
from bssrdf import Layer, Medium
from bssrdf.export import table as tbl
from bssrdf.profiles import dipole, layered, multipole

MARBLE = bssrdf.materials.get("marble")
SKIN = bssrdf.materials.get("skin1")


@pytest.fixture(scope="module")
def marble_table():
    return tbl.profile_table(MARBLE)


@pytest.fixture(scope="module")
def slab_table():
    return tbl.profile_table(MARBLE, thickness=1.0, n_below=1.5)


def dipole_partial_integral(r, medium, n_outside=1.0):
    """∫₀^r 2πs R_d(s) ds in closed form (test's own derivation): each source S(z) has the
    antiderivative −z e^{−σtr δ}/δ of s S(z), δ = sqrt(s² + z²). Shape r.shape + (C,)."""
    r = np.asarray(r, dtype=np.float64)[..., None]
    st = np.atleast_1d(medium.sigma_t_prime)
    ap, tr = np.atleast_1d(medium.albedo_prime), np.atleast_1d(medium.sigma_tr)
    zr = 1.0 / st
    zv = np.atleast_1d(dipole.z_v(medium, n_outside))
    out = 0.0
    for z in (zr, zv):
        delta = np.sqrt(r * r + z * z)
        out = out + z * (np.exp(-tr * z) / z - np.exp(-tr * delta) / delta)
    return 0.5 * ap * out


def interpolated_integral(t, quantity="R"):
    """∫₀^{r_max} 2πr R_interp(r) dr exactly (R linear on each interval) → (C,)."""
    v = t.R if quantity == "R" else t.T
    r0, r1 = t.r[:-1, None], t.r[1:, None]
    slope = (v[1:] - v[:-1]) / (r1 - r0)
    a = v[:-1] - slope * r0
    return (2 * np.pi * (a * (r1**2 - r0**2) / 2 + slope * (r1**3 - r0**3) / 3)).sum(axis=0)


def max_midpoint_error(t, exact, quantity="R"):
    """Largest relative error of the interpolated profile at interval midpoints where
    R > 1e-6 R(0), per channel."""
    mid = 0.5 * (t.r[1:] + t.r[:-1])
    ex = np.asarray(exact(mid)).reshape(mid.size, -1)
    ok = ex > 1e-6 * ex[0]
    return np.where(ok, np.abs(t.evaluate(mid, quantity) / ex - 1), 0.0).max(axis=0)


# -- grid and accuracy ---------------------------------------------------------------------------------

def test_grid_shape_and_provenance(marble_table):
    t = marble_table
    assert t.model == "dipole" and t.thickness is None and t.T is None
    assert t.r[0] == 0 and np.all(np.diff(t.r) > 0)
    assert t.R.shape == t.cdf_R.shape == t.icdf_R.shape == (t.n_r, 3)
    assert t.n_r == 1216  # documented in the module notes
    assert t.cdf_R[0].tolist() == [0, 0, 0] and t.cdf_R[-1].tolist() == [1, 1, 1]
    assert np.all(np.diff(t.cdf_R, axis=0) >= 0)
    np.testing.assert_array_equal(t.sigma_a, MARBLE.sigma_a)
    assert t.version == bssrdf.__version__ and t.scale == 1.0


def test_r_max_leaves_tail_fraction(marble_table):
    # remaining integral beyond r_max (scipy quad of the exact profile) is 1e-4 of the total for
    # the slowest-decaying channel (red) and below it for the others
    t = marble_table
    tail = np.array([integrate.quad(lambda s, c=c: 2 * np.pi * s * dipole.R_d(s, MARBLE, backend="numpy")[c],
                                    t.r_max, np.inf, epsabs=0, epsrel=1e-10, limit=200)[0]
                     for c in range(3)])
    frac = tail / dipole.total_R_d(MARBLE)
    assert frac[0] == pytest.approx(1e-4, rel=1e-6)
    assert np.all(frac[1:] < 1e-4)


@pytest.mark.parametrize("medium,bound", [(MARBLE, 9.6e-5), (SKIN, 5.3e-5)])
def test_dipole_interpolation_error(medium, bound):
    t = tbl.profile_table(medium)
    err = max_midpoint_error(t, lambda r: dipole.R_d(r, medium, backend="numpy"))
    assert np.all(err <= bound), err


def test_slab_interpolation_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = tbl.profile_table(MARBLE, thickness=1.0)
        for q, f in (("R", multipole.R), ("T", multipole.T)):
            err = max_midpoint_error(t, lambda r, f=f: f(r, MARBLE, 1.0, backend="numpy"), q)
            assert np.all(err <= 6e-5), (q, err)


def test_totals_against_closed_form(marble_table):
    t = marble_table
    closed = dipole.total_R_d(MARBLE)
    # the table's total: closed form minus the closed-form tail beyond r_max
    np.testing.assert_allclose(t.total_R, dipole_partial_integral(t.r_max, MARBLE), rtol=1e-10)
    # integral of the interpolated table: within the 1e-4 truncation plus interpolation
    assert np.all(np.abs(interpolated_integral(t) / closed - 1) < 1.1e-4)


def test_slab_totals_against_closed_form(slab_table):
    t = slab_table
    for q, total in (("R", multipole.total_R(MARBLE, 1.0, n_below=1.5)),
                     ("T", multipole.total_T(MARBLE, 1.0, n_below=1.5))):
        table_total = t.total_R if q == "R" else t.total_T
        assert np.all(table_total <= total) and np.all(table_total / total - 1 > -1.0001e-4), q
        assert np.all(np.abs(interpolated_integral(t, q) / total - 1) < 1.1e-4), q


def test_cdf_equals_closed_form_partial_integral(marble_table):
    t = marble_table
    exact = dipole_partial_integral(t.r, MARBLE)
    np.testing.assert_allclose(t.cdf_R * t.total_R, exact, rtol=0, atol=1e-11)


def test_slab_cdf_equals_quadrature(slab_table):
    # another method: Simpson's rule in ln r on a fine grid of the exact profile
    t = slab_table
    u = np.linspace(np.log(1e-7), np.log(t.r_max), 20001)
    s = np.exp(u)
    for q, f in (("R", multipole.R), ("T", multipole.T)):
        vals = f(s, MARBLE, 1.0, n_below=1.5, backend="numpy")
        cum = integrate.cumulative_simpson(2 * np.pi * s[:, None] ** 2 * vals, x=u, axis=0, initial=0)
        ref = np.column_stack([np.interp(t.r, s, cum[:, c]) for c in range(3)])
        cdf, total = (t.cdf_R, t.total_R) if q == "R" else (t.cdf_T, t.total_T)
        np.testing.assert_allclose(cdf * total, ref, rtol=0, atol=1e-7, err_msg=q)  # measured 5e-8
        np.testing.assert_allclose(total, cum[-1], rtol=2e-9, err_msg=q)  # measured 4e-10


def test_outside_index_matches_profile():
    t = tbl.profile_table(MARBLE, n_above=1.33)
    np.testing.assert_allclose(t.R, dipole.R_d(t.r, MARBLE, n_outside=1.33, backend="numpy"), rtol=1e-12)
    single = tbl.profile_table(Medium.from_reduced(0.01, 1.0, eta=1.4))
    assert single.R.shape == (single.n_r, 1)


# -- sampling ------------------------------------------------------------------------------------------

def test_inverse_cdf_inverts_cdf(marble_table, slab_table):
    for t in (marble_table, slab_table):
        for q in t.quantities:
            cdf = t.cdf_R if q == "R" else t.cdf_T
            icdf = t.icdf_R if q == "R" else t.icdf_T
            for c in range(3):
                np.testing.assert_allclose(np.interp(icdf[:, c], t.r, cdf[:, c]), t.u, atol=1e-12)
            np.testing.assert_array_equal(icdf, t.sample_radius(t.u, q))


def test_pdf_is_the_density_of_the_samples(marble_table):
    t = marble_table
    dr = np.diff(t.r)
    mid = 0.5 * (t.r[1:] + t.r[:-1])
    np.testing.assert_allclose((t.pdf(mid) * dr[:, None]).sum(axis=0), 1.0, rtol=1e-12)
    # and approximates 2πr R(r)/total
    approx = 2 * np.pi * mid[:, None] * t.evaluate(mid) / t.total_R
    big = approx > 1e-3 * approx.max(axis=0)
    assert np.max(np.abs(t.pdf(mid)[big] / approx[big] - 1)) < 2e-4


def test_samples_follow_the_profile_chi_square(marble_table):
    # fixed seed; bins of equal exact probability under the closed-form CDF (normalised to r_max)
    t = marble_table
    u = np.random.default_rng(7).random(200_000)
    r = t.sample_radius(u)[:, 0]
    exact = dipole_partial_integral(t.r, MARBLE)[:, 0]
    edges = np.interp(np.linspace(0, 1, 51), exact / exact[-1], t.r)
    counts, _ = np.histogram(r, bins=edges)
    chi2, p = stats.chisquare(counts)
    assert p > 1e-3, (chi2, p)
    # Kolmogorov–Smirnov against the closed-form CDF
    ks = stats.kstest(r, lambda x: np.interp(x, t.r, exact / exact[-1]))
    assert ks.pvalue > 1e-3


def test_bad_sampling_inputs(marble_table):
    with pytest.raises(ValueError, match="u must be in"):
        marble_table.sample_radius([0.5, 1.5])
    with pytest.raises(ValueError, match="r must be finite"):
        marble_table.evaluate([-1.0])
    with pytest.raises(ValueError, match="quantity must be"):
        marble_table.evaluate([1.0], "T")


# -- scale ---------------------------------------------------------------------------------------------

def test_scale_changes_units_only(marble_table):
    t, s = marble_table, 0.1  # scene in cm
    sc = t.scaled(s)
    np.testing.assert_allclose(sc.r, t.r * s, rtol=1e-15)
    np.testing.assert_allclose(sc.evaluate(t.r[:50] * s) * s**2, t.R[:50], rtol=1e-13)
    np.testing.assert_allclose(sc.sample_radius(t.u), t.icdf_R * s, rtol=1e-13)
    np.testing.assert_array_equal(sc.cdf_R, t.cdf_R)
    np.testing.assert_array_equal(sc.total_R, t.total_R)
    back = sc.scaled(1.0)
    np.testing.assert_allclose(back.R, t.R, rtol=1e-14)


# -- files ---------------------------------------------------------------------------------------------

FIELDS = ("r", "R", "cdf_R", "u", "icdf_R", "total_R", "T", "cdf_T", "icdf_T", "total_T", "sigma_a",
          "sigma_s", "g", "eta", "n_above", "n_below")


def assert_tables_equal(a, b):
    for k in FIELDS:
        x, y = getattr(a, k), getattr(b, k)
        assert (x is None) == (y is None), k
        if x is not None:
            assert x.shape == y.shape and np.array_equal(x, y), k
    for k in ("model", "thickness", "scale", "version", "grid", "layers", "roughness_below"):
        assert getattr(a, k) == getattr(b, k), k


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".csv"])
@pytest.mark.parametrize("which", ["dipole", "slab"])
def test_round_trip(tmp_path, marble_table, slab_table, suffix, which):
    t = marble_table if which == "dipole" else slab_table
    path = tbl.write_table(t, tmp_path / f"table{suffix}")
    assert_tables_equal(tbl.read_table(path), t)
    scaled = tbl.write_table(t, tmp_path / f"scaled{suffix}", scale=1000.0)
    assert_tables_equal(tbl.read_table(scaled), t.scaled(1000.0))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_write_from_medium_and_fmt(tmp_path):
    path = tbl.write_table(SKIN, tmp_path / "skin.txt", thickness=4.0, fmt="csv", n_r=100)
    t = tbl.read_table(path, fmt="csv")
    assert t.model == "multipole" and t.thickness == 4.0 and t.n_r == 100
    assert_tables_equal(t, tbl.profile_table(SKIN, thickness=4.0, n_r=100))


def test_files_carry_units_and_provenance(tmp_path, slab_table):
    import h5py

    h5 = tbl.write_table(slab_table, tmp_path / "t.h5", scale=0.1)
    with h5py.File(h5) as f:
        assert f.attrs["format"] == tbl.FORMAT and f.attrs["model"] == "multipole"
        assert f.attrs["thickness"] == 1.0 and f.attrs["bssrdf_version"] == bssrdf.__version__
        assert "mm * 0.1" in f["r"].attrs["units"] and f["R"].attrs["units"].endswith("^-2")
        assert f["cdf_T"].attrs["units"] == "1"
        np.testing.assert_array_equal(f.attrs["n_below"], [1.5, 1.5, 1.5])
    text = tbl.write_table(slab_table, tmp_path / "t.csv").read_text()
    assert '# model = "multipole"' in text and "# sigma_a = [0.0021, 0.0041, 0.0071]" in text
    assert "[mm^-2]" in text
    header = next(line for line in text.splitlines() if not line.startswith("#"))
    assert header.split(",")[:4] == ["r", "R_0", "R_1", "R_2"] and "icdf_T_2" in header


def test_write_is_atomic(tmp_path, marble_table, monkeypatch):
    def boom(table, path):
        path.write_text("partial")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(tbl, "_write_csv", boom)
    with pytest.raises(RuntimeError):
        tbl.write_table(marble_table, tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs,match", [
    ({"path": "t.xyz"}, "path suffix"),
    ({"path": "t.csv", "fmt": "exr"}, "fmt must be"),
    ({"path": "t.csv", "scale": 0.0}, "scale must be"),
    ({"path": "t.csv", "scale": float("nan")}, "scale must be"),
    ({"path": "t.csv", "thickness": -1.0}, "thickness must be"),
    ({"path": "t.csv", "n_r": 3}, "n_r must be"),
    ({"path": "t.csv", "r_max": 0.0}, "r_max must be"),
    ({"path": "t.csv", "n_below": 1.5}, "n_below applies to slabs"),
    ({"path": "t.csv", "step": 2.0}, "step must be"),
])
def test_bad_arguments_raise(tmp_path, kwargs, match):
    kwargs = dict(kwargs)
    path = tmp_path / kwargs.pop("path")
    with pytest.raises(ValueError, match=match):
        tbl.write_table(MARBLE, path, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_non_scattering_medium_raises():
    with pytest.raises(ValueError, match="sigma_s'"):
        tbl.profile_table(Medium(sigma_a=[0.1, 0.2], sigma_s=[1.0, 0.0]))


def test_malformed_files_raise(tmp_path, marble_table):
    with pytest.raises(ValueError, match="is not a file"):
        tbl.read_table(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("# nothing\n")
    with pytest.raises(ValueError, match="empty or malformed"):
        tbl.read_table(empty)
    good = tbl.write_table(marble_table, tmp_path / "good.csv").read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(good[:-1] + ["1,2,x"]) + "\n")
    with pytest.raises(ValueError, match="malformed number"):
        tbl.read_table(bad)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="unknown column|not a bssrdf profile table"):
        tbl.read_table(other)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5"):
        tbl.read_table(junk)


# -- layered stacks ------------------------------------------------------------------------------------
# The references: the multipole and dipole tables above (other models, other quadrature), and the
# layered model's own profile, totals R̂(0) (closed form) and cumulative integrals.

TOP = Medium([0.3, 0.5, 0.8], [20.0, 22.0, 25.0], g=0.8, eta=1.4)
MID = Medium([0.02, 0.05, 0.1], [15.0, 17.0, 19.0], g=0.85, eta=1.4)
BOT = Medium([0.005, 0.01, 0.02], [8.0, 9.0, 10.0], g=0.0, eta=1.45)
STACK = (Layer(TOP, 0.5), Layer(MID, 1.0, roughness=0.1), Layer(BOT, 3.0))
STACK_KW = {"n_above": 1.0, "n_below": 1.33, "roughness_below": 0.2}


@pytest.fixture(scope="module")
def stack_table():
    return tbl.layered_table(STACK, **STACK_KW)


def assert_same_profiles(t, ref, rtol, cdf_atol, total_rtol):
    """A table against a reference table on the same grid."""
    assert t.quantities == ref.quantities
    np.testing.assert_allclose(t.r, ref.r, rtol=1e-15, atol=0)
    for q in ref.quantities:
        v, w = getattr(t, q), getattr(ref, q)
        big = np.abs(w) > 1e-6 * np.abs(w[0])
        assert np.max(np.where(big, np.abs(v / w - 1), 0)) < rtol, q
        np.testing.assert_allclose(getattr(t, f"cdf_{q}"), getattr(ref, f"cdf_{q}"), rtol=0, atol=cdf_atol,
                                   err_msg=q)
        np.testing.assert_allclose(getattr(t, f"total_{q}"), getattr(ref, f"total_{q}"), rtol=total_rtol,
                                   err_msg=q)


def test_one_layer_stack_equals_multipole_table(slab_table):
    t = tbl.layered_table([Layer(MARBLE, 1.0)], n_below=1.5)
    assert t.model == tbl.LAYERED_MODEL and t.thickness == 1.0 and t.quantities == ("R", "T")
    # the same grid constants, and r_max from the cumulative integral within 1e-6 of the closed-form tail's
    assert t.grid["r0"] == pytest.approx(slab_table.grid["r0"], rel=1e-14)
    assert t.grid["kappa"] == pytest.approx(slab_table.grid["kappa"], rel=1e-14)
    assert t.r_max == pytest.approx(slab_table.r_max, rel=1e-6)  # measured 5e-8
    same = tbl.layered_table([Layer(MARBLE, 1.0)], n_below=1.5, r_max=slab_table.r_max, n_r=slab_table.n_r)
    # measured: R 2.1e-7, T 5.0e-7, CDFs 1.5e-10, totals 4.8e-10
    assert_same_profiles(same, slab_table, rtol=1e-6, cdf_atol=1e-9, total_rtol=2e-9)


def test_semi_infinite_one_layer_stack_equals_dipole_table(marble_table):
    t = tbl.layered_table(Layer(MARBLE, float("inf")))
    assert t.T is None and t.thickness is None and t.n_r == marble_table.n_r
    assert t.r_max == pytest.approx(marble_table.r_max, rel=1e-6)  # measured 3e-9
    same = tbl.layered_table(Layer(MARBLE, float("inf")), r_max=marble_table.r_max, n_r=marble_table.n_r)
    assert_same_profiles(same, marble_table, rtol=2e-7, cdf_atol=1e-10, total_rtol=1e-10)  # 4e-8, 3e-11
    # and the CDF against the dipole's closed-form partial integral
    np.testing.assert_allclose(same.cdf_R * same.total_R, dipole_partial_integral(same.r, MARBLE),
                               rtol=0, atol=1e-10)


def test_stack_grid_and_provenance(stack_table):
    t = stack_table
    assert t.model == "layered (Donner & Jensen 2005)" and t.layers == STACK
    assert t.thickness == 4.5 and t.roughness_below == 0.2 and t.quantities == ("R", "T")
    np.testing.assert_array_equal(t.sigma_a, TOP.sigma_a)  # the top layer's
    np.testing.assert_array_equal(t.n_below, [1.33] * 3)
    assert t.r[0] == 0 and np.all(np.diff(t.r) > 0) and t.n_r == 3961
    # r0 from the shallowest source (the bottom layer's 1/sigma_t'), kappa from the top layer's
    # slowest mode, which is the fastest layer decay here
    assert t.grid["r0"] == pytest.approx(0.5 / float(np.max(BOT.sigma_t_prime)), rel=1e-14)
    assert t.grid["kappa"] > float(np.max(TOP.sigma_tr))
    for q in ("R", "T"):
        cdf = getattr(t, f"cdf_{q}")
        assert np.all(cdf[0] == 0) and np.all(cdf[-1] == 1) and np.all(np.diff(cdf, axis=0) >= 0)


def test_stack_interpolation_error(stack_table):
    t = stack_table
    for q, f, bound in (("R", layered.R, 4.5e-5), ("T", layered.T, 3.2e-6)):  # measured 4.2e-5, 2.9e-6
        err = max_midpoint_error(t, lambda r, f=f: f(r, STACK, **STACK_KW, backend="numpy"), q)
        assert np.all(err <= bound), (q, err)


def test_stack_totals_and_tail(stack_table):
    t = stack_table
    for q, total_f, f in (("R", layered.total_R, layered.R), ("T", layered.total_T, layered.T)):
        total = total_f(STACK, **STACK_KW)
        # the interpolated table's integral: measured R 1.5e-5, T -1.0e-4 (the truncation)
        assert np.all(np.abs(interpolated_integral(t, q) / total - 1) < 1e-4), q
        # the power beyond r_max, by Gauss-Legendre quadrature of the profile in ln r: at most
        # TAIL_FRACTION, reached in the slowest channel of the slowest quantity (T, red)
        x, w = np.polynomial.legendre.leggauss(400)
        lo, hi = np.log(t.r_max), np.log(t.r_max + 300.0)
        s = np.exp(0.5 * (hi - lo) * x + 0.5 * (hi + lo))
        tail = 0.5 * (hi - lo) * (w[:, None] * 2 * np.pi * s[:, None] ** 2 * f(s, STACK, **STACK_KW)).sum(0)
        assert np.all(tail / total < 1.0001e-4), q
        if q == "T":
            assert tail[0] / total[0] == pytest.approx(1e-4, rel=1e-5)
        np.testing.assert_allclose(getattr(t, f"total_{q}") + tail, total, rtol=1e-9, err_msg=q)


def test_stack_cdf_equals_quadrature(stack_table):
    # another method: 8-point Gauss-Legendre quadrature of the profile on every grid interval
    t = stack_table
    nodes, weights = np.polynomial.legendre.leggauss(8)
    a, b = t.r[:-1, None], t.r[1:, None]
    s = 0.5 * (a + b) + 0.5 * (b - a) * nodes
    for q, f in (("R", layered.R), ("T", layered.T)):
        vals = f(s.ravel(), STACK, **STACK_KW).reshape(s.shape + (3,))
        mass = 0.5 * (b - a) * np.einsum("ikc,k->ic", 2 * np.pi * s[..., None] * vals, weights)
        ref = np.vstack([np.zeros((1, 3)), np.cumsum(mass, axis=0)])
        cdf, total = getattr(t, f"cdf_{q}"), getattr(t, f"total_{q}")
        np.testing.assert_allclose(cdf * total, ref, rtol=0, atol=1e-9 * total.max(), err_msg=q)  # 6.5e-10


def test_stack_sampler_follows_cumulative(stack_table):
    # stratified u through the sampler; the exact CDF of each sampled radius from layered.cumulative_*
    t = stack_table
    u = (np.arange(20_000) + 0.5) / 20_000
    for q, cum, total_f, bound in (("R", layered.cumulative_R, layered.total_R, 4.5e-6),  # measured 3.9e-6
                                   ("T", layered.cumulative_T, layered.total_T, 3e-7)):   # 2.1e-7
        r = t.sample_radius(u, q)
        total = total_f(STACK, **STACK_KW)
        at_max = cum(np.array([t.r_max]), STACK, **STACK_KW)[0]
        for c in range(3):
            exact = cum(r[:, c], STACK, **STACK_KW)[:, c]
            assert np.max(np.abs(exact / at_max[c] - u)) < bound, (q, c)
            # against the CDF normalised to the full total: the truncation at r_max on top
            assert np.max(np.abs(exact / total[c] - u)) < 1e-4 + bound, (q, c)


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_stack_round_trip(tmp_path, stack_table, suffix):
    path = tbl.write_table(stack_table, tmp_path / f"stack{suffix}")
    back = tbl.read_table(path)
    assert_tables_equal(back, stack_table)
    assert back.layers[1].roughness == 0.1 and back.layers[2].thickness == 3.0
    scaled = tbl.read_table(tbl.write_table(stack_table, tmp_path / f"scaled{suffix}", scale=0.1))
    assert_tables_equal(scaled, stack_table.scaled(0.1))


def test_stack_semi_infinite_and_scalar_round_trip(tmp_path):
    # a semi-infinite base (thickness null in the file) and single-channel media (shape ())
    layers = [Layer(Medium(0.05, 5.0, g=0.5, eta=1.3), 0.8), Layer(MARBLE.channel(0), float("inf"))]
    t = tbl.layered_table(layers, n_above=1.2)
    assert t.T is None and t.thickness is None and t.n_channels == 1
    for suffix in (".h5", ".csv"):
        back = tbl.read_table(tbl.write_table(t, tmp_path / f"s{suffix}"))
        assert_tables_equal(back, t)
        assert back.layers[1].semi_infinite and back.layers[0].medium.shape == ()
    text = (tmp_path / "s.csv").read_text()
    assert '"thickness": null' in text and '# model = "layered (Donner & Jensen 2005)"' in text


def test_write_table_from_layers(tmp_path):
    layers = [Layer(MARBLE, 2.0)]
    path = tbl.write_table(layers, tmp_path / "l.csv", n_below=1.5, n_r=100)
    assert_tables_equal(tbl.read_table(path), tbl.layered_table(layers, n_below=1.5, n_r=100))
    with pytest.raises(ValueError, match="thickness applies to a Medium"):
        tbl.write_table(layers, tmp_path / "x.csv", thickness=1.0)
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("layers,kwargs,match", [
    ([], {}, "at least one"),
    ("marble", {}, "sequence of bssrdf.Layer"),
    ([MARBLE], {}, "must be a bssrdf.Layer"),
    ([Layer(MARBLE, float("inf")), Layer(MARBLE, 1.0)], {}, "only the last layer"),
    ([Layer(MARBLE, 1.0), Layer(MARBLE.channel(0), 1.0)], {}, "same channels"),
    ([Layer(Medium([1.0, 1.0, 1.0], [10.0, 0.0, 10.0]), 5.0)], {}, "sigma_s'"),
    ([Layer(MARBLE, 1.0)], {"n_below": 0.0}, "n_below"),
    ([Layer(MARBLE, 1.0)], {"roughness_below": 1.5}, "roughness_below"),
    ([Layer(MARBLE, 1.0)], {"n_r": 3}, "n_r must be"),
])
def test_bad_stacks_raise(layers, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tbl.layered_table(layers, **kwargs)


def test_cpp_example_reads_a_stack_table(tmp_path, stack_table):
    # cuda/examples/profile_example.cpp (the unchanged table.h) on a layered table's CSV
    import shutil
    import subprocess
    from pathlib import Path

    compiler = next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), None)
    if compiler is None:
        pytest.skip("no C++ compiler (c++, g++ or clang++) on PATH")
    root = Path(__file__).resolve().parent.parent
    exe = tmp_path / "profile_example"
    subprocess.run([compiler, "-std=c++17", "-O1", f"-I{root / 'cuda' / 'include'}",
                    str(root / "cuda" / "examples" / "profile_example.cpp"), "-o", str(exe)], check=True)
    csv = tbl.write_table(stack_table, tmp_path / "stack.csv")
    n = 4000
    out = subprocess.run([str(exe), str(csv), "8", "8", str(n)], check=True, capture_output=True,
                         text=True).stdout
    lines: dict[str, list[list[float]]] = {}
    for line in out.splitlines():
        tag, *vals = line.split()
        lines.setdefault(tag, []).append([float(v) for v in vals])
    t = tbl.read_table(csv)
    n_r, n_ch, r_max = lines["table_shape"][0]
    assert (int(n_r), int(n_ch), r_max) == (t.n_r, 3, t.r_max)
    for tag, f in (("table_eval", t.evaluate), ("table_pdf", t.pdf)):
        c, x, v = np.array(lines[tag]).T
        np.testing.assert_allclose(v, f(x)[np.arange(x.size), c.astype(int)], rtol=1e-12, atol=1e-300)
    c, u, v = np.array(lines["table_sample"]).T
    np.testing.assert_allclose(v, t.sample_radius(u)[np.arange(u.size), c.astype(int)], rtol=1e-12)
    # its stratified samples (channel 0) against the layered model's exact CDF
    r = np.array(lines["stratified"])[:, 1]
    exact = layered.cumulative_R(r, STACK, **STACK_KW)[:, 0]
    at_max = layered.cumulative_R(np.array([t.r_max]), STACK, **STACK_KW)[0, 0]
    assert np.max(np.abs(exact / at_max - (np.arange(n) + 0.5) / n)) < 4.5e-6

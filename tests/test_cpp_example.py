"""cuda/examples/profile_example.cpp: the header-only API compiled by the system C++ compiler,
its printed values compared with the Python results."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from bssrdf import Medium
from bssrdf.export import table as tbl
from bssrdf.profiles import dipole, multipole

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "cuda" / "examples" / "profile_example.cpp"
MARBLE_RED = Medium.from_reduced(sigma_a=0.0021, sigma_s_prime=2.19, eta=1.5)
RADII = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0])  # as in the example
N_SAMPLES = 20_000
COMPILER = next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), None)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if COMPILER is None:
        pytest.skip("no C++ compiler (c++, g++ or clang++) on PATH")
    tmp = tmp_path_factory.mktemp("cpp_example")
    exe = tmp / "profile_example"
    subprocess.run([COMPILER, "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror",
                    f"-I{ROOT / 'cuda' / 'include'}", str(EXAMPLE), "-o", str(exe)], check=True)
    marble = tbl.profile_table(Medium.from_reduced([0.0021, 0.0041, 0.0071], [2.19, 2.62, 3.0], eta=1.5))
    csv = tbl.write_table(marble, tmp / "marble.csv")
    n_R = multipole.n_pairs_needed(RADII, MARBLE_RED, 1.0)
    n_T = multipole.n_pairs_needed(RADII, MARBLE_RED, 1.0, transmit=True)
    out = subprocess.run([str(exe), str(csv), str(n_R), str(n_T), str(N_SAMPLES)], check=True,
                         capture_output=True, text=True).stdout
    lines: dict[str, list[list[float]]] = {}
    for line in out.splitlines():
        tag, *vals = line.split()
        lines.setdefault(tag, []).append([float(v) for v in vals])
    return {k: np.array(v) for k, v in lines.items()}, tbl.read_table(csv)


def test_dipole_matches_numpy(run):
    out, _ = run
    r, v = out["dipole"].T
    np.testing.assert_array_equal(r, RADII)
    np.testing.assert_allclose(v, dipole.R_d(RADII, MARBLE_RED, backend="numpy"), rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["dipole_total"][0, 0], dipole.total_R_d(MARBLE_RED), rtol=1e-12)
    # float instantiation: float32 rounding only
    np.testing.assert_allclose(out["dipole_float"][:, 1], v, rtol=2e-6)


def test_multipole_matches_numpy(run):
    out, _ = run
    for tag, f in (("multipole_R", multipole.R), ("multipole_T", multipole.T)):
        r, v = out[tag].T
        np.testing.assert_array_equal(r, RADII)
        np.testing.assert_allclose(v, f(RADII, MARBLE_RED, 1.0, backend="numpy"), rtol=1e-12, atol=0,
                                   err_msg=tag)


def test_table_matches_python(run):
    out, t = run
    n_r, n_ch, r_max = out["table_shape"][0]
    assert (int(n_r), int(n_ch), r_max) == (t.n_r, 3, t.r_max)
    for tag, f in (("table_eval", t.evaluate), ("table_pdf", t.pdf)):
        c, x, v = out[tag].T
        c = c.astype(int)
        expected = f(x)[np.arange(x.size), c]
        np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-300, err_msg=tag)
        assert np.all(v[x > r_max] == 0)
    c, u, v = out["table_sample"].T
    c = c.astype(int)
    np.testing.assert_allclose(v, t.sample_radius(u)[np.arange(u.size), c], rtol=1e-12, atol=1e-300)
    assert np.all(v[u == 0] == 0) and np.all(v[u == 1] == r_max)


def test_samples_follow_the_pdf(run):
    # deterministic, stratified u_k = (k + 1/2)/N: histogram of the radii on 50 bins of equal exact
    # probability (closed-form CDF of 2πr R_d(r) on [0, r_max]) and the largest CDF deviation
    out, t = run
    r = out["stratified"][:, 1]
    assert r.size == N_SAMPLES
    np.testing.assert_allclose(r, t.sample_radius((np.arange(N_SAMPLES) + 0.5) / N_SAMPLES)[:, 0],
                               rtol=1e-12)
    m = MARBLE_RED
    z = np.array([1.0 / float(m.sigma_t_prime), float(dipole.z_v(m))])

    def partial(x):  # ∫₀^x 2πs R_d ds, closed form
        delta = np.sqrt(np.asarray(x)[..., None] ** 2 + z**2)
        tr = float(m.sigma_tr)
        return 0.5 * float(m.albedo_prime) * np.sum(np.exp(-tr * z) - z * np.exp(-tr * delta) / delta, -1)

    def cdf(x):
        return partial(x) / partial(t.r_max)

    edges = np.interp(np.linspace(0, 1, 51), cdf(t.r), t.r)
    counts, _ = np.histogram(r, bins=edges)
    chi2, p = stats.chisquare(counts)
    assert p > 0.01, (chi2, p)
    u = (np.arange(N_SAMPLES) + 0.5) / N_SAMPLES
    assert np.max(np.abs(cdf(r) - u)) < 1e-5  # measured 3.7e-6: linear CDF within a grid interval

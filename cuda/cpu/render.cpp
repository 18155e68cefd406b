// render.cpp -- pass 2 of the renderer on the CPU: M(x_o) = sum_i R(|x_o - x_i|) P_i (float64).
//
// Jensen & Buhler 2002's sum over irradiance samples, truncated at a radius (samples farther than
// `radius` from x_o are skipped) or complete (radius = inf). The samples are sorted into a uniform
// grid of cubic cells (counting sort; cell side radius/4, coarser if the grid would exceed 2^22 cells),
// so that each row of cells along x is one contiguous run of samples; for each output point (OpenMP,
// dynamic schedule) the rows whose cells come within `radius` are visited, each clipped in x to the
// sphere of that radius, and summed by bssrdf::render::accumulate_within (render.h: the same per-pair
// arithmetic as the GPU kernel). The Python layer (bssrdf/render/kernels.py) validates the inputs,
// makes them C-contiguous float64, and allocates `out`.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

// Vector exp from glibc's libmvec for the `omp simd` loops (see module.cpp).
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
extern "C" double exp(double) noexcept __attribute__((simd("notinbranch")));
#define BSSRDF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define BSSRDF_CLONES
#endif

#include "bssrdf/render.h"

namespace nb = nanobind;
namespace br = bssrdf::render;

template <class T> using Vec = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <class T> using Out = nb::ndarray<T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

namespace {

struct Grid {
    double lo[3];
    double h;
    long long n[3];
    std::vector<long long> start;  // n cells + 1: samples of cell k are [start[k], start[k + 1])
};

// Samples sorted by cell, as a structure of arrays (x, y, z, then power channel-major).
struct Sorted {
    std::vector<double> x, y, z, p;
};

Grid make_grid(const double* xs, long long m, double radius) {
    Grid g;
    double hi[3];
    for (int k = 0; k < 3; ++k) {
        g.lo[k] = std::numeric_limits<double>::infinity();
        hi[k] = -g.lo[k];
    }
    for (long long i = 0; i < m; ++i)
        for (int k = 0; k < 3; ++k) {
            g.lo[k] = std::min(g.lo[k], xs[3 * i + k]);
            hi[k] = std::max(hi[k], xs[3 * i + k]);
        }
    double extent = 0.0;
    for (int k = 0; k < 3; ++k) extent = std::max(extent, hi[k] - g.lo[k]);
    g.h = std::isfinite(radius) ? 0.25 * radius : extent;
    if (!(g.h > 0.0)) g.h = extent > 0.0 ? extent : 1.0;
    constexpr double max_cells = double(1 << 22);
    for (;;) {
        double cells = 1.0;
        for (int k = 0; k < 3; ++k) {
            g.n[k] = static_cast<long long>(std::floor((hi[k] - g.lo[k]) / g.h)) + 1;
            cells *= double(g.n[k]);
        }
        if (cells <= max_cells) break;
        g.h *= 1.25;
    }
    return g;
}

inline long long cell_of(const Grid& g, int k, double v) {
    const long long i = static_cast<long long>(std::floor((v - g.lo[k]) / g.h));
    return std::min(std::max(i, 0LL), g.n[k] - 1);
}

Sorted sort_samples(Grid& g, const double* xs, const double* ps, long long m, int n_ch) {
    const long long n_cells = g.n[0] * g.n[1] * g.n[2];
    std::vector<long long> cell(m);
    g.start.assign(n_cells + 1, 0);
    for (long long i = 0; i < m; ++i) {
        const long long c = (cell_of(g, 2, xs[3 * i + 2]) * g.n[1] + cell_of(g, 1, xs[3 * i + 1])) * g.n[0] +
                            cell_of(g, 0, xs[3 * i]);
        cell[i] = c;
        ++g.start[c + 1];
    }
    for (long long c = 0; c < n_cells; ++c) g.start[c + 1] += g.start[c];
    std::vector<long long> next(g.start.begin(), g.start.end() - 1);
    Sorted s;
    s.x.resize(m);
    s.y.resize(m);
    s.z.resize(m);
    s.p.resize(m * n_ch);
    for (long long i = 0; i < m; ++i) {  // stable: samples keep their order within a cell
        const long long j = next[cell[i]]++;
        s.x[j] = xs[3 * i];
        s.y[j] = xs[3 * i + 1];
        s.z[j] = xs[3 * i + 2];
        for (int c = 0; c < n_ch; ++c) s.p[c * m + j] = ps[i * n_ch + c];
    }
    return s;
}

// Nearest distance^2 from v to the cell slab [lo + i h, lo + (i + 1) h] along one axis.
inline double slab_d2(const Grid& g, int k, long long i, double v) {
    const double a = g.lo[k] + double(i) * g.h, b = a + g.h;
    const double d = v < a ? a - v : (v > b ? v - b : 0.0);
    return d * d;
}

// f(j0, j1) for each run [j0, j1) of grid-sorted entries whose cells meet the ball of radius `reach`
// about (x, y, z): one run per row of cells along x, clipped in x to the ball.
template <class F>
BSSRDF_RENDER_INLINE inline void for_each_run_in_ball(const Grid& g, double x, double y, double z, double reach,
                                                      F&& f) {
    const double reach2 = reach * reach;
    const long long z0 = std::max(0LL, static_cast<long long>(std::floor((z - reach - g.lo[2]) / g.h)));
    const long long z1 = std::min(g.n[2] - 1, static_cast<long long>(std::floor((z + reach - g.lo[2]) / g.h)));
    const long long y0 = std::max(0LL, static_cast<long long>(std::floor((y - reach - g.lo[1]) / g.h)));
    const long long y1 = std::min(g.n[1] - 1, static_cast<long long>(std::floor((y + reach - g.lo[1]) / g.h)));
    for (long long iz = z0; iz <= z1; ++iz) {
        const double dz2 = slab_d2(g, 2, iz, z);
        if (dz2 > reach2) continue;
        for (long long iy = y0; iy <= y1; ++iy) {
            const double dyz2 = dz2 + slab_d2(g, 1, iy, y);
            if (dyz2 > reach2) continue;
            const double w = std::sqrt(reach2 - dyz2);
            const long long x0 = std::max(0LL, static_cast<long long>(std::floor((x - w - g.lo[0]) / g.h)));
            const long long x1 = std::min(g.n[0] - 1, static_cast<long long>(std::floor((x + w - g.lo[0]) / g.h)));
            if (x0 > x1) continue;
            const long long row = (iz * g.n[1] + iy) * g.n[0];
            f(g.start[row + x0], g.start[row + x1 + 1]);
        }
    }
}

// Output points [q0, q1): serial; one clone per ISA (AVX2 where the CPU has it) for the vector exp.
template <int C, class P>
BSSRDF_CLONES void points_range(const P& prof, const double* xo, long long q0, long long q1, const Grid& g,
                                const br::Samples<double>& smp, long long m, double radius, double* out) {
    const double r2_max = radius * radius;
    const bool all = !std::isfinite(radius);
    const double reach = radius * (1.0 + 1e-9);  // conservative cell ranges; the pair test is exact
    for (long long q = q0; q < q1; ++q) {
        const double x = xo[3 * q], y = xo[3 * q + 1], z = xo[3 * q + 2];
        double acc[C];
        for (int c = 0; c < C; ++c) acc[c] = 0.0;
        if (all) {
            br::accumulate_within<C>(prof, x, y, z, smp, 0, m, std::numeric_limits<double>::infinity(), acc);
        } else {
            for_each_run_in_ball(g, x, y, z, reach, [&](long long j0, long long j1) BSSRDF_RENDER_INLINE {
                br::accumulate_within<C>(prof, x, y, z, smp, j0, j1, r2_max, acc);
            });
        }
        for (int c = 0; c < C; ++c) out[q * C + c] = acc[c];
    }
}

template <int C, class P>
void truncated_loop(const P& prof, const double* xo, long long n_out, const Grid& g, const Sorted& s, long long m,
                    double radius, double* out) {
    const br::Samples<double> smp = br::make_samples(s.x.data(), s.y.data(), s.z.data(), s.p.data(), m);
    constexpr long long chunk = 16;
#pragma omp parallel for schedule(dynamic, 1)
    for (long long q0 = 0; q0 < n_out; q0 += chunk)
        points_range<C>(prof, xo, q0, std::min(q0 + chunk, n_out), g, smp, m, radius, out);
}

template <class P>
void run(const P& prof, int n_ch, Vec<double> xo, Vec<double> xs, Vec<double> ps, double radius, Out<double> out) {
    if (xo.shape(0) % 3 || xs.shape(0) % 3) throw std::invalid_argument("bssrdf._core: points must be (n, 3)");
    const long long n_out = xo.shape(0) / 3, m = xs.shape(0) / 3;
    if (n_ch < 1 || n_ch > br::MAX_CHANNELS) throw std::invalid_argument("bssrdf._core: 1 to 4 channels");
    if (ps.shape(0) != static_cast<std::size_t>(m * n_ch) || out.shape(0) != static_cast<std::size_t>(n_out * n_ch))
        throw std::invalid_argument("bssrdf._core: powers or out have the wrong size");
    if (!(radius > 0.0)) throw std::invalid_argument("bssrdf._core: radius must be > 0 (inf: every pair)");
    double* po = out.data();
    if (m == 0) {
        std::fill(po, po + n_out * n_ch, 0.0);
        return;
    }
    nb::gil_scoped_release release;
    Grid g = make_grid(xs.data(), m, radius);
    const Sorted s = sort_samples(g, xs.data(), ps.data(), m, n_ch);
    switch (n_ch) {
        case 1: truncated_loop<1>(prof, xo.data(), n_out, g, s, m, radius, po); break;
        case 2: truncated_loop<2>(prof, xo.data(), n_out, g, s, m, radius, po); break;
        case 3: truncated_loop<3>(prof, xo.data(), n_out, g, s, m, radius, po); break;
        default: truncated_loop<4>(prof, xo.data(), n_out, g, s, m, radius, po); break;
    }
}

// The profiles from the Python layer's arrays, with their shapes checked.
br::DipoleSet<double> dipole_profile(Vec<double> sigma_a, Vec<double> sigma_s_prime, Vec<double> eta) {
    const std::size_t n_ch = sigma_a.shape(0);
    if (sigma_s_prime.shape(0) != n_ch || eta.shape(0) != n_ch)
        throw std::invalid_argument("bssrdf._core: channel arrays differ in length");
    if (n_ch < 1 || n_ch > static_cast<std::size_t>(br::MAX_CHANNELS))
        throw std::invalid_argument("bssrdf._core: 1 to 4 channels");
    return br::make_dipole_set(sigma_a.data(), sigma_s_prime.data(), eta.data(), static_cast<int>(n_ch));
}

br::RadialTable<double> table_profile(Vec<double> r, Vec<double> values, double r0, double kappa, double dx) {
    const std::size_t n_r = r.shape(0);
    if (n_r < 2 || values.shape(0) % n_r) throw std::invalid_argument("bssrdf._core: table shapes disagree");
    const int n_ch = static_cast<int>(values.shape(0) / n_r);
    return br::make_radial_table(r.data(), values.data(), static_cast<int>(n_r), n_ch, r0, kappa, dx);
}

void sum_dipole(Vec<double> xo, Vec<double> xs, Vec<double> ps, double radius, Vec<double> sigma_a,
                Vec<double> sigma_s_prime, Vec<double> eta, Out<double> out) {
    run(dipole_profile(sigma_a, sigma_s_prime, eta), static_cast<int>(sigma_a.shape(0)), xo, xs, ps, radius, out);
}

void sum_table(Vec<double> xo, Vec<double> xs, Vec<double> ps, double radius, Vec<double> r, Vec<double> values,
               double r0, double kappa, double dx, Out<double> out) {
    const br::RadialTable<double> prof = table_profile(r, values, r0, kappa, dx);
    run(prof, prof.n_ch, xo, xs, ps, radius, out);
}

// The table lookup alone (tests): the profile at radii r (value at r^2 = r * r is not used: radii
// are squared and rooted, so the test passes r^2 through lookup exactly as the sums do).
void table_eval_r2(Vec<double> r2, Vec<double> r, Vec<double> values, double r0, double kappa, double dx,
                   Out<double> out) {
    const br::RadialTable<double> t = table_profile(r, values, r0, kappa, dx);
    const int n_ch = t.n_ch;
    if (out.shape(0) != r2.shape(0) * n_ch) throw std::invalid_argument("bssrdf._core: out has the wrong size");
    for (std::size_t i = 0; i < r2.shape(0); ++i) {
        const auto l = br::lookup(t, r2.data()[i]);
        for (int c = 0; c < n_ch; ++c) out.data()[i * n_ch + c] = br::value(t, l, c);
    }
}

// -- the clustered sum ------------------------------------------------------------------------------
// pipeline._clustered compiled: samples binned in cubic cells of side `cell` (keys floor(x / cell), as
// the NumPy reference); a cell whose area-weighted centroid lies within r_near of x_o (d^2 < r_near^2)
// contributes sample by sample, a farther one up to the truncation radius as its total power at its
// centroid. The centroids are themselves sorted into the grid of the truncated sum (side radius/4),
// each carrying its cell's run of samples.
struct Cells {
    Sorted samples;                    // sorted by cell
    std::vector<double> cx, cy, cz;    // centroids, in the coarse grid's order
    std::vector<double> cp;            // cell powers, channel-major (n_ch * n_cells)
    std::vector<long long> first, last;  // each cell's run in `samples`
    Grid grid;                         // coarse grid over the centroids
};

Cells make_cells(const double* xs, const double* ps, const double* area, long long m, int n_ch, double cell,
                 double radius) {
    std::vector<long long> key[3];
    long long kmin[3], kmax[3];
    for (int k = 0; k < 3; ++k) {
        key[k].resize(m);
        kmin[k] = std::numeric_limits<long long>::max();
        kmax[k] = std::numeric_limits<long long>::min();
        for (long long i = 0; i < m; ++i) {
            key[k][i] = static_cast<long long>(std::floor(xs[3 * i + k] / cell));
            kmin[k] = std::min(kmin[k], key[k][i]);
            kmax[k] = std::max(kmax[k], key[k][i]);
        }
    }
    const long long nx = kmax[0] - kmin[0] + 1, ny = kmax[1] - kmin[1] + 1;
    std::vector<long long> lin(m), order(m);
    for (long long i = 0; i < m; ++i) {
        lin[i] = ((key[2][i] - kmin[2]) * ny + (key[1][i] - kmin[1])) * nx + (key[0][i] - kmin[0]);
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](long long a, long long b) { return lin[a] < lin[b]; });
    Cells c;
    Sorted& s = c.samples;
    s.x.resize(m);
    s.y.resize(m);
    s.z.resize(m);
    s.p.resize(m * n_ch);
    std::vector<double> ax, ay, az, pw;  // per cell, in key order
    std::vector<long long> first, last;
    for (long long j = 0; j < m; ++j) {
        const long long i = order[j];
        if (j == 0 || lin[i] != lin[order[j - 1]]) {
            first.push_back(j);
            last.push_back(j);
            ax.push_back(0.0);
            ay.push_back(0.0);
            az.push_back(0.0);
            pw.push_back(0.0);  // area
            for (int ch = 0; ch < n_ch; ++ch) pw.push_back(0.0);
        }
        const std::size_t k = first.size() - 1;
        last[k] = j + 1;
        s.x[j] = xs[3 * i];
        s.y[j] = xs[3 * i + 1];
        s.z[j] = xs[3 * i + 2];
        for (int ch = 0; ch < n_ch; ++ch) s.p[ch * m + j] = ps[i * n_ch + ch];
        ax[k] += area[i] * xs[3 * i];
        ay[k] += area[i] * xs[3 * i + 1];
        az[k] += area[i] * xs[3 * i + 2];
        pw[k * (n_ch + 1)] += area[i];
        for (int ch = 0; ch < n_ch; ++ch) pw[k * (n_ch + 1) + 1 + ch] += ps[i * n_ch + ch];
    }
    const long long n_cells = static_cast<long long>(first.size());
    std::vector<double> cxyz(3 * n_cells), cpow(n_cells * n_ch);
    for (long long k = 0; k < n_cells; ++k) {
        const double a = pw[k * (n_ch + 1)];
        cxyz[3 * k] = ax[k] / a;
        cxyz[3 * k + 1] = ay[k] / a;
        cxyz[3 * k + 2] = az[k] / a;
        for (int ch = 0; ch < n_ch; ++ch) cpow[k * n_ch + ch] = pw[k * (n_ch + 1) + 1 + ch];
    }
    // the centroids into the coarse grid (as samples of power cpow), carrying their runs
    c.grid = make_grid(cxyz.data(), n_cells, radius);
    const Grid& g = c.grid;
    const long long n_coarse = g.n[0] * g.n[1] * g.n[2];
    std::vector<long long> home(n_cells);
    c.grid.start.assign(n_coarse + 1, 0);
    for (long long k = 0; k < n_cells; ++k) {
        home[k] = (cell_of(g, 2, cxyz[3 * k + 2]) * g.n[1] + cell_of(g, 1, cxyz[3 * k + 1])) * g.n[0] +
                  cell_of(g, 0, cxyz[3 * k]);
        ++c.grid.start[home[k] + 1];
    }
    for (long long q = 0; q < n_coarse; ++q) c.grid.start[q + 1] += c.grid.start[q];
    std::vector<long long> next(c.grid.start.begin(), c.grid.start.end() - 1);
    c.cx.resize(n_cells);
    c.cy.resize(n_cells);
    c.cz.resize(n_cells);
    c.cp.resize(n_cells * n_ch);
    c.first.resize(n_cells);
    c.last.resize(n_cells);
    for (long long k = 0; k < n_cells; ++k) {
        const long long j = next[home[k]]++;
        c.cx[j] = cxyz[3 * k];
        c.cy[j] = cxyz[3 * k + 1];
        c.cz[j] = cxyz[3 * k + 2];
        for (int ch = 0; ch < n_ch; ++ch) c.cp[ch * n_cells + j] = cpow[k * n_ch + ch];
        c.first[j] = first[k];
        c.last[j] = last[k];
    }
    return c;
}

template <int C, class P>
BSSRDF_CLONES void clustered_range(const P& prof, const double* xo, long long q0, long long q1, const Cells& cells,
                                   long long m, double radius, double r_near, double* out) {
    const Grid& g = cells.grid;
    const long long n_cells = static_cast<long long>(cells.cx.size());
    const br::Samples<double> smp =
        br::make_samples(cells.samples.x.data(), cells.samples.y.data(), cells.samples.z.data(),
                         cells.samples.p.data(), m);
    const br::Samples<double> cen =
        br::make_samples(cells.cx.data(), cells.cy.data(), cells.cz.data(), cells.cp.data(), n_cells);
    const double r2_max = radius * radius, r2_near = r_near * r_near;
    const double inf = std::numeric_limits<double>::infinity();
    const double reach = radius * (1.0 + 1e-9);
    for (long long q = q0; q < q1; ++q) {
        const double x = xo[3 * q], y = xo[3 * q + 1], z = xo[3 * q + 2];
        double acc[C];
        for (int c = 0; c < C; ++c) acc[c] = 0.0;
        for_each_run_in_ball(g, x, y, z, reach, [&](long long j0, long long j1) BSSRDF_RENDER_INLINE {
            // far cells at their centroids
            br::accumulate_between<C>(prof, x, y, z, cen, j0, j1, r2_near, r2_max, acc);
            // near cells sample by sample
            for (long long j = j0; j < j1; ++j) {
                const double dx = x - cells.cx[j], dy = y - cells.cy[j], dz = z - cells.cz[j];
                if (dx * dx + dy * dy + dz * dz < r2_near)
                    br::accumulate_within<C>(prof, x, y, z, smp, cells.first[j], cells.last[j], inf, acc);
            }
        });
        for (int c = 0; c < C; ++c) out[q * C + c] = acc[c];
    }
}

template <class P>
void run_clustered(const P& prof, int n_ch, Vec<double> xo, Vec<double> xs, Vec<double> ps, Vec<double> area,
                   double radius, double cell, double r_near, Out<double> out) {
    if (xo.shape(0) % 3 || xs.shape(0) % 3) throw std::invalid_argument("bssrdf._core: points must be (n, 3)");
    const long long n_out = xo.shape(0) / 3, m = xs.shape(0) / 3;
    if (n_ch < 1 || n_ch > br::MAX_CHANNELS) throw std::invalid_argument("bssrdf._core: 1 to 4 channels");
    if (ps.shape(0) != static_cast<std::size_t>(m * n_ch) || out.shape(0) != static_cast<std::size_t>(n_out * n_ch) ||
        area.shape(0) != static_cast<std::size_t>(m))
        throw std::invalid_argument("bssrdf._core: powers, areas or out have the wrong size");
    if (!(radius > 0.0) || !std::isfinite(radius) || !(cell > 0.0) || !(r_near > 0.0))
        throw std::invalid_argument("bssrdf._core: radius, cell and r_near must be finite and > 0");
    double* po = out.data();
    if (m == 0) {
        std::fill(po, po + n_out * n_ch, 0.0);
        return;
    }
    nb::gil_scoped_release release;
    const Cells cells = make_cells(xs.data(), ps.data(), area.data(), m, n_ch, cell, radius);
    constexpr long long chunk = 16;
    const double* pxo = xo.data();
#pragma omp parallel for schedule(dynamic, 1)
    for (long long q0 = 0; q0 < n_out; q0 += chunk) {
        const long long q1 = std::min(q0 + chunk, n_out);
        switch (n_ch) {
            case 1: clustered_range<1>(prof, pxo, q0, q1, cells, m, radius, r_near, po); break;
            case 2: clustered_range<2>(prof, pxo, q0, q1, cells, m, radius, r_near, po); break;
            case 3: clustered_range<3>(prof, pxo, q0, q1, cells, m, radius, r_near, po); break;
            default: clustered_range<4>(prof, pxo, q0, q1, cells, m, radius, r_near, po); break;
        }
    }
}

void clustered_dipole(Vec<double> xo, Vec<double> xs, Vec<double> ps, Vec<double> area, double radius, double cell,
                      double r_near, Vec<double> sigma_a, Vec<double> sigma_s_prime, Vec<double> eta,
                      Out<double> out) {
    run_clustered(dipole_profile(sigma_a, sigma_s_prime, eta), static_cast<int>(sigma_a.shape(0)), xo, xs, ps,
                  area, radius, cell, r_near, out);
}

void clustered_table(Vec<double> xo, Vec<double> xs, Vec<double> ps, Vec<double> area, double radius, double cell,
                     double r_near, Vec<double> r, Vec<double> values, double r0, double kappa, double dx,
                     Out<double> out) {
    const br::RadialTable<double> prof = table_profile(r, values, r0, kappa, dx);
    run_clustered(prof, prof.n_ch, xo, xs, ps, area, radius, cell, r_near, out);
}

}  // namespace

void bind_render(nb::module_& m) {
    m.def("render_sum_dipole_f64", &sum_dipole,
          "Pass-2 sum with the dipole: out[q, c] = sum_i R_d(|xo_q - xs_i|) ps[i, c] over |.| <= radius.");
    m.def("render_sum_table_f64", &sum_table,
          "Pass-2 sum with a radial table (linear in r, 0 beyond r_max), over |xo_q - xs_i| <= radius.");
    m.def("render_clustered_dipole_f64", &clustered_dipole,
          "Clustered pass-2 sum with the dipole: near cells (centroid within r_near) sample by sample, "
          "far cells up to radius at their centroids.");
    m.def("render_clustered_table_f64", &clustered_table, "Clustered pass-2 sum with a radial table.");
    m.def("render_table_eval_r2_f64", &table_eval_r2, "render.h's table lookup at squared radii (tests).");
}

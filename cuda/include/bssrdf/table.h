// bssrdf/table.h -- tabulated radial profiles: evaluate, sample a radius, and its pdf.
//
// A table written by bssrdf.export.table.write_table (HDF5 or CSV) holds, on a radius grid
// r[0] = 0 < r[1] < ... < r[n_r - 1] = r_max, per channel c of n_ch:
//   values[i * n_ch + c]  the profile R(r_i) (or T(r_i) of a slab) [length^-2]
//   cdf[i * n_ch + c]     the CDF of the radial density p(r) = 2 pi r R(r) / integral, with
//                         cdf[0] = 0 and cdf[n_r - 1] = 1 (non-decreasing)
// i.e. the (n_r, n_ch) C-ordered arrays R and cdf_R of the file (NumPy's layout). Lengths are in
// the table's units (mm, or scene units if written with `scale`); this header does not care.
//
// TableView is a plain view: pointers and sizes, no allocation, no ownership, trivially copyable
// to a GPU kernel argument (the arrays must then live in device memory). The functions below do
// exactly what bssrdf.export.table.ProfileTable.evaluate / pdf / sample_radius do in Python:
//   table_eval(v, r, c)          linear interpolation of the profile in r; 0 for r > r_max
//   table_pdf(v, r, c)           density in r of table_sample_radius's radii [length^-1]:
//                                (cdf[i+1] - cdf[i]) / (r[i+1] - r[i]) on interval i, 0 beyond
//                                r_max (divide by 2 pi r for the density per unit area)
//   table_sample_radius(v, u, c) inverse CDF: the interval with cdf[i] <= u < cdf[i+1] by binary
//                                search, then r linear in u within it; u in [0, 1]
// Work per call: O(log n_r). Templated on float/double (T); the arrays are of the same T.
#pragma once
#include "common.h"

namespace bssrdf {

template <class T> struct TableView {
    const T* r;       // radii, n_r values, increasing, r[0] = 0
    const T* values;  // profile, n_r * n_ch values, row-major (radius-major)
    const T* cdf;     // CDF, n_r * n_ch values, row-major, cdf[0] = 0, cdf[last] = 1
    int n_r;          // number of radii (>= 2)
    int n_ch;         // number of channels (>= 1)
};

template <class T>
BSSRDF_HD inline TableView<T> make_table_view(const T* r, const T* values, const T* cdf, int n_r,
                                              int n_ch) {
    TableView<T> v;
    v.r = r;
    v.values = values;
    v.cdf = cdf;
    v.n_r = n_r;
    v.n_ch = n_ch;
    return v;
}

// Largest i in [0, n - 2] with a[i * stride] <= x (0 if x < a[0]); a non-decreasing, n >= 2.
// Equals numpy's clip(searchsorted(a, x, side="right") - 1, 0, n - 2).
template <class T>
BSSRDF_HD inline int table_interval(const T* a, int n, int stride, T x) {
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        const int mid = lo + (hi - lo) / 2;
        if (a[mid * stride] <= x) lo = mid;
        else hi = mid;
    }
    return lo;
}

// The profile at radius r >= 0, channel c: linear interpolation; 0 beyond r_max.
template <class T> BSSRDF_HD inline T table_eval(const TableView<T>& v, T r, int c) {
    if (r > v.r[v.n_r - 1]) return T(0);
    const int i = table_interval(v.r, v.n_r, 1, r);
    const T r0 = v.r[i], r1 = v.r[i + 1];
    const T f0 = v.values[i * v.n_ch + c], f1 = v.values[(i + 1) * v.n_ch + c];
    const T t = (r - r0) / (r1 - r0);
    return f0 + t * (f1 - f0);
}

// Density in r of the radii returned by table_sample_radius [length^-1]; 0 beyond r_max.
template <class T> BSSRDF_HD inline T table_pdf(const TableView<T>& v, T r, int c) {
    if (r > v.r[v.n_r - 1]) return T(0);
    const int i = table_interval(v.r, v.n_r, 1, r);
    return (v.cdf[(i + 1) * v.n_ch + c] - v.cdf[i * v.n_ch + c]) / (v.r[i + 1] - v.r[i]);
}

// A radius distributed as table_pdf, from u uniform in [0, 1] (clamped to it).
template <class T> BSSRDF_HD inline T table_sample_radius(const TableView<T>& v, T u, int c) {
    u = b_min(b_max(u, T(0)), T(1));
    const int i = table_interval(v.cdf + c, v.n_r, v.n_ch, u);
    const T c0 = v.cdf[i * v.n_ch + c], c1 = v.cdf[(i + 1) * v.n_ch + c];
    const T t = c1 > c0 ? b_min((u - c0) / (c1 - c0), T(1)) : T(1);
    return v.r[i] + t * (v.r[i + 1] - v.r[i]);
}

// Integral of 2 pi r R(r) of the table is stored in the file (total_R, total_T): the albedo a
// renderer multiplies a sampled path by. r_max of the table:
template <class T> BSSRDF_HD inline T table_r_max(const TableView<T>& v) { return v.r[v.n_r - 1]; }

}  // namespace bssrdf

// module.cpp -- the CPU build of bssrdf's physics: a nanobind extension, bssrdf._core.
//
// It compiles the very headers the GPU kernels use (cuda/include/bssrdf/) with the host
// compiler and runs the element functions of profile_kernels.h in OpenMP loops. The Python
// layer (bssrdf/backend.py) validates inputs, makes every array C-contiguous and of one
// dtype, and allocates `out`; these functions only compute.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bssrdf/profile_kernels.h"

namespace nb = nanobind;

template <class T> using Vec = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <class T> using Out = nb::ndarray<T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

namespace {

void check_sizes(std::size_t n_out, std::size_t n_r, std::size_t n_ch) {
    if (n_ch == 0 || n_out != n_r * n_ch) throw std::invalid_argument("bssrdf._core: out has the wrong size");
}

void check_channels(std::size_t n_ch, std::initializer_list<std::size_t> sizes) {
    for (std::size_t s : sizes)
        if (s != n_ch) throw std::invalid_argument("bssrdf._core: channel arrays differ in length");
}

template <class F> void parallel_for(long long n, F&& f) {
    nb::gil_scoped_release release;
#pragma omp parallel for schedule(static)
    for (long long idx = 0; idx < n; ++idx) f(idx);
}

template <class T>
void dipole_R_d(Vec<T> r, Vec<T> sigma_a, Vec<T> sigma_s_prime, Vec<T> eta, Out<T> out) {
    const std::size_t n_ch = sigma_a.shape(0);
    check_channels(n_ch, {sigma_s_prime.shape(0), eta.shape(0)});
    check_sizes(out.shape(0), r.shape(0), n_ch);
    const T *pr = r.data(), *pa = sigma_a.data(), *ps = sigma_s_prime.data(), *pe = eta.data();
    T* po = out.data();
    const int c = static_cast<int>(n_ch);
    parallel_for(static_cast<long long>(out.shape(0)),
                 [=](long long i) { bssrdf::dipole_R_d_element(i, pr, c, pa, ps, pe, po); });
}

template <class T>
void multipole(Vec<T> r, Vec<T> sigma_a, Vec<T> sigma_s_prime, Vec<T> eta_top,
               Vec<T> eta_bottom, T d, int n_pairs, int modes, int transmit, Out<T> out) {
    const std::size_t n_ch = sigma_a.shape(0);
    check_channels(n_ch, {sigma_s_prime.shape(0), eta_top.shape(0), eta_bottom.shape(0)});
    check_sizes(out.shape(0), r.shape(0), n_ch);
    if (n_pairs < 0) throw std::invalid_argument("bssrdf._core: n_pairs must be >= 0");
    const T *pr = r.data(), *pa = sigma_a.data(), *ps = sigma_s_prime.data();
    const T *pt = eta_top.data(), *pb = eta_bottom.data();
    T* po = out.data();
    const int c = static_cast<int>(n_ch);
    parallel_for(static_cast<long long>(out.shape(0)), [=](long long i) {
        bssrdf::multipole_element(i, pr, c, pa, ps, pt, pb, d, n_pairs, modes, transmit, po);
    });
}

template <class T>
void single_R_1(Vec<T> r, Vec<T> sigma_a, Vec<T> sigma_s, Vec<T> g, Vec<T> eta, Vec<T> v,
                Vec<T> w, int K, Out<T> out) {
    const std::size_t n_ch = sigma_a.shape(0);
    check_channels(n_ch, {sigma_s.shape(0), g.shape(0), eta.shape(0)});
    check_sizes(out.shape(0), r.shape(0), n_ch);
    if (K < 1 || v.shape(0) != static_cast<std::size_t>(K) || w.shape(0) != static_cast<std::size_t>(K))
        throw std::invalid_argument("bssrdf._core: K must equal the number of nodes and weights");
    const T *pr = r.data(), *pa = sigma_a.data(), *ps = sigma_s.data(), *pg = g.data();
    const T *pe = eta.data(), *pv = v.data(), *pw = w.data();
    T* po = out.data();
    const int c = static_cast<int>(n_ch);
    parallel_for(static_cast<long long>(out.shape(0)), [=](long long i) {
        bssrdf::single_R_1_element(i, pr, c, pa, ps, pg, pe, pv, pw, K, po);
    });
}

int max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

template <class T> void bind_all(nb::module_& m, const char* suffix) {
    const std::string s(suffix);
    m.def(("dipole_R_d_" + s).c_str(), &dipole_R_d<T>, "Dipole R_d(r) [mm^-2] into out.");
    m.def(("multipole_" + s).c_str(), &multipole<T>, "Multipole R(r) or T(r) [mm^-2] into out.");
    m.def(("single_R_1_" + s).c_str(), &single_R_1<T>, "Single-scattering R_1(r) [mm^-2] into out.");
}

}  // namespace

NB_MODULE(_core, m) {
    m.doc() = "bssrdf CPU backend: the cuda/include/bssrdf headers compiled for the host (OpenMP).";
    bind_all<float>(m, "f32");
    bind_all<double>(m, "f64");
    m.def("max_threads", &max_threads, "OpenMP threads the loops use (1 without OpenMP).");
#ifdef _OPENMP
    m.attr("openmp") = true;
#else
    m.attr("openmp") = false;
#endif
}

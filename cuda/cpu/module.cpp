// module.cpp -- the CPU build of bssrdf's physics: a nanobind extension, bssrdf._core.
//
// It compiles the very headers the GPU kernels use (cuda/include/bssrdf/) with the host
// compiler and runs their physics functions in OpenMP loops: the element functions of
// profile_kernels.h (single scattering), or the same per-dipole functions in blocked loops
// the compiler vectorises (dipole, multipole), summed in the same order as on the GPU. The Python
// layer (bssrdf/backend.py) validates inputs, makes every array C-contiguous and of one
// dtype, and allocates `out`; these functions only compute.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

// glibc's libmvec has vector versions of exp/expf (<= 4 ulp); glibc's math.h declares them to
// the compiler only under -ffast-math, which this build avoids (results must match the float64
// reference to 1e-12). Declaring the SIMD variants here lets `omp simd` loops call them.
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
extern "C" double exp(double) noexcept __attribute__((simd("notinbranch")));
extern "C" float expf(float) noexcept __attribute__((simd("notinbranch")));
// One clone per ISA, chosen at load time: AVX2 (4 doubles) where the CPU has it, else SSE2.
#define BSSRDF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define BSSRDF_CLONES
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bssrdf/profile_kernels.h"

namespace nb = nanobind;

void bind_mc(nb::module_& m);  // mc.cpp
void bind_render(nb::module_& m);  // render.cpp

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

// Dipole: parameters hoisted per channel, radii in an `omp simd` loop (vector exp).
template <class T>
BSSRDF_CLONES void dipole_loop(const T* r, long long n_r, int n_ch,
                               const bssrdf::Dipole<T>* params, T* out) {
#pragma omp parallel for schedule(static)
    for (long long b = 0; b < n_r; b += 1024) {
        const long long e = b + 1024 < n_r ? b + 1024 : n_r;
        for (int c = 0; c < n_ch; ++c) {
            const bssrdf::Dipole<T> p = params[c];
#pragma omp simd
            for (long long i = b; i < e; ++i) out[i * n_ch + c] = bssrdf::R_d(p, r[i]);
        }
    }
}

template <class T>
void dipole_R_d(Vec<T> r, Vec<T> sigma_a, Vec<T> sigma_s_prime, Vec<T> eta, Out<T> out) {
    const std::size_t n_ch = sigma_a.shape(0);
    check_channels(n_ch, {sigma_s_prime.shape(0), eta.shape(0)});
    check_sizes(out.shape(0), r.shape(0), n_ch);
    std::vector<bssrdf::Dipole<T>> params(n_ch);
    for (std::size_t c = 0; c < n_ch; ++c)
        params[c] = bssrdf::make_dipole(sigma_a.data()[c], sigma_s_prime.data()[c], eta.data()[c]);
    nb::gil_scoped_release release;
    dipole_loop(r.data(), static_cast<long long>(r.shape(0)), static_cast<int>(n_ch),
                params.data(), out.data());
}

// Multipole: per channel and per block of radii, the image sum accumulates dipole by dipole
// (i = -n..n, the order of the GPU and the reference) over the block in an `omp simd` loop;
// radii the modal sum serves are then recomputed by it.
template <class T>
BSSRDF_CLONES void multipole_loop(const T* r, long long n_r, int n_ch,
                                  const bssrdf::Multipole<T>* params, int transmit, T* out) {
    constexpr long long B = 256;
#pragma omp parallel for schedule(static)
    for (long long b = 0; b < n_r; b += B) {
        const long long e = b + B < n_r ? b + B : n_r;
        T acc[B];
        for (int c = 0; c < n_ch; ++c) {
            const bssrdf::Multipole<T> p = params[c];
            for (long long i = 0; i < e - b; ++i) acc[i] = T(0);
            for (int k = -p.n; k <= p.n; ++k) {
#pragma omp simd
                for (long long i = 0; i < e - b; ++i)
                    acc[i] += bssrdf::multipole_dipole(p, k, r[b + i] * r[b + i], transmit);
            }
            const T scale = p.alpha_prime * bssrdf::Constants<T>::inv_4pi;
            const T r_m = bssrdf::multipole_mode_radius(p);
            for (long long i = 0; i < e - b; ++i) {
                const T ri = r[b + i];
                out[(b + i) * n_ch + c] = (p.modes && ri >= r_m)
                                              ? bssrdf::multipole_modes(p, ri, transmit)
                                              : scale * acc[i];
            }
        }
    }
}

template <class T>
void multipole(Vec<T> r, Vec<T> sigma_a, Vec<T> sigma_s_prime, Vec<T> eta_top,
               Vec<T> eta_bottom, T d, int n_pairs, int modes, int transmit, Out<T> out) {
    const std::size_t n_ch = sigma_a.shape(0);
    check_channels(n_ch, {sigma_s_prime.shape(0), eta_top.shape(0), eta_bottom.shape(0)});
    check_sizes(out.shape(0), r.shape(0), n_ch);
    if (n_pairs < 0) throw std::invalid_argument("bssrdf._core: n_pairs must be >= 0");
    std::vector<bssrdf::Multipole<T>> params(n_ch);
    for (std::size_t c = 0; c < n_ch; ++c)
        params[c] = bssrdf::make_multipole(sigma_a.data()[c], sigma_s_prime.data()[c], d,
                                           eta_top.data()[c], eta_bottom.data()[c], n_pairs, modes);
    nb::gil_scoped_release release;
    multipole_loop(r.data(), static_cast<long long>(r.shape(0)), static_cast<int>(n_ch),
                   params.data(), transmit, out.data());
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
    bind_mc(m);
    bind_render(m);
    m.def("max_threads", &max_threads, "OpenMP threads the loops use (1 without OpenMP).");
#ifdef _OPENMP
    m.attr("openmp") = true;
#else
    m.attr("openmp") = false;
#endif
}

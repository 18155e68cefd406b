// profiles.cu -- GPU kernels that evaluate the profiles over arrays of radii.
//
// Compiled at run time by CuPy (NVRTC) through bssrdf/backend.py, which instantiates the
// templates by name ("dipole_R_d_kernel<float>", ...). The explicit instantiations at the end
// let plain nvcc compile every kernel too (CI checks this source with nvcc for sm_90).
// Each kernel is a grid-stride loop over the n = n_r * n_ch output elements; the element
// functions are shared with the CPU extension (bssrdf/profile_kernels.h).
#include "bssrdf/profile_kernels.h"

#define BSSRDF_GRID_STRIDE(n)                                                          \
    for (long long idx = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; \
         idx < (n); idx += static_cast<long long>(blockDim.x) * gridDim.x)

template <class T>
__global__ void dipole_R_d_kernel(const T* __restrict__ r, long long n, int n_ch,
                                  const T* __restrict__ sigma_a,
                                  const T* __restrict__ sigma_s_prime,
                                  const T* __restrict__ eta, T* __restrict__ out) {
    BSSRDF_GRID_STRIDE(n) {
        bssrdf::dipole_R_d_element(idx, r, n_ch, sigma_a, sigma_s_prime, eta, out);
    }
}

template <class T>
__global__ void multipole_kernel(const T* __restrict__ r, long long n, int n_ch,
                                 const T* __restrict__ sigma_a,
                                 const T* __restrict__ sigma_s_prime,
                                 const T* __restrict__ eta_top, const T* __restrict__ eta_bottom,
                                 T d, int n_pairs, int modes, int transmit,
                                 T* __restrict__ out) {
    BSSRDF_GRID_STRIDE(n) {
        bssrdf::multipole_element(idx, r, n_ch, sigma_a, sigma_s_prime, eta_top, eta_bottom, d,
                                  n_pairs, modes, transmit, out);
    }
}

template <class T>
__global__ void single_R_1_kernel(const T* __restrict__ r, long long n, int n_ch,
                                  const T* __restrict__ sigma_a, const T* __restrict__ sigma_s,
                                  const T* __restrict__ g, const T* __restrict__ eta,
                                  const T* __restrict__ v, const T* __restrict__ w, int K,
                                  T* __restrict__ out) {
    BSSRDF_GRID_STRIDE(n) {
        bssrdf::single_R_1_element(idx, r, n_ch, sigma_a, sigma_s, g, eta, v, w, K, out);
    }
}

#if !defined(__CUDACC_RTC__)
#define BSSRDF_INSTANTIATE(T)                                                                 \
    template __global__ void dipole_R_d_kernel<T>(const T*, long long, int, const T*, const T*, \
                                                  const T*, T*);                              \
    template __global__ void multipole_kernel<T>(const T*, long long, int, const T*, const T*,  \
                                                 const T*, const T*, T, int, int, int, T*);    \
    template __global__ void single_R_1_kernel<T>(const T*, long long, int, const T*, const T*, \
                                                  const T*, const T*, const T*, const T*, int,  \
                                                  T*);
BSSRDF_INSTANTIATE(float)
BSSRDF_INSTANTIATE(double)
#endif

// render.cu -- pass 2 of the renderer on the GPU: M(x_o) = sum_i R(|x_o - x_i|) P_i, every pair.
//
// Jensen & Buhler 2002's sum over irradiance samples, brute force and fused: distance, profile and
// sum in one kernel, no N x M intermediate. One thread per output point; the block stages samples
// through shared memory in tiles of blockDim.x (positions, then powers channel-major) and every
// thread sums its point against the tile with bssrdf::render::accumulate_all (render.h, the per-pair
// arithmetic the CPU extension runs too). Each tile's sum is kept in T, the running total in double.
// blockIdx.y splits the samples into chunks of `chunk` (a multiple of blockDim.x) so that few output
// points still fill the GPU: block (x, y) writes its partial sums to out[y][point][channel] (double),
// which the caller adds over y (bssrdf/render/kernels.py).
//
// Compiled at run time by CuPy (NVRTC, bssrdf/render/kernels.py) with --use_fast_math (float: the
// approximate exp, sqrt and division; double is unaffected). Name expressions:
// render_dipole_kernel<T, C> and render_table_kernel<T, C>, T float or double, C = 1..4 channels.
// Dynamic shared memory: (3 + C) * blockDim.x * sizeof(T) bytes. Units: mm, W, mm^-2.
#include "bssrdf/render.h"

template <class T, int C, class P>
__device__ void render_tiles(const P& prof, const T* __restrict__ xo, long long n_out,
                             const T* __restrict__ xs, long long m, const T* __restrict__ ps,
                             long long chunk, double* __restrict__ out) {
    extern __shared__ __align__(16) unsigned char render_shared[];
    T* tile = reinterpret_cast<T*>(render_shared);
    const int tb = static_cast<int>(blockDim.x);
    const long long q = static_cast<long long>(blockIdx.x) * tb + threadIdx.x;
    const bool active = q < n_out;
    const T x = active ? xo[3 * q] : T(0), y = active ? xo[3 * q + 1] : T(0),
            z = active ? xo[3 * q + 2] : T(0);
    const long long begin = static_cast<long long>(blockIdx.y) * chunk;
    const long long end = begin + chunk < m ? begin + chunk : m;
    const bssrdf::render::Samples<T> s =
        bssrdf::render::make_samples(tile, tile + tb, tile + 2 * tb, tile + 3 * tb, tb);
    double total[C];
    for (int c = 0; c < C; ++c) total[c] = 0.0;
    for (long long t0 = begin; t0 < end; t0 += tb) {
        const long long j = t0 + threadIdx.x;
        if (j < end) {
            tile[threadIdx.x] = xs[3 * j];
            tile[tb + threadIdx.x] = xs[3 * j + 1];
            tile[2 * tb + threadIdx.x] = xs[3 * j + 2];
            for (int c = 0; c < C; ++c) tile[(3 + c) * tb + threadIdx.x] = ps[j * C + c];
        }
        __syncthreads();
        const long long n = end - t0 < tb ? end - t0 : tb;
        if (active) {
            T part[C];
            for (int c = 0; c < C; ++c) part[c] = T(0);
            bssrdf::render::accumulate_all<C>(prof, x, y, z, s, 0, n, part);
            for (int c = 0; c < C; ++c) total[c] += static_cast<double>(part[c]);
        }
        __syncthreads();
    }
    if (active)
        for (int c = 0; c < C; ++c) out[(static_cast<long long>(blockIdx.y) * n_out + q) * C + c] = total[c];
}

// Dipole per channel: sigma_a, sigma_s_prime [mm^-1], eta (C values each, device memory).
template <class T, int C>
__global__ void render_dipole_kernel(const T* __restrict__ xo, long long n_out, const T* __restrict__ xs,
                                     long long m, const T* __restrict__ ps, long long chunk,
                                     const T* __restrict__ sigma_a, const T* __restrict__ sigma_s_prime,
                                     const T* __restrict__ eta, double* __restrict__ out) {
    const bssrdf::render::DipoleSet<T> prof = bssrdf::render::make_dipole_set(sigma_a, sigma_s_prime, eta, C);
    render_tiles<T, C>(prof, xo, n_out, xs, m, ps, chunk, out);
}

// A radial table: r (n_r), values (n_r * C, radius-major); r0, kappa, dx of its grid (dx = 0: any grid).
template <class T, int C>
__global__ void render_table_kernel(const T* __restrict__ xo, long long n_out, const T* __restrict__ xs,
                                    long long m, const T* __restrict__ ps, long long chunk,
                                    const T* __restrict__ r, const T* __restrict__ values, int n_r, T r0,
                                    T kappa, T dx, double* __restrict__ out) {
    const bssrdf::render::RadialTable<T> prof = bssrdf::render::make_radial_table(r, values, n_r, C, r0, kappa, dx);
    render_tiles<T, C>(prof, xo, n_out, xs, m, ps, chunk, out);
}

#if !defined(__CUDACC_RTC__)
#define BSSRDF_RENDER_INSTANTIATE(T, C)                                                               \
    template __global__ void render_dipole_kernel<T, C>(const T*, long long, const T*, long long,     \
                                                        const T*, long long, const T*, const T*,     \
                                                        const T*, double*);                          \
    template __global__ void render_table_kernel<T, C>(const T*, long long, const T*, long long,      \
                                                       const T*, long long, const T*, const T*, int, \
                                                       T, T, T, double*);
BSSRDF_RENDER_INSTANTIATE(float, 1)
BSSRDF_RENDER_INSTANTIATE(float, 2)
BSSRDF_RENDER_INSTANTIATE(float, 3)
BSSRDF_RENDER_INSTANTIATE(float, 4)
BSSRDF_RENDER_INSTANTIATE(double, 1)
BSSRDF_RENDER_INSTANTIATE(double, 2)
BSSRDF_RENDER_INSTANTIATE(double, 3)
BSSRDF_RENDER_INSTANTIATE(double, 4)
#endif

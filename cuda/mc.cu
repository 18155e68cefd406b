// mc.cu -- the GPU build of the Monte Carlo tracer (bssrdf/mc.h).
//
// Persistent lanes: each thread owns one photon at a time and advances it by one event
// (hop + interface or interaction) per loop trip; a lane whose photon has ended takes the next
// photon of its stride at once, so lanes do not idle while long photons finish (a loop that
// traced each photon to its end would leave most of a warp waiting on its slowest photon).
// Photon k of the launch is traced by lane k mod (lanes); its random numbers depend on
// (seed, first + k) only, so any grid gives the same photons.
//
// Tallies are fixed-point 64-bit integers (see mc.h): with SHARED, each block accumulates into
// dynamic shared memory (the launch passes tally-size * 8 bytes) with integer atomics, then
// adds its sums to the launch's array; without it (tally arrays too large for shared memory)
// the atomics go straight to global memory. Integer sums do not
// depend on the order of the atomics, so a launch is reproducible bit for bit.
//
// Compiled at run time by CuPy (bssrdf/mc/_cuda.py, with --use_fast_math) by the names
// "mc_trace_kernel<float, true>" etc.; the explicit instantiations let nvcc compile it too.
#include "bssrdf/mc.h"

namespace {

struct SharedSink {
    unsigned long long* t;
    __device__ void add(int i, unsigned long long v) {
        if (v) atomicAdd(t + i, v);
    }
};

}  // namespace

template <class T, bool SHARED>
__global__ void mc_trace_kernel(const T* __restrict__ config, int n_layers, int n_r, int n_z,
                                unsigned long long seed, unsigned long long first,
                                unsigned long long count, unsigned long long* __restrict__ tallies) {
    __shared__ bssrdf::mc::Setup<T> s;
    extern __shared__ unsigned long long shared_t[];
    if (threadIdx.x == 0) bssrdf::mc::unpack(config, n_layers, n_r, n_z, s);
    const int size = bssrdf::mc::TallyLayout{n_layers, n_r, n_z}.size();
    if (SHARED) {
        for (int i = threadIdx.x; i < size; i += blockDim.x) shared_t[i] = 0ull;
    }
    __syncthreads();
    SharedSink sink{SHARED ? shared_t : tallies};

    const unsigned long long stride = static_cast<unsigned long long>(gridDim.x) * blockDim.x;
    const unsigned long long lane = static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const unsigned long long events =
        bssrdf::mc::mc_trace_lane<T>(s, seed, first, count, lane, stride, sink);
    sink.add(bssrdf::mc::EVENTS, events);
    if (SHARED) {
        __syncthreads();
        for (int i = threadIdx.x; i < size; i += blockDim.x) {
            if (shared_t[i]) atomicAdd(tallies + i, shared_t[i]);
        }
    }
}

#if !defined(__CUDACC_RTC__)
template __global__ void mc_trace_kernel<float, true>(const float*, int, int, int, unsigned long long,
                                                      unsigned long long, unsigned long long,
                                                      unsigned long long*);
template __global__ void mc_trace_kernel<float, false>(const float*, int, int, int, unsigned long long,
                                                       unsigned long long, unsigned long long,
                                                       unsigned long long*);
template __global__ void mc_trace_kernel<double, true>(const double*, int, int, int, unsigned long long,
                                                       unsigned long long, unsigned long long,
                                                       unsigned long long*);
template __global__ void mc_trace_kernel<double, false>(const double*, int, int, int, unsigned long long,
                                                        unsigned long long, unsigned long long,
                                                        unsigned long long*);
#endif

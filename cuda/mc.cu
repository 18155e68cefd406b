// mc.cu -- the GPU build of the Monte Carlo tracer (bssrdf/mc.h).
//
// Persistent lanes: each thread owns one photon at a time and advances it by one event
// (hop + interface or interaction) per loop trip; a lane whose photon has ended takes the next
// photon of its stride at once, so lanes do not idle while long photons finish (a loop that
// traced each photon to its end would leave most of a warp waiting on its slowest photon).
// Photon k of the launch is traced by lane k mod (lanes); its random numbers depend on
// (seed, first + k) only, so any grid gives the same photons.
//
// Tallies are fixed-point 64-bit integers (see mc.h): each block accumulates into shared
// memory with integer atomics (or straight into global memory when the tally array is larger
// than `MC_SHARED_MAX` entries), then adds its sums to the launch's array. Integer sums do not
// depend on the order of the atomics, so a launch is reproducible bit for bit.
//
// Compiled at run time by CuPy (bssrdf/mc/_cuda.py, with --use_fast_math) by the names
// "mc_trace_kernel<float, true>" etc.; the explicit instantiations let nvcc compile it too.
#include "bssrdf/mc.h"

#define MC_SHARED_MAX 5632  // u64 entries: 44 KiB of the 48 KiB a block may use without opt-in

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
    __shared__ unsigned long long shared_t[SHARED ? MC_SHARED_MAX : 1];
    if (threadIdx.x == 0) bssrdf::mc::unpack(config, n_layers, n_r, n_z, s);
    const int size = bssrdf::mc::TallyLayout{n_layers, n_r, n_z}.size();
    if (SHARED) {
        for (int i = threadIdx.x; i < size; i += blockDim.x) shared_t[i] = 0ull;
    }
    __syncthreads();
    SharedSink sink{SHARED ? shared_t : tallies};

    const unsigned long long stride = static_cast<unsigned long long>(gridDim.x) * blockDim.x;
    unsigned long long next = static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    bssrdf::mc::Photon<T> p;
    p.alive = false;
    unsigned long long events = 0;
    while (true) {
        if (!p.alive) {
            if (next >= count) break;
            bssrdf::mc::mc_launch(p, s, seed, first + next);
            next += stride;
        }
        events += bssrdf::mc::mc_event(p, s, sink) ? 1ull : 0ull;
    }
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

// mc.cu -- the GPU build of the Monte Carlo tracer (bssrdf/mc.h).
//
// Persistent lanes: each thread owns one photon at a time and advances it by one event
// (hop + interface or interaction) per loop trip; a lane whose photon has ended takes the next
// photon of its block's batch at once (a global counter per batch), so lanes do not idle while
// long photons finish (a loop that traced each photon to its end would leave most of a warp
// waiting on its slowest photon). A photon's random numbers depend on (seed, its index) only,
// so any grid and any order of work gives the same photons.
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

// Tallies in global memory: native 64-bit atomics.
struct GlobalSink {
    unsigned long long* t;
    __device__ void begin_photon(bssrdf::u64) {}  // a block's photons share its batch
    __device__ void add(int i, unsigned long long v) {
        if (v) atomicAdd(t + i, v);
    }
};

// Tallies in shared memory, each u64 updated as two 32-bit words: the low word by a 32-bit atomic
// (fast in shared memory), the high word only by the adder whose addition wrapped the low word
// around (a carry) or whose value has high bits. The final 64-bit sums are exact and independent
// of order, as with 64-bit atomics. Measured on an H200 (cube60, 4e8 photons, float): 7.9e5
// photons/ms with 64-bit shared atomics, 8.7e5 with these, 9.4e5 with no depth tally at all (it
// takes one atomic per interaction).
struct SharedSink {
    unsigned long long* t;
    __device__ void begin_photon(bssrdf::u64) {}  // a block's photons share its batch
    __device__ void add(int i, unsigned long long v) {
        if (!v) return;
        unsigned int* word = reinterpret_cast<unsigned int*>(t + i);  // little-endian: [low, high]
        const unsigned int lo = static_cast<unsigned int>(v);
        unsigned int hi = static_cast<unsigned int>(v >> 32);
        if (lo) {
            const unsigned int old = atomicAdd(word, lo);
            if (old + lo < old) ++hi;  // the low word wrapped around
        }
        if (hi) atomicAdd(word + 1, hi);
    }
};

// The photons of one batch in the launch, handed out one at a time from a global counter: a lane
// that finishes takes the next, so a launch ends about one photon lifetime after its work runs out.
struct BatchSource {
    unsigned long long* counter;
    unsigned long long i0, n, n_batches;
    __device__ bool next(bssrdf::u64& index) {
        const unsigned long long k = atomicAdd(counter, 1ull);
        if (k >= n) return false;
        index = static_cast<bssrdf::u64>(i0 + k * n_batches);
        return true;
    }
};

template <bool B, class X, class Y> struct Select {
    typedef X type;
};
template <class X, class Y> struct Select<false, X, Y> {
    typedef Y type;
};

}  // namespace

// Block b traces batch b mod n_batches (the grid is a multiple of n_batches); tallies holds
// n_batches arrays of `size`, counters n_batches zeros.
// Resident blocks of 256 threads per SM the float kernel is compiled for (it caps registers at
// 65536 / (256 * this)); the double kernel for 2 (128 registers, no spill: left to the compiler
// it took 130 once rough interfaces existed, which halved its occupancy). Measured on an H200 (cube60,
// 4e8 photons, photons/ms): 4 blocks (60 registers) 7.55e5, 5 (48) 7.72e5, 6 (40, 8 bytes of
// spill) 7.88e5, 8 (32, 72 bytes of spill) 7.51e5.
#ifndef BSSRDF_MC_MIN_BLOCKS
#define BSSRDF_MC_MIN_BLOCKS 6
#endif

template <class T, bool SHARED>
__global__ void __launch_bounds__(256, sizeof(T) == 4 ? BSSRDF_MC_MIN_BLOCKS : 2) mc_trace_kernel(const T* __restrict__ config, int n_layers, int n_r, int n_z,
                                unsigned long long seed, unsigned long long first,
                                unsigned long long count, unsigned long long n_batches,
                                unsigned long long* __restrict__ counters,
                                unsigned long long* __restrict__ tallies) {
    __shared__ bssrdf::mc::Setup<T> s;
    extern __shared__ unsigned long long shared_t[];
    if (threadIdx.x == 0) bssrdf::mc::unpack(config, n_layers, n_r, n_z, s);
    const int size = bssrdf::mc::TallyLayout{n_layers, n_r, n_z}.size();
    const unsigned long long batch = blockIdx.x % n_batches;
    unsigned long long* out = tallies + batch * size;
    if (SHARED) {
        for (int i = threadIdx.x; i < size; i += blockDim.x) shared_t[i] = 0ull;
    }
    __syncthreads();
    typename Select<SHARED, SharedSink, GlobalSink>::type sink{SHARED ? shared_t : out};
    BatchSource source{counters + batch, bssrdf::mc::batch_first(first, batch, n_batches),
                       bssrdf::mc::batch_count(first, count, batch, n_batches), n_batches};
    const unsigned long long events = bssrdf::mc::mc_trace_lane<T>(s, seed, source, sink);
    sink.add(bssrdf::mc::EVENTS, events);
    if (SHARED) {
        __syncthreads();
        for (int i = threadIdx.x; i < size; i += blockDim.x) {
            if (shared_t[i]) atomicAdd(out + i, shared_t[i]);
        }
    }
}

#if !defined(__CUDACC_RTC__)
#define BSSRDF_MC_INSTANTIATE(T, SHARED)                                                          \
    template __global__ void mc_trace_kernel<T, SHARED>(const T*, int, int, int, unsigned long long, \
                                                        unsigned long long, unsigned long long,      \
                                                        unsigned long long, unsigned long long*,     \
                                                        unsigned long long*);
BSSRDF_MC_INSTANTIATE(float, true)
BSSRDF_MC_INSTANTIATE(float, false)
BSSRDF_MC_INSTANTIATE(double, true)
BSSRDF_MC_INSTANTIATE(double, false)
#endif

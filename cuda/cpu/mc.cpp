// mc.cpp -- bssrdf._core's Monte Carlo functions: the CPU build of the tracer (bssrdf/mc.h run
// by the SIMD lanes of mc_lanes.h, OpenMP threads each tallying into their own fixed-point arrays,
// merged at the end; integer tallies make the result independent of threads and scheduling),
// and test hooks for the generator.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/tuple.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <tuple>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mc_lanes.h"

namespace nb = nanobind;
using bssrdf::u32;
using bssrdf::u64;

namespace {

using namespace bssrdf::cpu;

template <class T> using Config = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Tallies = nb::ndarray<std::uint64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// Trace photons first .. first + count - 1 of the run keyed by `seed`; add their tallies to
// `tallies`: n_batches arrays (photon i in batch i mod n_batches) of layout
// bssrdf::mc::TallyLayout; the interaction count goes to batch 0's EVENTS. n_threads <= 0:
// OpenMP's default. mode: 1 = SIMD lanes (trace_lanes, the AVX2 build where the CPU has it),
// 2 = SIMD lanes, generic build, 0 = the scalar loop of the GPU kernel (mc_trace_lane); 0 and 2
// are for comparison in the tests.
template <class T>
void mc_trace(Config<T> config, int n_layers, int n_r, int n_z, std::uint64_t seed,
              std::uint64_t first, std::uint64_t count, std::uint64_t n_batches, Tallies tallies,
              int n_threads, int mode) {
    if (n_layers < 1 || n_layers > bssrdf::mc::MAX_LAYERS)
        throw std::invalid_argument("bssrdf._core.mc_trace: n_layers out of range");
    if (n_r < 1 || n_z < 1) throw std::invalid_argument("bssrdf._core.mc_trace: n_r and n_z must be >= 1");
    if (config.shape(0) != static_cast<std::size_t>(bssrdf::mc::CONFIG_HEADER +
                                                    bssrdf::mc::CONFIG_PER_LAYER * n_layers))
        throw std::invalid_argument("bssrdf._core.mc_trace: config has the wrong length");
    bssrdf::mc::Setup<T> s;
    bssrdf::mc::unpack(config.data(), n_layers, n_r, n_z, s);
    const int size = s.tallies().size();
    if (mode < 0 || mode > 2) throw std::invalid_argument("bssrdf._core.mc_trace: mode must be 0, 1 or 2");
    if (n_batches < 1 || n_batches > (1u << 20))
        throw std::invalid_argument("bssrdf._core.mc_trace: n_batches out of range");
    const std::size_t total = static_cast<std::size_t>(n_batches) * size;
    if (tallies.shape(0) != total)
        throw std::invalid_argument("bssrdf._core.mc_trace: tallies must hold n_batches * size values");
    u64* out = tallies.data();
    const long long n = static_cast<long long>(count);
    nb::gil_scoped_release release;
#ifdef _OPENMP
    const int threads = n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    const int threads = 1;
#endif
    // Work items: a batch's photons of the launch in chunks (WorkQueue). SIMD: each thread runs
    // 16 lanes fed from the queue until it is empty. mode 0: each item is traced by
    // mc_trace_lane, the loop the GPU runs. At least four chunks per thread, so that small
    // launches use every thread.
    long long chunk = n / (4LL * threads);
    chunk = chunk < 64 ? 64 : (chunk > 4096 ? 4096 : chunk);
    const long long per_batch = (n + static_cast<long long>(n_batches) - 1) / static_cast<long long>(n_batches);
    WorkQueue queue;
    queue.first = first;
    queue.count = count;
    queue.n_batches = n_batches;
    queue.chunk = chunk;
    queue.chunks_per_batch = (per_batch + chunk - 1) / chunk;
    queue.n_items = queue.chunks_per_batch * static_cast<long long>(n_batches);
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
        std::vector<u64> local(total, 0);
        LocalSink sink{local.data(), local.data(), n_batches, size};
        u64 events = 0;
        if (mode == 1) {
            Cursor cursor{&queue};
            events += trace_lanes<T, 16>(s, seed, cursor, sink);
        } else if (mode == 2) {
            Cursor cursor{&queue};
            events += trace_lanes<T, 16>(s, seed, cursor, sink, /*generic=*/true);
        } else {
            while (true) {
                const long long it = queue.next_item.fetch_add(1, std::memory_order_relaxed);
                if (it >= queue.n_items) break;
                u64 i0, m, batch;
                if (!queue.item(it, i0, m, batch)) continue;
                StrideSource source{i0, n_batches, m, 0};
                events += bssrdf::mc::mc_trace_lane<T>(s, seed, source, sink);
            }
        }
        local[bssrdf::mc::EVENTS] += events;
#ifdef _OPENMP
#pragma omp critical(bssrdf_mc_merge)
#endif
        for (std::size_t k = 0; k < total; ++k) out[k] += local[k];
    }
}

std::tuple<u32, u32, u32, u32> philox(u32 c0, u32 c1, u32 c2, u32 c3, u32 k0, u32 k1) {
    const bssrdf::U32x4 r = bssrdf::philox4x32_10(c0, c1, c2, c3, k0, k1);
    return {r.v[0], r.v[1], r.v[2], r.v[3]};
}

// The uniforms of photon `index`'s first `n_events` events, four per event (tests of the stream).
template <class T> std::vector<double> uniforms(std::uint64_t seed, std::uint64_t index, int n_events) {
    const bssrdf::PhiloxKey key = bssrdf::PhiloxKey::of(seed);
    bssrdf::mc::Photon<T> p;
    p.index = index;
    p.event = 0;
    std::vector<double> out;
    for (int i = 0; i < n_events; ++i) {
        const bssrdf::mc::Draw<T> d = bssrdf::mc::next_draw(p, key);
        for (int j = 0; j < 4; ++j) out.push_back(d.u[j]);
    }
    return out;
}

// sin and cos of 2 pi xi by the tracer's polynomials (tests of their accuracy).
template <class T> std::tuple<double, double> sincos_2pi(double xi) {
    const bssrdf::mc::SinCos<T> r = bssrdf::mc::sincos_2pi(static_cast<T>(xi));
    return {r.s, r.c};
}

}  // namespace

#include <nanobind/stl/vector.h>

void bind_mc(nb::module_& m) {
    m.def("mc_trace_f32", &mc_trace<float>, "Trace photons [first, first+count) in float; add tallies.");
    m.def("mc_trace_f64", &mc_trace<double>, "Trace photons [first, first+count) in double; add tallies.");
    m.def("philox4x32_10", &philox, "Philox4x32-10 block of counter (c0..c3) under key (k0, k1).");
    m.def("mc_uniforms_f32", &uniforms<float>, "Uniforms of a photon's first n events (float).");
    m.def("mc_uniforms_f64", &uniforms<double>, "Uniforms of a photon's first n events (double).");
    m.def("mc_sincos_2pi_f32", &sincos_2pi<float>, "(sin, cos) of 2 pi xi, the tracer's float polynomials.");
    m.def("mc_sincos_2pi_f64", &sincos_2pi<double>, "(sin, cos) of 2 pi xi, the tracer's double polynomials.");
    m.attr("mc_n_scalars") = static_cast<int>(bssrdf::mc::N_SCALARS);
    m.attr("mc_max_layers") = bssrdf::mc::MAX_LAYERS;
    m.attr("mc_config_header") = bssrdf::mc::CONFIG_HEADER;
    m.attr("mc_config_per_layer") = bssrdf::mc::CONFIG_PER_LAYER;
}

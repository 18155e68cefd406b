// bssrdf/mc.h -- Monte Carlo photon transport in a stack of plane-parallel layers.
//
// The conventions of MCML (Wang, Jacques & Zheng, "MCML -- Monte Carlo modeling of light
// transport in multi-layered tissues", Comput. Methods Programs Biomed. 47, 1995):
//   * a photon packet of weight w enters at the origin, z pointing into the stack; the stack's
//     top is z = 0; layer i spans [z_top, z_bot] (z_bot = +inf for a semi-infinite base);
//   * step lengths s = -ln(xi) / mu_t, kept dimensionless (`sleft`, in units of 1/mu_t) across
//     interfaces (MCML's Hop, StepSizeInTissue, HitBoundary);
//   * absorption by weight: at each interaction w is multiplied by the albedo mu_s / mu_t and
//     the difference is deposited in the layer and depth bin (MCML's Drop);
//   * Henyey-Greenstein scattering and MCML's direction update (its Spin, SpinTheta);
//   * at every interface, unpolarised Fresnel reflection with the real indices on both sides,
//     Snell refraction, total internal reflection; all-or-none reflection decided by a random
//     number (MCML's RFresnel, CrossUpOrNot, CrossDnOrNot);
//   * an interface may be rough instead: an isotropic GGX microfacet surface (roughness alpha):
//     a microfacet normal sampled from the distribution of visible normals, Fresnel reflection or
//     refraction at that facet, and, when the outgoing direction is on the wrong side of the
//     surface (light that would meet the microsurface again), the facet drawn again; energy is
//     conserved (`rough_dielectric`, `cross_interface`; bssrdf/microfacet.py integrates the same
//     model for the diffusion side); with alpha = 0 or equal indices on both sides an interface
//     is smooth, by exactly the code path above;
//   * Russian roulette below weight `roulette_w` with survival chance 1/`roulette_m`, which keeps
//     the estimate unbiased (MCML's Roulette: threshold 1e-4, chance 1/10).
// The names in parentheses are the functions of MCML's source (mcmlgo.c) doing the same step.
//
// Random numbers: every event (one trip of the loop: a hop and what happens at its end) draws
// one Philox4x32-10 block, counter (event number, 0, photon index), key = seed: u[0] for a new
// step length, u[1] for the Fresnel decision at an interface or the scattering angle, u[2] for
// the azimuth, u[3] for roulette; at a rough interface u[2] and u[3] sample the microfacet
// normal; a facet drawn again (see `rough_dielectric`) takes the next event's numbers. A number an event does not need is discarded; a fixed draw per event keeps the
// generator off the branch predictor's path. A photon entering through a rough top spends event
// 0 on crossing it (a zero hop from layer -1 whose new step, from u[0], it carries into layer 0).
//
// Units: lengths in mm, coefficients in mm^-1.
//
// Tallies are unsigned 64-bit fixed-point sums (weight * 2^32, rounded), so that they are exact
// integers whose sum does not depend on the order of accumulation: the same photons give the
// same tallies for any thread layout, on the CPU (OpenMP) and the GPU (atomics). The layout of
// the tally array is given by `TallyLayout`; the host (bssrdf/mc/_run.py) scales it back.
//
// Consumers: cuda/mc.cu (GPU: `mc_trace_lane`, one lane per thread) and cuda/cpu/mc.cpp (CPU:
// the same steps over SIMD lanes of 16 photons, or `mc_trace_lane` for comparison), so the
// physics is written once.
#pragma once
#include "common.h"
#include "fresnel.h"
#include "philox.h"

namespace bssrdf {
namespace mc {

constexpr int MAX_LAYERS = 32;

// Inlining on the host (GCC, Clang): the CPU lanes inline cross_interface into their AVX2 + FMA
// build, where the compiler fuses some of its multiply-adds; called out of line instead (as the
// rough-interface code would make it, by its size) the smooth step would round differently. So
// cross_interface is always inlined, and the rough-interface arithmetic (rough_dielectric) never:
// the smooth steps compile as they did before rough interfaces existed, and the rough one is the
// same generic code for every CPU build. On the GPU, rough_dielectric is a call too, which keeps
// it off the registers of the smooth loop (ptxas for sm_90: the double kernel 128 registers, as
// cuda/mc.cu's launch bounds ask, 2 blocks of 256 per SM, 106 before rough interfaces; the float
// kernel 40, with 4 bytes of spill, 4-8 before; with rough_dielectric inlined: 130, 4-12 bytes).
// The rough branch is marked unlikely, so that the compiler lays the smooth step out as the
// straight path and keeps the call's register saves on the rough one (measured on the CPU lanes,
// cube60, one thread: without the mark a smooth run was 3-4% slower than before rough interfaces
// existed, with it about 1%; the lanes now also have a build without the rough branch, for runs
// with no rough interface: cross_interface's ROUGH).
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define BSSRDF_MC_OUT_OF_LINE __noinline__
#define BSSRDF_MC_INLINE inline
#define BSSRDF_MC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#elif defined(__GNUC__)
#define BSSRDF_MC_OUT_OF_LINE __attribute__((noinline))
#define BSSRDF_MC_INLINE __attribute__((always_inline)) inline
#define BSSRDF_MC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define BSSRDF_MC_OUT_OF_LINE
#define BSSRDF_MC_INLINE inline
#define BSSRDF_MC_UNLIKELY(x) (x)
#endif

// Scalar tallies, in this order at the start of the tally array.
enum Scalar {
    R_DIFFUSE = 0,    // weight leaving through the top after entering (fixed point)
    T_TOTAL,          // weight leaving through the bottom (fixed point)
    R_UNSCATTERED,    // part of R_DIFFUSE that never scattered (fixed point)
    T_UNSCATTERED,    // part of T_TOTAL that never scattered (fixed point)
    R_SINGLE,         // part of R_DIFFUSE that scattered exactly once (fixed point)
    ROULETTE_GAIN,    // weight added to roulette survivors (fixed point)
    ROULETTE_LOSS,    // weight of photons ended by roulette (fixed point)
    W_CUT,            // weight of photons stopped at max_path (fixed point)
    A_OUTSIDE_Z,      // absorbed weight deeper than the last A_z bin (fixed point)
    R_SPECULAR,       // weight reflected by a rough top on entry (fixed point; 0 for a smooth top,
                      // whose specular reflectance the host computes exactly)
    EVENTS,           // interactions (plain count; per launch, in any one batch's array)
    N_SCALARS
};

// Offsets of the array tallies: A_layers[n_layers], R_r[n_r], T_r[n_r], R1_r[n_r], A_z[n_z].
struct TallyLayout {
    int n_layers, n_r, n_z;
    BSSRDF_HD int a_layers() const { return N_SCALARS; }
    BSSRDF_HD int r_r() const { return N_SCALARS + n_layers; }
    BSSRDF_HD int t_r() const { return r_r() + n_r; }
    BSSRDF_HD int r1_r() const { return t_r() + n_r; }
    BSSRDF_HD int a_z() const { return r1_r() + n_r; }
    BSSRDF_HD int size() const { return a_z() + n_z; }
};

// Weight w >= 0 in fixed point, w * 2^32 rounded half up. Through a signed conversion (one
// instruction on x86-64; weights here are < 2^31, far below the 2^63 / 2^32 it allows).
BSSRDF_HD inline u64 fixed_point(double w) {
    return static_cast<u64>(static_cast<long long>(w * 4294967296.0 + 0.5));
}

// +inf, and the largest finite value, of float and double.
BSSRDF_HD inline float mc_inf(float) {
#if defined(__CUDA_ARCH__)
    return __int_as_float(0x7f800000);
#else
    return HUGE_VALF;
#endif
}
BSSRDF_HD inline double mc_inf(double) {
#if defined(__CUDA_ARCH__)
    return __longlong_as_double(0x7ff0000000000000LL);
#else
    return HUGE_VAL;
#endif
}
BSSRDF_HD inline float max_finite(float) { return 3.40282347e+38f; }
BSSRDF_HD inline double max_finite(double) { return 1.7976931348623157e+308; }

template <class T> struct Layer {
    T z[2];           // top and bottom, mm; z[1] = +inf for a semi-infinite base
    T mu_a, mu_t;     // mm^-1
    T inv_mu_t;       // mm (0 when mu_t = 0: a clear layer)
    T albedo;         // mu_s / mu_t (1 when mu_t = 0)
    T g;              // HG mean cosine
    T n;              // refractive index
    T alpha;          // GGX roughness of the layer's top interface (0: smooth)
};

// Everything a run needs, unpacked from a flat array of T (see `unpack`).
template <class T> struct Setup {
    int n_layers, n_r, n_z;
    T n_above, n_below;
    T ux0, uz0;        // direction after refraction into the top layer; for a rough top, the
                       // beam's direction above it (the photon crosses the top in event 0)
    T w0;              // weight entering: 1 - specular reflectance (smooth top), 1 (rough top)
    T alpha_below;     // GGX roughness of the bottom of the last layer (0: smooth)
    int first_layer;   // 0, or -1 when photons start above a rough top (layer -1)
    T max_path;        // mm; +inf for no limit
    T inv_dr, inv_dz;  // 1 / bin widths, mm^-1
    T roulette_w, roulette_m;
    // slot[i + 1] is layer i; slot[0] is layer -1, where photons start above a rough top: clear
    // (mu_t = 0), of index n_above, with both walls at z = 0, so that their first hop is a zero
    // hop onto the top, and the interface step crosses it (no separate code path, no branch)
    Layer<T> slot[MAX_LAYERS + 1];
    BSSRDF_HD const Layer<T>& layer(int i) const { return slot[i + 1]; }
    BSSRDF_HD TallyLayout tallies() const { return TallyLayout{n_layers, n_r, n_z}; }
};

// Flat parameter array: CONFIG_HEADER values, then CONFIG_PER_LAYER per layer.
//   [n_above, n_below, ux0, uz0, w0, max_path, r_max, z_max, roulette_w, roulette_m, alpha_below,
//    (z_top, z_bot, mu_a, mu_s, g, n, alpha_top) * n_layers]
// alpha: the GGX roughness of an interface, in [0, 1] (0: smooth).
constexpr int CONFIG_HEADER = 11;
constexpr int CONFIG_PER_LAYER = 7;

template <class T>
BSSRDF_HD inline void unpack(const T* c, int n_layers, int n_r, int n_z, Setup<T>& s) {
    s.n_layers = n_layers;
    s.n_r = n_r;
    s.n_z = n_z;
    s.n_above = c[0];
    s.n_below = c[1];
    s.ux0 = c[2];
    s.uz0 = c[3];
    s.w0 = c[4];
    s.max_path = c[5] < mc_inf(T(0)) ? c[5] : max_finite(T(0));
    s.inv_dr = T(n_r) / c[6];
    s.inv_dz = T(n_z) / c[7];
    s.roulette_w = c[8];
    s.roulette_m = c[9];
    s.alpha_below = c[10];
    for (int i = 0; i < n_layers; ++i) {
        const T* l = c + CONFIG_HEADER + CONFIG_PER_LAYER * i;
        Layer<T>& L = s.slot[i + 1];
        L.z[0] = l[0];
        L.z[1] = l[1];
        L.mu_a = l[2];
        L.mu_t = l[2] + l[3];
        L.inv_mu_t = L.mu_t > T(0) ? T(1) / L.mu_t : T(0);
        L.albedo = L.mu_t > T(0) ? l[3] / L.mu_t : T(1);
        L.g = l[4];
        L.n = l[5];
        L.alpha = l[6];
    }
    Layer<T>& above = s.slot[0];
    above.z[0] = above.z[1] = T(0);
    above.mu_a = above.mu_t = above.inv_mu_t = T(0);
    above.albedo = T(1);
    above.g = T(0);
    above.n = s.n_above;
    above.alpha = T(0);  // not used: the top's roughness is layer 0's
    s.first_layer = s.layer(0).alpha > T(0) && s.n_above != s.layer(0).n ? -1 : 0;
}

template <class T> struct Photon {
    T x, y, z;     // mm
    T ux, uy, uz;  // direction cosines
    T w;           // weight
    T sleft;       // rest of the current step, dimensionless (units of 1/mu_t)
    T path;        // path length travelled, mm
    u64 index;     // photon number in the run (the generator's counter)
    u32 event;     // events so far (the generator's block number)
    u64 absorbed;  // weight absorbed in the current layer, fixed point, not yet tallied
    int layer;     // -1: above a rough top, before crossing it (event 0)
    int n_scatter;
    bool alive;
};

// The four uniform numbers in (0, 1) of a photon's next event.
template <class T> struct Draw {
    T u[4];
};

template <class T>
BSSRDF_HD inline Draw<T> next_draw(Photon<T>& p, const PhiloxKey& key) {
    const U32x4 r = photon_block(key, p.index, p.event++);
    Draw<T> d;
    for (int i = 0; i < 4; ++i) d.u[i] = u01_open(r.v[i], T(0));
    return d;
}

// Logarithm: libm on the host, the fast intrinsic on the GPU (cuda/mc.cu compiles with
// --use_fast_math).
BSSRDF_HD inline float mc_log(float x) { return logf(x); }
BSSRDF_HD inline double mc_log(double x) { return log(x); }

// sin and cos of 2 pi xi for xi in [0, 1], without branches: reduced by quarter turns
// (exactly: 4 xi - q is exact in floating point), then Taylor polynomials on [-pi/4, pi/4]
// (degree 9/10 for float, error < 2e-9; degree 17/18 for double, < 1e-16). libm's sincosf
// branches on the argument, and a random azimuth makes those branches mispredict; the same
// polynomials run on the GPU, so both backends turn a random number into the same direction.
template <class T> struct SinCos {
    T s, c;
};

template <class T> BSSRDF_HD inline SinCos<T> sincos_2pi(T xi) {
    const T x = T(4) * xi;
    const T q = b_floor(x + T(0.5));
    const T t = (x - q) * T(1.57079632679489661923);
    const T t2 = t * t;
    T sp, cp;
    if (sizeof(T) == sizeof(float)) {
        sp = t * (T(1) + t2 * (T(-1.0 / 6) + t2 * (T(1.0 / 120) + t2 * (T(-1.0 / 5040) + t2 * T(1.0 / 362880)))));
        cp = T(1) + t2 * (T(-0.5) + t2 * (T(1.0 / 24) + t2 * (T(-1.0 / 720) + t2 * (T(1.0 / 40320) +
                                                                                   t2 * T(-1.0 / 3628800)))));
    } else {
        T ps = T(1.0 / 355687428096000.0);  // 1/17!
        ps = T(-1.0 / 1307674368000.0) + t2 * ps;
        ps = T(1.0 / 6227020800.0) + t2 * ps;
        ps = T(-1.0 / 39916800.0) + t2 * ps;
        ps = T(1.0 / 362880.0) + t2 * ps;
        ps = T(-1.0 / 5040.0) + t2 * ps;
        ps = T(1.0 / 120.0) + t2 * ps;
        ps = T(-1.0 / 6.0) + t2 * ps;
        sp = t * (T(1) + t2 * ps);
        T pc = T(1.0 / 6402373705728000.0);  // 1/18!
        pc = T(-1.0 / 20922789888000.0) + t2 * pc;
        pc = T(1.0 / 87178291200.0) + t2 * pc;
        pc = T(-1.0 / 479001600.0) + t2 * pc;
        pc = T(1.0 / 3628800.0) + t2 * pc;
        pc = T(-1.0 / 40320.0) + t2 * pc;
        pc = T(1.0 / 720.0) + t2 * pc;
        pc = T(-1.0 / 24.0) + t2 * pc;
        pc = T(0.5) + t2 * pc;
        cp = T(1) - t2 * pc;
    }
    // the angle is quarter * pi/2 + t, quarter = 0..4; the quadrant picks and signs the values
    // by exact arithmetic (0/1 weights, +-1 signs) rather than by branches
    const int quarter = static_cast<int>(q);
    const T swap = static_cast<T>(quarter & 1);
    const T sv = swap * cp + (T(1) - swap) * sp;
    const T cv = swap * sp + (T(1) - swap) * cp;
    SinCos<T> r;
    r.s = sv * static_cast<T>(1 - (quarter & 2));
    r.c = cv * static_cast<T>(1 - ((quarter + 1) & 2));
    return r;
}


// A new photon, photon number `index` of the run keyed by `seed`, entering at the origin (or,
// with a rough top, at the origin above it: layer -1, the beam's direction, weight 1).
template <class T>
BSSRDF_HD inline void mc_launch(Photon<T>& p, const Setup<T>& s, u64 index) {
    p.x = p.y = p.z = T(0);
    p.ux = s.ux0;
    p.uy = T(0);
    p.uz = s.uz0;
    p.w = s.w0;
    p.sleft = T(0);
    p.path = T(0);
    p.index = index;
    p.event = 0;
    p.layer = s.first_layer;
    p.n_scatter = 0;
    p.absorbed = 0;
    p.alive = true;
}

// Cosine of the scattering angle drawn from the Henyey-Greenstein phase function
// (MCML's SpinTheta; isotropic for g = 0).
// Written with selects only (no early return), so that it vectorises.
template <class T> BSSRDF_HD inline T sample_hg(T g, T xi) {
    const bool iso = b_abs(g) < T(1e-6);
    const T gg = iso ? T(0.5) : g;  // any g != 0 keeps the discarded branch finite
    const T f = (T(1) - gg * gg) / (T(1) - gg + T(2) * gg * xi);
    const T c = (T(1) + gg * gg - f * f) / (T(2) * gg);
    return iso ? T(2) * xi - T(1) : b_min(T(1), b_max(T(-1), c));
}

// New direction after scattering by polar cosine cos_t and azimuth 2 pi xi (MCML's Spin).
// A pure function of values (no branches the compiler cannot turn into selects), so that the
// CPU build can run it over arrays of photons in SIMD lanes.
template <class T> struct Dir {
    T x, y, z;
};

template <class T> BSSRDF_HD inline Dir<T> scatter_direction(T ux, T uy, T uz, T cos_t, T xi) {
    const T sin_t = b_sqrt(b_max(T(0), T(1) - cos_t * cos_t));
    const SinCos<T> phi = sincos_2pi(xi);
    Dir<T> d;
    if (b_abs(uz) > T(1) - T(1e-6)) {  // along the normal: the frame is the lab frame
        d.x = sin_t * phi.c;
        d.y = sin_t * phi.s;
        d.z = uz >= T(0) ? cos_t : -cos_t;
    } else {
        const T tmp = b_sqrt(T(1) - uz * uz);
        const T k = sin_t / tmp;
        d.x = k * (ux * uz * phi.c - uy * phi.s) + ux * cos_t;
        d.y = k * (uy * uz * phi.c + ux * phi.s) + uy * cos_t;
        d.z = -sin_t * phi.c * tmp + uz * cos_t;
    }
    return d;
}

// The next hop of a photon at depth z with direction cosine uz in a layer (mu_t, 1/mu_t) whose
// interface ahead is at z_wall: the step (a new one, -ln u0, when the last one is used up),
// the distance to the interface, and whether the photon reaches it first (MCML's Hop).
template <class T> struct Hop {
    T sleft;   // dimensionless step for this hop
    T d_wall;  // distance to the interface ahead, mm (+inf when uz = 0)
    T hop;     // length of the hop, mm
    int hit;   // 1 when the hop ends on the interface (an int: a bool member defeats SIMD)
};

template <class T>
BSSRDF_HD inline Hop<T> plan_hop(T z, T uz, T z_wall, T sleft, T u0, T mu_t, T inv_mu_t) {
    const T inf = mc_inf(T(0));
    Hop<T> h;
    const T fresh = -mc_log(u0);  // computed always: a select, not a branch
    h.sleft = sleft > T(0) ? sleft : fresh;
    const T s_step = mu_t > T(0) ? h.sleft * inv_mu_t : inf;
    h.d_wall = uz != T(0) ? (z_wall - z) / uz : inf;
    h.hit = h.d_wall <= s_step ? 1 : 0;
    h.hop = h.hit ? h.d_wall : s_step;
    return h;
}

// True when the hop would take the photon past max_path. `unpack` makes max_path finite (the
// largest finite T when there is no limit), so a hop to infinity (a clear layer, uz = 0) is cut
// too, by the same single comparison (one comparison keeps the CPU's SIMD loop vectorisable).
template <class T> BSSRDF_HD inline bool hop_is_cut(T path, T hop, T max_path) {
    return !(path + hop <= max_path);
}

template <class T> BSSRDF_HD inline int radial_bin(const Photon<T>& p, const Setup<T>& s) {
    const T r = b_sqrt(p.x * p.x + p.y * p.y);
    const T b = r * s.inv_dr;
    return b < T(s.n_r) ? static_cast<int>(b) : -1;
}

// Tally the weight absorbed in the photon's current layer (before it leaves the layer or ends).
template <class T, class Sink>
BSSRDF_HD inline void flush_absorbed(Photon<T>& p, const Setup<T>& s, Sink& sink) {
    if (p.absorbed) {
        sink.add(s.tallies().a_layers() + p.layer, p.absorbed);
        p.absorbed = 0;
    }
}

// What a rough interface does to a photon (`rough_dielectric`).
template <class T> struct RoughCrossing {
    T ux, uy, uz;  // lab direction after the interface
    int valid;     // 1 when wo is on the right side of the surface (an int: a bool defeats SIMD)
    int reflect;   // 1: reflected (stays on its side); 0: refracted (an int: a bool defeats SIMD)
};

// A photon with lab direction (ux, uy, uz) meets a rough dielectric interface (isotropic GGX,
// roughness alpha > 0) from the side of index n1, with n2 beyond; u1, u2, u3 are uniforms in
// (0, 1). One microfacet interaction, sampled with visible normals as Mitsuba 3's roughdielectric
// does:
//   1. local frame with +z toward the incident side: wi = (-ux, -uy, |uz|); lab -> local is
//      (x, y, z) -> (x, y, sigma z), sigma = -sign(uz), its own inverse (a mirror frame, which
//      an isotropic distribution does not see);
//   2. a microfacet normal m from the GGX distribution of normals visible from wi (Heitz 2018,
//      "Sampling the GGX Distribution of Visible Normals", JCGT 7(4)): wi stretched by alpha in x
//      and y to the hemisphere configuration v; a point of the unit disk (radius sqrt(u2), angle
//      2 pi u3) in a basis (t1, t2) around v, its t2 coordinate warped towards the part of the disk
//      the projected hemisphere covers (by s = (1 + v_z) / 2), lifted onto the hemisphere, and
//      unstretched by alpha;
//   3. c = wi.m (clamped to [0, 1] against rounding), F = F_r(c, n2 / n1) (1 under total internal
//      reflection);
//   4. u1 <= F: reflection wo = 2 c m - wi; else refraction, eta = n1 / n2,
//      wo = -eta wi + (eta c - cos_t) m, cos_t = sqrt(1 - eta^2 (1 - c^2));
//   5. valid = reflection ? wo_z > 0 : wo_z < 0. A direction on the wrong side is light that
//      meets the microsurface again: cross_interface leaves the photon on the interface and its
//      next event draws the facet again, so the outcome is conditioned on a valid direction (as
//      bssrdf/microfacet.py integrates it); no masking weight, no loss. A valid outcome has
//      positive probability for every incident direction (facets near the macro normal give one),
//      so the redraws end.
// Selects only, apart from F_r's test for total internal reflection.
template <class T>
BSSRDF_MC_OUT_OF_LINE BSSRDF_HD inline RoughCrossing<T> rough_dielectric(T ux, T uy, T uz, T n1, T n2,
                                                                         T alpha, T u1, T u2, T u3) {
    const T sigma = uz > T(0) ? T(-1) : T(1);
    const T wx = -ux, wy = -uy, wz = b_abs(uz);
    // the hemisphere configuration: wi stretched by alpha
    T vx = alpha * wx, vy = alpha * wy, vz = wz;
    const T inv_v = T(1) / b_sqrt(vx * vx + vy * vy + vz * vz);
    vx *= inv_v;
    vy *= inv_v;
    vz *= inv_v;
    // orthonormal basis t1, t2 = v x t1 around v (t1 = x when v is the pole)
    const T lensq = vx * vx + vy * vy;
    const bool pole = !(lensq > T(0));
    const T inv_l = T(1) / b_sqrt(pole ? T(1) : lensq);
    const T t1x = pole ? T(1) : -vy * inv_l;
    const T t1y = pole ? T(0) : vx * inv_l;
    const T t2x = -vz * t1y, t2y = vz * t1x, t2z = vx * t1y - vy * t1x;
    // a point of the unit disk, warped to the projected hemisphere's visible part, lifted
    const T r = b_sqrt(u2);
    const SinCos<T> phi = sincos_2pi(u3);
    const T d1 = r * phi.c;
    const T h = T(0.5) * (T(1) + vz);
    const T d2 = (T(1) - h) * b_sqrt(b_max(T(0), T(1) - d1 * d1)) + h * (r * phi.s);
    const T d3 = b_sqrt(b_max(T(0), T(1) - d1 * d1 - d2 * d2));
    const T nx = d1 * t1x + d2 * t2x + d3 * vx;
    const T ny = d1 * t1y + d2 * t2y + d3 * vy;
    const T nz = d2 * t2z + d3 * vz;
    // unstretched: the microfacet normal m
    T mx = alpha * nx, my = alpha * ny, mz = b_max(T(0), nz);
    const T inv_m = T(1) / b_sqrt(mx * mx + my * my + mz * mz);
    mx *= inv_m;
    my *= inv_m;
    mz *= inv_m;
    // Fresnel at the microfacet, then wo = a wi + b m
    const T c = b_min(T(1), b_max(T(0), wx * mx + wy * my + wz * mz));
    const int reflect = u1 <= F_r(c, n2 / n1) ? 1 : 0;
    const T eta = n1 / n2;
    const T cos_t = b_sqrt(b_max(T(0), T(1) - eta * eta * (T(1) - c * c)));
    const T a = reflect ? T(-1) : -eta;
    const T b = reflect ? T(2) * c : eta * c - cos_t;
    const T ox = a * wx + b * mx, oy = a * wy + b * my, oz = a * wz + b * mz;
    RoughCrossing<T> out;
    out.ux = ox;
    out.uy = oy;
    out.uz = sigma * oz;
    out.valid = (reflect ? oz > T(0) : oz < T(0)) ? 1 : 0;
    out.reflect = reflect;
    return out;
}

// True when some interface of the run is rough (alpha > 0).
template <class T> BSSRDF_HD inline bool any_rough(const Setup<T>& s) {
    bool rough = s.alpha_below > T(0);
    for (int i = 0; i < s.n_layers; ++i) rough = rough || s.layer(i).alpha > T(0);
    return rough;
}

// The photon meets the interface at the top (up) or bottom of its layer: reflect it, move it
// into the next layer, or let it leave the stack and tally it. The position is on the
// interface already. u1 decides reflection; u2, u3 sample a rough interface's microfacet.
// A photon in layer -1 (above a rough top, event 0) crosses the top into layer 0 the same way;
// reflected, its weight is tallied in R_SPECULAR and it ends. ROUGH = false compiles the rough
// branch out (for runs where no interface is rough: `any_rough`).
template <class T, class Sink, bool ROUGH = true>
BSSRDF_HD BSSRDF_MC_INLINE void cross_interface(Photon<T>& p, const Setup<T>& s, T u1, T u2, T u3,
                                                Sink& sink) {
    const bool up = p.uz < T(0);
    const int next = up ? p.layer - 1 : p.layer + 1;
    const T n1 = s.layer(p.layer).n;
    const T n2 = next < 0 ? s.n_above : (next >= s.n_layers ? s.n_below : s.layer(next).n);
    if (n1 != n2) {
        // the interface's roughness: the top of this layer (up) or of the next one (down)
        const T alpha = up ? s.layer(p.layer).alpha
                           : (next < s.n_layers ? s.layer(next).alpha : s.alpha_below);
        if (ROUGH && BSSRDF_MC_UNLIKELY(alpha > T(0))) {
            const RoughCrossing<T> r = rough_dielectric(p.ux, p.uy, p.uz, n1, n2, alpha, u1, u2, u3);
            if (!r.valid) {
                // the outgoing direction is on the wrong side (light meeting the microsurface
                // again): the photon stays on the interface, heading into it, and its next event
                // (a hop of length 0) draws the facet again, with that event's numbers
                return;
            }
            p.ux = r.ux;
            p.uy = r.uy;
            p.uz = r.uz;
            if (r.reflect) {
                if (p.layer < 0) {  // reflected by a rough top on entry: specular, the photon ends
                    sink.add(R_SPECULAR, fixed_point(p.w));
                    p.alive = false;
                }
                return;
            }
        } else {
            const T cos_i = b_abs(p.uz);
            const T R = F_r(cos_i, n2 / n1);
            if (u1 <= R) {  // reflection (R = 1: total internal reflection)
                p.uz = -p.uz;
                return;
            }
            const T ratio = n1 / n2;
            const T cos_t = b_sqrt(b_max(T(0), T(1) - ratio * ratio * (T(1) - cos_i * cos_i)));
            p.ux *= ratio;
            p.uy *= ratio;
            p.uz = up ? -cos_t : cos_t;
        }
    }
    flush_absorbed(p, s, sink);
    if (next >= 0 && next < s.n_layers) {
        p.layer = next;
        return;
    }
    const TallyLayout t = s.tallies();
    const u64 w = fixed_point(p.w);
    const int bin = radial_bin(p, s);
    if (next < 0) {
        sink.add(R_DIFFUSE, w);
        if (p.n_scatter == 0) sink.add(R_UNSCATTERED, w);
        if (p.n_scatter == 1) sink.add(R_SINGLE, w);
        if (bin >= 0) {
            sink.add(t.r_r() + bin, w);
            if (p.n_scatter == 1) sink.add(t.r1_r() + bin, w);
        }
    } else {
        sink.add(T_TOTAL, w);
        if (p.n_scatter == 0) sink.add(T_UNSCATTERED, w);
        if (bin >= 0) sink.add(t.t_r() + bin, w);
    }
    p.alive = false;
}

// The photon stops at max_path: it moves what is left of its path and its weight is tallied.
template <class T, class Sink> BSSRDF_HD inline void cut_path(Photon<T>& p, const Setup<T>& s, Sink& sink) {
    const T rest = b_max(T(0), s.max_path - p.path);
    p.x += rest * p.ux;
    p.y += rest * p.uy;
    p.z += rest * p.uz;
    sink.add(W_CUT, fixed_point(p.w));
    flush_absorbed(p, s, sink);
    p.alive = false;
}

// Absorption at an interaction point (MCML's Drop): the weight w (1 - albedo) is deposited
// in the depth bin, and in the layer's tally when the photon leaves the layer or ends (one
// tally update per layer visit, not per interaction: on a GPU every lane of a block would
// otherwise hit the same shared-memory address at every step); the photon keeps w albedo.
template <class T, class Sink>
BSSRDF_HD inline void deposit(Photon<T>& p, const Setup<T>& s, T w_new, Sink& sink) {
    const TallyLayout t = s.tallies();
    const u64 dw = fixed_point(p.w - w_new);
    p.w = w_new;
    p.absorbed += dw;
    const T zb = p.z * s.inv_dz;
    if (zb < T(s.n_z)) {
        sink.add(t.a_z() + static_cast<int>(zb), dw);
    } else {
        sink.add(A_OUTSIDE_Z, dw);
    }
    ++p.n_scatter;
}

// Russian roulette (MCML's Roulette): below roulette_w a photon survives with chance 1/m and
// weight times m, else it ends; what roulette adds and removes is tallied.
template <class T, class Sink>
BSSRDF_HD inline void roulette(Photon<T>& p, const Setup<T>& s, T u, Sink& sink) {
    if (p.w < s.roulette_w) {
        if (p.w > T(0) && u * s.roulette_m <= T(1)) {
            const T w_up = p.w * s.roulette_m;
            sink.add(ROULETTE_GAIN, fixed_point(w_up - p.w));
            p.w = w_up;
        } else {
            sink.add(ROULETTE_LOSS, fixed_point(p.w));
            flush_absorbed(p, s, sink);
            p.alive = false;
        }
    }
}

// One step of a live photon: a hop to the next interaction, interface, or the end of its
// allowed path, and what happens there. Returns true when the step ended in an interaction.
// (cuda/cpu/mc.cpp runs the same steps over SIMD lanes of photons: keep the two in step.)
template <class T, class Sink>
BSSRDF_HD inline bool mc_event(Photon<T>& p, const Setup<T>& s, const PhiloxKey& key, Sink& sink) {
    const Layer<T>& L = s.layer(p.layer);
    const Draw<T> d = next_draw(p, key);
    // the interface ahead by an index, not a branch: the sign of uz is a coin flip
    const T z_wall = L.z[p.uz > T(0)];
    const Hop<T> h = plan_hop(p.z, p.uz, z_wall, p.sleft, d.u[0], L.mu_t, L.inv_mu_t);
    if (hop_is_cut(p.path, h.hop, s.max_path)) {
        cut_path(p, s, sink);
        return false;
    }
    p.path += h.hop;
    p.x += h.hop * p.ux;
    p.y += h.hop * p.uy;
    if (h.hit) {
        p.z = z_wall;
        p.sleft = b_max(T(0), h.sleft - h.d_wall * L.mu_t);
        cross_interface(p, s, d.u[1], d.u[2], d.u[3], sink);
        return false;
    }
    p.z += h.hop * p.uz;
    p.sleft = T(0);
    deposit(p, s, p.w * L.albedo, sink);
    const Dir<T> u = scatter_direction(p.ux, p.uy, p.uz, sample_hg(L.g, d.u[1]), d.u[2]);
    p.ux = u.x;
    p.uy = u.y;
    p.uz = u.z;
    roulette(p, s, d.u[3], sink);
    return true;
}

// Batches: photon i belongs to batch i mod n_batches, and a launch keeps one tally array per
// batch, so that the host can estimate standard errors from the spread of the batch means. The
// partition depends on photon indices only, never on threads, blocks or launch sizes.
BSSRDF_HD inline u64 batch_first(u64 first, u64 batch, u64 n_batches) {
    // the smallest index >= first in the batch
    return first + (batch + n_batches - first % n_batches) % n_batches;
}

BSSRDF_HD inline u64 batch_count(u64 first, u64 count, u64 batch, u64 n_batches) {
    const u64 i0 = batch_first(first, batch, n_batches);
    return i0 < first + count ? (first + count - i0 + n_batches - 1) / n_batches : 0;
}

// A lane: takes photon indices from `source` (source.next(i) returns false when none is left)
// and advances its photon by one event per loop trip; a finished photon is replaced at once, so
// on a GPU a warp's lanes stay busy while long photons finish. `sink.begin_photon(i)` is told
// each new photon (to pick its batch's tallies). Returns the number of interactions.
template <class T, class Source, class Sink>
BSSRDF_HD inline u64 mc_trace_lane(const Setup<T>& s, u64 seed, Source& source, Sink& sink) {
    const PhiloxKey key = PhiloxKey::of(seed);
    Photon<T> p;
    p.alive = false;
    u64 events = 0;
    while (true) {
        if (!p.alive) {
            u64 index;
            if (!source.next(index)) break;
            sink.begin_photon(index);
            mc_launch(p, s, index);
        }
        events += mc_event(p, s, key, sink) ? 1u : 0u;
    }
    return events;
}

}  // namespace mc
}  // namespace bssrdf

// bssrdf/common.h -- portability layer for the header-only physics of bssrdf.
//
// Every header under cuda/include/bssrdf/ is written once and compiled three ways:
//   1. by CuPy/NVRTC at run time for the GPU (cuda/profiles.cu),
//   2. by the host C++ compiler into the package's CPU extension (cuda/cpu/module.cpp),
//   3. by renderers that include the headers directly.
// Functions are marked BSSRDF_HD (= __host__ __device__ under a CUDA compiler) and are
// templated on the floating-point type T (float or double).
//
// Units everywhere: lengths in mm, coefficients in mm^-1, profiles in mm^-2.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define BSSRDF_HD __host__ __device__
#else
#define BSSRDF_HD
#endif

#if !defined(__CUDACC_RTC__)
#include <cmath>
#endif

namespace bssrdf {

// Math wrappers resolving to the float or double intrinsic on each compiler, so that
// `T` templates never silently promote float to double (or truncate double).
BSSRDF_HD inline float b_exp(float x) { return expf(x); }
BSSRDF_HD inline double b_exp(double x) { return exp(x); }
BSSRDF_HD inline float b_sqrt(float x) { return sqrtf(x); }
BSSRDF_HD inline double b_sqrt(double x) { return sqrt(x); }
BSSRDF_HD inline float b_cos(float x) { return cosf(x); }
BSSRDF_HD inline double b_cos(double x) { return cos(x); }
BSSRDF_HD inline float b_sin(float x) { return sinf(x); }
BSSRDF_HD inline double b_sin(double x) { return sin(x); }
BSSRDF_HD inline float b_asin(float x) { return asinf(x); }
BSSRDF_HD inline double b_asin(double x) { return asin(x); }
BSSRDF_HD inline float b_log(float x) { return logf(x); }
BSSRDF_HD inline double b_log(double x) { return log(x); }
BSSRDF_HD inline float b_log1p(float x) { return log1pf(x); }
BSSRDF_HD inline double b_log1p(double x) { return log1p(x); }
BSSRDF_HD inline float b_sinh(float x) { return sinhf(x); }
BSSRDF_HD inline double b_sinh(double x) { return sinh(x); }
BSSRDF_HD inline float b_floor(float x) { return floorf(x); }
BSSRDF_HD inline double b_floor(double x) { return floor(x); }
BSSRDF_HD inline float b_abs(float x) { return fabsf(x); }
BSSRDF_HD inline double b_abs(double x) { return fabs(x); }

template <class T> BSSRDF_HD inline T b_min(T a, T b) { return a < b ? a : b; }
template <class T> BSSRDF_HD inline T b_max(T a, T b) { return a > b ? a : b; }
template <class T> BSSRDF_HD inline T sqr(T x) { return x * x; }

template <class T> struct Constants {
    static constexpr T pi = T(3.14159265358979323846);
    static constexpr T inv_4pi = T(0.0795774715459476678844);  // 1/(4 pi)
};

}  // namespace bssrdf

// bssrdf/bssrdf.h -- one include for renderers: every profile of bssrdf, header-only.
//
//   #include "bssrdf/bssrdf.h"     // with -I<repo>/cuda/include
//
// fresnel.h    F_r, F_dr, A (boundary terms)
// dipole.h     Dipole, make_dipole, R_d, total_R_d           (semi-infinite medium)
// multipole.h  Multipole, make_multipole, multipole_R/_T     (slab)
// bessel.h     bessel_K0                                     (used by the slab's modal sum)
// single.h     SingleScatter, make_single, single_R_1        (exact single scattering)
// table.h      TableView, table_eval, table_pdf, table_sample_radius (tabulated profiles)
// The Monte Carlo transport step (mc.h) is not included; include it explicitly if wanted.
// All functions are BSSRDF_HD (__host__ __device__ under nvcc/NVRTC) and templated on float or
// double. Units: mm and mm^-1 (tables: their own length unit). See cuda/README.md.
#pragma once
#include "common.h"
#include "fresnel.h"
#include "bessel.h"
#include "dipole.h"
#include "multipole.h"
#include "single.h"
#include "table.h"

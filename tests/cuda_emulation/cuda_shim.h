// cuda_shim.h -- just enough of CUDA for the host to run cuda/mc.cu's kernel (tests only).
//
// Each block runs as blockDim.x std::threads (blocks one after another), __syncthreads is a
// barrier, atomicAdd is an atomic read-modify-write, and __shared__ variables are function
// statics (one block at a time, so they are the block's). test_cuda_emulation.py rewrites the
// kernel's two __shared__ declarations accordingly before compiling.
#pragma once
#include <barrier>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<>* emu_barrier = nullptr;
inline void __syncthreads() { emu_barrier->arrive_and_wait(); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
inline unsigned int atomicAdd(unsigned int* p, unsigned int v) {
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
#define __global__
#define __device__
#define __host__
#define __launch_bounds__(...)

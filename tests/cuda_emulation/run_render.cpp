// run_render.cpp -- launches cuda/render.cu's render_{dipole,table}_kernel<EMU_T, C> on the host through
// cuda_shim.h (tests/test_render_kernels.py). Arguments: kind (dipole|table) C N M block chunk split
// in_file out_file. in_file holds, as EMU_T values: xo (N*3), xs (M*3), ps (M*C), then for the dipole
// sigma_a, sigma_s_prime, eta (C each), for a table n_r, r0, kappa, dx, r (n_r), values (n_r*C).
// out_file receives split*N*C doubles (the kernel's partial sums per sample chunk).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "render_emulated.cpp"  // cuda/render.cu after the rewrite, including cuda_shim.h

alignas(16) unsigned char emu_render_shared[1 << 20];

template <int C>
void launch(const char* kind, long long N, long long M, int block, long long chunk, int split,
            const std::vector<EMU_T>& in, std::vector<double>& out) {
    const EMU_T* xo = in.data();
    const EMU_T* xs = xo + 3 * N;
    const EMU_T* ps = xs + 3 * M;
    const EMU_T* rest = ps + M * C;
    blockDim.x = block;
    gridDim.x = static_cast<unsigned>((N + block - 1) / block);
    gridDim.y = split;
    for (unsigned by = 0; by < gridDim.y; ++by)
        for (unsigned bx = 0; bx < gridDim.x; ++bx) {
            std::barrier<> bar(block);
            emu_barrier = &bar;
            std::vector<std::thread> threads;
            for (int t = 0; t < block; ++t)
                threads.emplace_back([&, bx, by, t] {
                    blockIdx.x = bx;
                    blockIdx.y = by;
                    threadIdx.x = t;
                    if (!strcmp(kind, "dipole"))
                        render_dipole_kernel<EMU_T, C>(xo, N, xs, M, ps, chunk, rest, rest + C, rest + 2 * C,
                                                       out.data());
                    else
                        render_table_kernel<EMU_T, C>(xo, N, xs, M, ps, chunk, rest + 4, rest + 4 + int(rest[0]),
                                                      int(rest[0]), rest[1], rest[2], rest[3], out.data());
                });
            for (auto& th : threads) th.join();
        }
}

int main(int argc, char** argv) {
    if (argc != 10) return 2;
    const char* kind = argv[1];
    const int C = atoi(argv[2]);
    const long long N = atoll(argv[3]), M = atoll(argv[4]);
    const int block = atoi(argv[5]);
    const long long chunk = atoll(argv[6]);
    const int split = atoi(argv[7]);
    FILE* f = fopen(argv[8], "rb");
    if (!f) return 3;
    std::vector<EMU_T> in;
    EMU_T v;
    while (fread(&v, sizeof v, 1, f) == 1) in.push_back(v);
    fclose(f);
    std::vector<double> out(static_cast<size_t>(split) * N * C, -1.0);
    switch (C) {
        case 1: launch<1>(kind, N, M, block, chunk, split, in, out); break;
        case 2: launch<2>(kind, N, M, block, chunk, split, in, out); break;
        case 3: launch<3>(kind, N, M, block, chunk, split, in, out); break;
        case 4: launch<4>(kind, N, M, block, chunk, split, in, out); break;
        default: return 4;
    }
    f = fopen(argv[9], "wb");
    if (!f) return 5;
    fwrite(out.data(), sizeof(double), out.size(), f);
    fclose(f);
    return 0;
}

// run_kernel.cpp -- launches cuda/mc.cu's mc_trace_kernel<EMU_T, EMU_SHARED> on the host through
// cuda_shim.h and prints the tallies (n_batches * size unsigned integers, one per line).
// Arguments: n_layers n_r n_z seed first count n_batches grid block config...
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "mc_emulated.cpp"  // cuda/mc.cu after the rewrite, including cuda_shim.h

unsigned long long emu_shared_t[1 << 16];

int main(int argc, char** argv) {
    if (argc < 11) return 2;
    const int n_layers = atoi(argv[1]), n_r = atoi(argv[2]), n_z = atoi(argv[3]);
    const unsigned long long seed = strtoull(argv[4], nullptr, 10);
    const unsigned long long first = strtoull(argv[5], nullptr, 10);
    const unsigned long long count = strtoull(argv[6], nullptr, 10);
    const unsigned long long n_batches = strtoull(argv[7], nullptr, 10);
    const int grid = atoi(argv[8]), block = atoi(argv[9]);
    std::vector<EMU_T> config;
    for (int i = 10; i < argc; ++i) config.push_back(static_cast<EMU_T>(strtod(argv[i], nullptr)));
    const int size = bssrdf::mc::TallyLayout{n_layers, n_r, n_z}.size();
    std::vector<unsigned long long> tallies(n_batches * size, 0), counters(n_batches, 0);
    blockDim.x = block;
    gridDim.x = grid;
    for (int b = 0; b < grid; ++b) {
        std::barrier<> bar(block);
        emu_barrier = &bar;
        std::vector<std::thread> threads;
        for (int t = 0; t < block; ++t) {
            threads.emplace_back([&, b, t] {
                blockIdx.x = b;
                threadIdx.x = t;
                mc_trace_kernel<EMU_T, EMU_SHARED>(config.data(), n_layers, n_r, n_z, seed, first, count,
                                                   n_batches, counters.data(), tallies.data());
            });
        }
        for (auto& th : threads) th.join();
    }
    for (unsigned long long v : tallies) printf("%llu\n", v);
    return 0;
}

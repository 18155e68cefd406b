#!/usr/bin/env bash
# GPU checks of pass 2's fused kernel (cuda/render.cu), for a machine with an NVIDIA GPU and CuPy, in an
# environment where `pip install -e '.[test,cuda]'` has been done (PYTHON names its interpreter).
# Runs the cuda-marked render tests (GPU vs the NumPy brute-force reference, float32 and float64, dipole
# and table, 1 and 3 channels, several objects), then the benchmark of issue 8 (512² sphere, 1e5
# samples: 2.6e10 pixel-sample pairs of which 1.6e10 on visible pixels) in float32 and float64.
# About 1-2 minutes on an H100, most of it NVRTC compiling render.cu once (cached by CuPy after).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
"$PY" -c "import cupy; print('GPU:', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())"
"$PY" -m pytest -q -m cuda tests/test_render_kernels.py tests/test_render.py
"$PY" -m bssrdf.bench render --backend cuda --methods brute --gpu-dtype float32
"$PY" -m bssrdf.bench render --backend cuda --methods brute --gpu-dtype float64

"""benchmarks/gpu_check.sh runs its whole path on the CPU (``--device cpu``): outputs, the
inference server against the CPU workers, and a short training with the server; one summary
line, exit 0. On this machine there is no CUDA: the script must say so and exit 1."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.sh"


@pytest.mark.slow
def test_cpu_path_passes(tmp_path):
    proc = subprocess.run(["bash", str(SCRIPT), "--device", "cpu", "--workers", "1", "2",
                           "--seconds", "2", "--train-seconds", "15"], capture_output=True,
                          text=True, timeout=600, check=False, cwd=tmp_path)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("gpu_check: OK device=cpu"), lines
    assert "outputs max|diff|" in lines[0] and "2 workers" in lines[0]
    assert "train " in lines[0] and "sims/s" in lines[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_fails_with_one_line():
    proc = subprocess.run([sys.executable, str(SCRIPT.with_suffix(".py"))], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert proc.stdout.strip().startswith("gpu_check: FAIL no CUDA device")

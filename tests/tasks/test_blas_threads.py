"""A KernelCraft process runs BLAS on one thread (kernelcraft/blas.py says why)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json
from threadpoolctl import threadpool_info
import numpy as np
def blas():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
before = blas()
from kernelcraft.tasks import get_task
task = get_task("gemm")
params = {"M": 64, "K": 64, "N": 64}
inputs = task.make_inputs_for(params, 0, "normal")
reference = task.reference(inputs, params)
print(json.dumps([before, blas()]))
"""


def test_computing_a_reference_leaves_blas_on_one_thread():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can see")
    assert after and all(n == 1 for n in after)

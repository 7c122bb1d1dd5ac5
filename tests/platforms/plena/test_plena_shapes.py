"""PLENA's shape table (the paper's Table 12), its coverage, and the FP SRAM constants per task."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernelcraft.platforms.api import PlatformError
from kernelcraft.platforms.plena.layout import FP_SLOTS, fp_constants
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import all_tasks, get_task

PLENA = get_platform("plena")


def test_plena_supports_twenty_and_explains_the_rest():
    supported = [t.id for t in all_tasks() if PLENA.supports(t)]
    assert len(supported) == 20
    for task_id in ("conv2d", "depthwise_conv", "conv_block"):
        reason = PLENA.unsupported_reason(task_id)
        assert reason and "convolution" in reason
        with pytest.raises(PlatformError, match="not supported"):
            PLENA.params(task_id, "C1")
    assert PLENA.unsupported_reason("relu") is None


def test_bad_configurations_are_clear_and_names_are_case_insensitive():
    with pytest.raises(ValueError, match="unknown configuration 'C6'.*C1"):
        PLENA.params("relu", "C6")
    assert PLENA.params("relu", "c2") == PLENA.params("relu", "C2")


@pytest.mark.parametrize(
    "task_id, config, params",
    [
        ("silu", "C5", {"R": 64, "H": 256}),
        ("gemv", "C4", {"M": 512, "N": 512}),
        ("batch_matmul", "C3", {"B": 8, "M": 16, "K": 128, "N": 256}),
        ("rope", "C3", {"S": 128, "D": 64}),
        ("swiglu", "C5", {"N": 64, "H": 256, "I": 1024}),
        ("sdpa", "C3", {"S": 64, "D": 256}),
        ("gqa", "C5", {"S": 128, "H": 512, "nh": 8, "nkv": 2}),
        ("mqa", "C2", {"S": 64, "H": 256, "nh": 4, "nkv": 1}),
        ("decoder_t5", "C5", {"S": 128, "H": 512, "nh": 8, "I": 1024}),
    ],
)
def test_plena_configs_match_table_12(task_id, config, params):
    assert PLENA.params(task_id, config) == params


def test_every_plena_cell_fits_the_io_contract():
    for task in all_tasks():
        if not PLENA.supports(task):
            continue
        for config in PLENA.config_names(task):
            params = PLENA.params(task, config)
            for _, shape in task.inputs_for(params):
                assert int(np.prod(shape)) % 8 == 0
            assert task.output_shape_for(params)[-1] % 64 == 0
            if task.dhead is not None and task.id not in ("sdpa", "flash_attention"):
                assert task.dhead(params) == 64


def _constants(task_id: str, config: str) -> dict[str, float]:
    return fp_constants(get_task(task_id).scalars_for(PLENA.params(task_id, config)))


def test_fp_constants_have_every_slot_and_task_values():
    for task in all_tasks():
        if PLENA.supports(task):
            assert set(_constants(task.id, "C1")) == set(FP_SLOTS)
    ln = _constants("layernorm", "C3")
    assert ln["eps"] == 1e-5 and ln["inv_hidden"] == 1 / 128
    assert _constants("rmsnorm", "C1")["eps"] == 1e-6
    assert _constants("mha", "C5")["inv_sqrt_dhead"] == 1 / 8
    assert _constants("sdpa", "C2")["inv_sqrt_dhead"] == pytest.approx(1 / math.sqrt(128))
    c = _constants("gelu", "C1")
    assert c["gelu_c1"] == pytest.approx(1.5957691) and c["gelu_c3"] == pytest.approx(0.0713548, rel=1e-5)
    assert c["neg_inf"] == -math.inf and c["one"] == 1.0 and c["half"] == 0.5 and c["zero"] == 0.0

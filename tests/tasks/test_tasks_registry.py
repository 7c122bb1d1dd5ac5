"""The suite's shape: 23 tasks in paper order, PLENA coverage, configurations and constants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernelcraft.tasks import TASK_SET_VERSION, TaskError, all_tasks, get_task

PAPER_ORDER = [
    "silu", "relu", "gelu", "softmax", "layernorm", "rmsnorm", "gemv", "gemm", "batch_matmul", "linear",
    "conv2d", "depthwise_conv", "rope", "ffn", "swiglu", "sdpa", "flash_attention", "mha", "gqa", "mqa",
    "conv_block", "decoder_llama", "decoder_t5",
]  # fmt: skip


def test_suite_order_levels_and_caps():
    tasks = all_tasks()
    assert [t.id for t in tasks] == PAPER_ORDER
    assert TASK_SET_VERSION == "kc-tasks-2"
    levels = [t.level for t in tasks]
    assert levels == [1] * 12 + [2] * 8 + [3] * 3
    assert {t.level: t.iteration_cap for t in tasks} == {1: 15, 2: 20, 3: 25}
    assert all(t.config_names == ("C1", "C2", "C3", "C4", "C5") for t in tasks)
    assert all(t.description and t.name and t.category for t in tasks)


def test_plena_supports_twenty_and_explains_the_rest():
    supported = [t.id for t in all_tasks() if t.supports("plena")]
    assert len(supported) == 20
    for task_id in ("conv2d", "depthwise_conv", "conv_block"):
        reason = get_task(task_id).unsupported_reason("plena")
        assert reason and "convolution" in reason
        with pytest.raises(TaskError, match="not supported"):
            get_task(task_id).params("plena", "C1")
    assert get_task("relu").unsupported_reason("plena") is None


def test_bad_names_are_clear_value_errors():
    with pytest.raises(ValueError, match="did you mean.*softmax"):
        get_task("softmx")
    with pytest.raises(ValueError, match="unknown platform 'tpu'.*plena"):
        get_task("relu").params("tpu", "C1")
    with pytest.raises(ValueError, match="unknown configuration 'C6'.*C1"):
        get_task("relu").params("plena", "C6")
    with pytest.raises(ValueError, match="unknown value profile"):
        get_task("relu").make_inputs("plena", "C1", 0, profile="huge")


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
def test_plena_configs_match_the_definition(task_id, config, params):
    assert get_task(task_id).params("plena", config) == params


def test_input_order_and_shapes():
    gqa = get_task("gqa")
    assert gqa.inputs("plena", "C2") == [
        ("x", (64, 256)),
        ("Wq", (256, 256)),
        ("Wk", (256, 128)),  # nkv * dh = 2 * 64
        ("Wv", (256, 128)),
        ("Wo", (256, 256)),
    ]
    assert get_task("gemv").inputs("plena", "C1") == [("A", (64, 512)), ("x", (1, 512))]
    assert get_task("gemv").output_shape("plena", "C1") == (1, 64)
    assert get_task("batch_matmul").output_shape("plena", "C2") == (4, 8, 128)
    names = [n for n, _ in get_task("decoder_t5").inputs("plena", "C1")]
    assert names == ["x", "enc", "Wq", "Wk", "Wv", "Wo", "Cq", "Ck", "Cv", "Co", "W1", "W2"]


def test_every_plena_cell_fits_the_io_contract():
    for task in all_tasks():
        if not task.supports("plena"):
            continue
        for config in task.config_names:
            for _, shape in task.inputs("plena", config):
                assert int(np.prod(shape)) % 8 == 0
            out = task.output_shape("plena", config)
            assert out[-1] % 64 == 0
            if task.dhead is not None and task.id not in ("sdpa", "flash_attention"):
                assert task.dhead(task.params("plena", config)) == 64


def test_fp_constants_have_every_slot_and_task_values():
    from kernelcraft.platforms.plena.layout import FP_SLOTS

    for task in all_tasks():
        if task.supports("plena"):
            assert set(task.fp_constants("plena", "C1")) == set(FP_SLOTS)
    ln = get_task("layernorm").fp_constants("plena", "C3")
    assert ln["eps"] == 1e-5 and ln["inv_hidden"] == 1 / 128
    assert get_task("rmsnorm").fp_constants("plena", "C1")["eps"] == 1e-6
    assert get_task("mha").fp_constants("plena", "C5")["inv_sqrt_dhead"] == 1 / 8
    assert get_task("sdpa").fp_constants("plena", "C2")["inv_sqrt_dhead"] == pytest.approx(1 / math.sqrt(128))
    c = get_task("gelu").fp_constants("plena", "C1")
    assert c["gelu_c1"] == pytest.approx(1.5957691) and c["gelu_c3"] == pytest.approx(0.0713548, rel=1e-5)
    assert c["neg_inf"] == -math.inf and c["one"] == 1.0 and c["half"] == 0.5 and c["zero"] == 0.0

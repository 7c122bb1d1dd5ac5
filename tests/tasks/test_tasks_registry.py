"""The suite's shape: 23 ML tasks in paper order, then 10 CPU tasks; configurations, forms, scalars, MACs."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.tasks import TASK_SET_VERSION, InputSpec, IntegerForm, Task, TaskError, all_tasks, get_task

PAPER_ORDER = [
    "silu", "relu", "gelu", "softmax", "layernorm", "rmsnorm", "gemv", "gemm", "batch_matmul", "linear",
    "conv2d", "depthwise_conv", "rope", "ffn", "swiglu", "sdpa", "flash_attention", "mha", "gqa", "mqa",
    "conv_block", "decoder_llama", "decoder_t5",
]  # fmt: skip
CPU_ORDER = ["multiply", "vvadd", "copy", "median", "dotprod", "qsort", "rsort", "towers", "dhrystone", "pmp"]


def test_suite_order_levels_and_caps():
    everything = all_tasks()
    assert [t.id for t in everything] == PAPER_ORDER + CPU_ORDER
    assert TASK_SET_VERSION == "kc-tasks-3"
    tasks = everything[: len(PAPER_ORDER)]
    levels = [t.level for t in tasks]
    assert levels == [1] * 12 + [2] * 8 + [3] * 3
    assert {t.level: t.iteration_cap for t in tasks} == {1: 15, 2: 20, 3: 25}
    assert all(tuple(t.default_configs) == ("C1", "C2", "C3", "C4", "C5") for t in tasks)
    assert all(t.description and t.name and t.category for t in tasks)


def test_tasks_name_no_platform():
    """Tasks hold math: shape tables and unsupported reasons belong to the platforms."""
    for task in all_tasks():
        assert not hasattr(task, "configs") and not hasattr(task, "unsupported")
        if task.id in CPU_ORDER:
            assert task.forms == ("integer",)
        else:
            assert task.forms[0] == "float" and set(task.forms) <= {"float", "integer"}


def test_bad_names_are_clear_value_errors():
    with pytest.raises(ValueError, match="did you mean.*softmax"):
        get_task("softmx")
    relu = get_task("relu")
    with pytest.raises(ValueError, match="unknown value profile"):
        relu.make_inputs_for(relu.default_configs["C1"], 0, profile="huge")
    rope = get_task("rope")
    with pytest.raises(TaskError, match="no integer form"):
        rope.make_inputs_for(rope.default_configs["C1"], 0, form="integer")


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
        ("conv2d", "C2", {"H": 8, "Cin": 8, "Cout": 8, "k": 3}),
        ("depthwise_conv", "C5", {"H": 16, "C": 32, "k": 5}),
    ],
)
def test_default_configs_match_the_definition(task_id, config, params):
    assert get_task(task_id).default_configs[config] == params


def test_input_order_and_shapes():
    gqa = get_task("gqa")
    assert gqa.inputs_for(gqa.default_configs["C2"]) == [
        ("x", (64, 256)),
        ("Wq", (256, 256)),
        ("Wk", (256, 128)),  # nkv * dh = 2 * 64
        ("Wv", (256, 128)),
        ("Wo", (256, 256)),
    ]
    gemv, bmm = get_task("gemv"), get_task("batch_matmul")
    assert gemv.inputs_for(gemv.default_configs["C1"]) == [("A", (64, 512)), ("x", (1, 512))]
    assert gemv.output_shape_for(gemv.default_configs["C1"]) == (1, 64)
    assert bmm.output_shape_for(bmm.default_configs["C2"]) == (4, 8, 128)
    t5 = get_task("decoder_t5")
    names = [n for n, _ in t5.inputs_for(t5.default_configs["C1"])]
    assert names == ["x", "enc", "Wq", "Wk", "Wv", "Wo", "Cq", "Ck", "Cv", "Co", "W1", "W2"]


def test_scalars_are_plain_math():
    ln, rms, mha, sdpa = (get_task(t) for t in ("layernorm", "rmsnorm", "mha", "sdpa"))
    assert ln.scalars_for(ln.default_configs["C3"]) == {"eps": 1e-5, "hidden": 128, "dhead": 128}
    assert rms.scalars_for(rms.default_configs["C1"])["eps"] == 1e-6
    assert mha.scalars_for(mha.default_configs["C5"])["dhead"] == 64
    assert sdpa.scalars_for(sdpa.default_configs["C2"])["dhead"] == 128


@pytest.mark.parametrize(
    "task_id, config, macs",
    [
        ("silu", "C1", 0),
        ("gemv", "C1", 64 * 512),
        ("gemm", "C2", 8 * 128 * 128),
        ("batch_matmul", "C1", 2 * 4 * 64 * 64),
        ("ffn", "C1", 2 * 4 * 64 * 128),
        ("swiglu", "C1", 3 * 4 * 64 * 128),
        ("sdpa", "C1", 2 * 32 * 32 * 64),
        # Wq, Wo: 2*S*H*H; Wk, Wv: 2*S*H*kv (kv = nkv*dh = 64); core: 2*S*S*H
        ("gqa", "C1", 2 * 32 * 128 * 128 + 2 * 32 * 128 * 64 + 2 * 32 * 32 * 128),
        ("decoder_llama", "C1", 4 * 32 * 64**2 + 2 * 32 * 32 * 64 + 3 * 32 * 64 * 128),
        ("conv2d", "C2", 8 * 8 * 8 * 8 * 9),
        ("depthwise_conv", "C1", 16 * 8 * 8 * 9),
    ],
)
def test_macs_are_a_task_property(task_id, config, macs):
    task = get_task(task_id)
    assert task.macs_for(task.default_configs[config]) == macs


def test_an_integer_form_draws_integers_and_references_exactly():
    """The integer form: int8 inputs per profile, an exact integer reference."""
    task = Task(
        id="toy_int_dot",
        name="Dot",
        level=1,
        category="Matrix",
        description="int8 dot product into int32",
        integer=IntegerForm(
            input_specs=(
                InputSpec("a", lambda p: (p["N"],), dtype="int8"),
                InputSpec("b", lambda p: (p["N"],), dtype="int8", int_range=(-3, 3)),
            ),
            output_rule=lambda p: (1,),
            compute=lambda v, p: np.array([np.dot(v["a"].astype(np.int64), v["b"].astype(np.int64))]),
            output_dtype="int32",
        ),
        default_configs={"C1": {"N": 4096}},
    )
    assert task.forms == ("integer",)
    params = task.default_configs["C1"]
    normal = task.make_inputs_for(params, 1, form="integer")
    assert normal["a"].dtype == np.int8 and normal["b"].min() >= -3 and normal["b"].max() <= 3
    large = task.make_inputs_for(params, 1, "large", form="integer")["a"]
    assert np.mean((large == -128) | (large == 127)) > 0.4  # mostly at the extremes
    near = task.make_inputs_for(params, 1, "near_zero", form="integer")["a"]
    assert set(np.unique(near)) <= {-1, 0, 1}
    ref = task.reference(normal, params, form="integer")
    assert ref.dtype == np.int32
    assert int(ref[0]) == sum(int(x) * int(y) for x, y in zip(normal["a"], normal["b"], strict=True))
    with pytest.raises(TaskError, match="no float form"):
        task.reference(normal, params)


@pytest.mark.parametrize("profile", ["normal", "large", "small", "near_zero", "mixed_signs"])
@pytest.mark.parametrize("int_range", [(16, 100), (-100, -16), (0, 255), (1, 1), (-128, 127)])
def test_integer_profiles_stay_inside_any_range(profile, int_range):
    from kernelcraft.tasks.base import draw_integers

    values = draw_integers((500,), "int16", int_range, np.random.default_rng(3), profile)
    assert values.min() >= int_range[0] and values.max() <= int_range[1]
    if profile == "near_zero":
        nearest = min(range(int_range[0], int_range[1] + 1), key=abs)
        assert abs(int(np.abs(values).min())) == abs(nearest)

"""How each task runs on the tile: its stages (kernel entry labels and the tiles they are
called on), the tensors it starts from, and how the output is read out.

The plan is the harness side of the I/O contract: the prompt states it, the harness runs it,
and the baseline compiles one kernel per stage entry from it. Composite tasks are sequences
of stages whose intermediate results (bf16) go back to the memory tile between stages, as a
multi-kernel IRON design would stage them; the column slices of attention heads are strided
DMA transfers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .harness import EltwiseStage, MatmulStage, RopeStage, RowStage, Stage, Tensors


@dataclass
class Plan:
    stages: list[Stage]
    output: Callable[[Tensors], np.ndarray]  # tensors after the run -> the task's output array
    prepare: Callable[[Tensors], None] | None = None  # derived inputs the DMA delivers (e.g. GEMV's x block)
    notes: tuple[str, ...] = ()


def _mm(entry: str, a: str, b: str, out: str, M: int, K: int, N: int, **kw) -> MatmulStage:
    return MatmulStage(entry, a, b, out, M, K, N, **kw)


def _2d(t: Tensors, name: str) -> np.ndarray:
    x = t[name]
    return x.reshape(x.shape[-2], x.shape[-1]) if x.ndim == 3 and x.shape[0] == 1 else x


def _attention(
    stages: list[Stage],
    t_in: str,
    kv_in: str,
    S: int,
    H: int,
    nh: int,
    nkv: int,
    wq: str,
    wk: str,
    wv: str,
    wo: str,
    out: str,
    prefix: str,
    residual: str | None = None,
) -> None:
    """Projections, per-head scores / softmax / P.V, output projection (optionally + residual)."""
    dh = H // nh
    group = nh // nkv
    q, k, v, heads = f"{prefix}Q", f"{prefix}K", f"{prefix}V", f"{prefix}O"
    stages += [
        _mm("proj_q", t_in, wq, q, S, H, H),
        _mm("proj_kv", kv_in, wk, k, S, H, nkv * dh),
        _mm("proj_kv", kv_in, wv, v, S, H, nkv * dh),
    ]
    kv_of = [h // group for h in range(nh)]

    def gather(t: Tensors) -> None:
        """Strided DMA: every head's columns of Q, and of its kv head's K and V, one after another."""
        qq, kk, vv = _2d(t, q), _2d(t, k), _2d(t, v)
        t[f"{prefix}qh"] = np.stack([qq[:, h * dh : (h + 1) * dh] for h in range(nh)])
        t[f"{prefix}kh"] = np.stack([kk[:, g * dh : (g + 1) * dh] for g in kv_of])
        t[f"{prefix}vh"] = np.stack([vv[:, g * dh : (g + 1) * dh] for g in kv_of])

    def scatter(t: Tensors) -> None:
        o = t[f"{prefix}oh"]
        t[heads] = np.concatenate([o[h] for h in range(nh)], axis=1)

    stages.append(
        _mm(
            "scores",
            f"{prefix}qh",
            f"{prefix}kh",
            f"{prefix}s",
            S,
            dh,
            S,
            batch=nh,
            epilogue="scale",
            b_transposed=True,
            pre=gather,
        )
    )
    stages.append(RowStage("softmax", f"{prefix}s", f"{prefix}p", S, S, kind="softmax", batch=nh))
    stages.append(_mm("pv", f"{prefix}p", f"{prefix}vh", f"{prefix}oh", S, S, dh, batch=nh, post=scatter))
    if residual is None:
        stages.append(_mm("proj_o", heads, wo, out, S, H, H))
    else:
        stages.append(_mm("proj_o_add", heads, wo, out, S, H, H, epilogue="add", epi=residual))


def plan_for(task_id: str, p: dict[str, int]) -> Plan:
    if task_id in ("relu", "silu", "gelu"):
        n = p["R"] * p["H"]
        return Plan(
            [EltwiseStage("kernel", "x", "y", n, kind=task_id)], lambda t: t["y"].reshape(p["R"], p["H"])
        )
    if task_id in ("softmax", "layernorm", "rmsnorm"):
        return Plan([RowStage("kernel", "x", "y", p["R"], p["H"], kind=task_id)], lambda t: t["y"])
    if task_id == "rope":
        return Plan([RopeStage("kernel", p["S"], p["D"])], lambda t: t["y"])
    if task_id == "gemm":
        return Plan([_mm("kernel", "X", "W", "Y", p["M"], p["K"], p["N"])], lambda t: t["Y"][0])
    if task_id == "linear":
        return Plan(
            [_mm("kernel", "X", "W", "Y", p["M"], p["K"], p["N"], epilogue="bias", epi="b")],
            lambda t: t["Y"][0],
        )
    if task_id == "batch_matmul":
        return Plan([_mm("kernel", "X", "W", "Y", p["M"], p["K"], p["N"], batch=p["B"])], lambda t: t["Y"])
    if task_id == "gemv":

        def gemv_prepare(t: Tensors) -> None:
            xb = np.zeros((p["N"], 4), dtype=np.float32)
            xb[:, 0] = t["x"].reshape(-1)
            t["xcol"] = xb

        return Plan(
            [_mm("kernel", "A", "xcol", "Y", p["M"], p["N"], 4)],
            lambda t: t["Y"][0][:, 0].reshape(1, p["M"]),
            gemv_prepare,
            (
                "GEMV runs as the matmul contract with N = 4: the DMA delivers x as the B operand's column 0 "
                "(columns 1..3 are zero); y is column 0 of the output tile (columns 1..3 are ignored).",
            ),
        )
    if task_id == "ffn":
        N, H, I = p["N"], p["H"], p["I"]
        return Plan(
            [
                _mm("ffn_up", "x", "W1", "Hs", N, H, I, epilogue="silu"),
                _mm("ffn_down", "Hs", "W2", "Y", N, I, H),
            ],
            lambda t: t["Y"][0],
        )
    if task_id == "swiglu":
        N, H, I = p["N"], p["H"], p["I"]
        return Plan(
            [
                _mm("gate", "x", "Wg", "G", N, H, I, epilogue="silu"),
                _mm("up", "x", "Wu", "U", N, H, I, epilogue="mul", epi="G"),
                _mm("down", "U", "Wd", "Y", N, I, H),
            ],
            lambda t: t["Y"][0],
        )
    if task_id == "sdpa":
        S, D = p["S"], p["D"]
        return Plan(
            [
                _mm("scores", "Q", "K", "Sc", S, D, S, epilogue="scale", b_transposed=True),
                RowStage("softmax", "Sc", "P", S, S, kind="softmax"),
                _mm("pv", "P", "V", "Y", S, S, D),
            ],
            lambda t: t["Y"][0],
        )
    if task_id in ("mha", "gqa", "mqa"):
        stages: list[Stage] = []
        _attention(
            stages, "x", "x", p["S"], p["H"], p["nh"], p.get("nkv", p["nh"]), "Wq", "Wk", "Wv", "Wo", "Y", ""
        )
        return Plan(stages, lambda t: _2d(t, "Y"))
    if task_id == "decoder_llama":
        S, H, nh, I = p["S"], p["H"], p["nh"], p["I"]
        stages = [RowStage("rmsnorm", "x", "n1", S, H, kind="rmsnorm")]
        _attention(stages, "n1", "n1", S, H, nh, nh, "Wq", "Wk", "Wv", "Wo", "h", "a_", residual="x")
        stages += [
            RowStage("rmsnorm", "h", "n2", S, H, kind="rmsnorm"),
            _mm("gate", "n2", "Wg", "G", S, H, I, epilogue="silu"),
            _mm("up", "n2", "Wu", "U", S, H, I, epilogue="mul", epi="G"),
            _mm("down_add", "U", "Wd", "Y", S, I, H, epilogue="add", epi="h"),
        ]
        return Plan(stages, lambda t: _2d(t, "Y"))
    if task_id == "decoder_t5":
        S, H, nh, I = p["S"], p["H"], p["nh"], p["I"]
        stages = [RowStage("rmsnorm", "x", "n1", S, H, kind="rmsnorm")]
        _attention(stages, "n1", "n1", S, H, nh, nh, "Wq", "Wk", "Wv", "Wo", "h1", "a_", residual="x")
        stages.append(RowStage("rmsnorm", "h1", "n2", S, H, kind="rmsnorm"))
        _attention(stages, "n2", "enc", S, H, nh, nh, "Cq", "Ck", "Cv", "Co", "h2", "c_", residual="h1")
        stages += [
            RowStage("rmsnorm", "h2", "n3", S, H, kind="rmsnorm"),
            _mm("ffn_up", "n3", "W1", "R", S, H, I, epilogue="relu"),
            _mm("ffn_down_add", "R", "W2", "Y", S, I, H, epilogue="add", epi="h2"),
        ]
        return Plan(stages, lambda t: _2d(t, "Y"))
    raise NotImplementedError(f"no harness plan for task {task_id} on the AIE tile")

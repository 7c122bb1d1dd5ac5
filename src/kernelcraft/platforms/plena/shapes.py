"""Which tasks PLENA runs, at which shapes (the paper's Table 12), and why it skips the others.

Table 12 is the task suite's default C1..C5 shapes, so PLENA takes each task's defaults;
a test checks them against the table. The case-study task get_transfer_index (ISA co-design,
the paper's Appendix G) runs at its one configuration, the paper's batch 2, length 64,
vocabulary 256, k 8.
"""

from __future__ import annotations

from functools import cache

from ...tasks import all_tasks, case_study_tasks

UNSUPPORTED = {
    task_id: "the PLENA ISA has no convolution support; im2col would need gather DMA it lacks"
    for task_id in ("conv2d", "depthwise_conv", "conv_block")
}


@cache
def shape_table() -> dict[str, dict[str, dict[str, int]]]:
    return {
        task.id: {name: dict(params) for name, params in task.default_configs.items()}
        for task in [*all_tasks(), *case_study_tasks()]
        if task.id not in UNSUPPORTED and task.has_form("float")
    }

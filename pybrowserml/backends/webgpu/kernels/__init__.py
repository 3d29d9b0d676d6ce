"""The WebGPU op table: one module per kernel family (shaders/<family>.wgsl holds its shaders).

Each module's ``make_table(rt)`` returns {kernel name: callable} for the kernels it implements; the
wrappers compute shapes and geometry in Python, allocate the output and make one dispatch (or a few).
"""

from __future__ import annotations

import importlib

from ...kernel_names import merge_tables

FAMILIES = ("elementwise", "gemm", "conv", "depthwise", "pooling", "norm", "loss", "optim", "shape", "remap")


def make_table(rt) -> dict:
    """The merged op table of every family for the runtime `rt`."""
    return merge_tables(
        {family: importlib.import_module(f"{__package__}.{family}").make_table(rt) for family in FAMILIES}
    )


__all__ = ["FAMILIES", "make_table"]

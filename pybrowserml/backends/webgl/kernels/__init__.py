"""The WebGL op table: one module per kernel family (shaders/<family>.glsl holds its fragment shaders).

FAMILIES is the one register-all list. Each module's ``make_table(rt)`` returns {kernel name: callable}
for the kernels it implements; the wrappers compute shapes and geometry in Python, allocate the output
and make one draw (or a few). Kernels not in the table run on numpy, per op
(tests/conformance/expected_fallbacks/webgl.txt lists them).
"""

from __future__ import annotations

import importlib

from ...kernel_names import merge_tables

# shape first: the other families use its transpose, broadcast and cast; elementwise before loss and
# the convolutions, which sum with its column sum.
FAMILIES = ("shape", "elementwise", "gemm", "conv", "depthwise", "pooling", "norm", "loss", "optim", "remap")


def make_table(rt) -> dict:
    """The merged op table of every family for the runtime `rt`."""
    return merge_tables(
        {family: importlib.import_module(f"{__package__}.{family}").make_table(rt) for family in FAMILIES}
    )


__all__ = ["FAMILIES", "make_table"]

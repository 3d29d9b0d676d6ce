"""The numpy backend's op table: one module per kernel family, merged into one table.

FAMILIES is the one register-all list: a family module added here (with its name in
backends/kernel_names.py) is part of the backend; merge_tables refuses a name registered twice.
"""

from __future__ import annotations

from ...kernel_names import family_name, merge_tables
from . import conv, depthwise, elementwise, gemm, loss, norm, optim, pooling, remap, shape

FAMILIES = (gemm, conv, depthwise, pooling, norm, loss, optim, shape, elementwise, remap)
KERNELS = merge_tables({family_name(module): module.KERNELS for module in FAMILIES})

__all__ = ["FAMILIES", "KERNELS"]

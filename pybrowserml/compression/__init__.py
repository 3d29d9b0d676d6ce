"""Making trained models smaller and faster: magnitude pruning, channel pruning, distillation.

```
model.fit(x, y, callbacks=[PruneLowMagnitude(0.8, begin_step=0, end_step=2000)])  # 80% zeros, kept by save_json
small = prune_channels(model, keep=0.6); small.compile(...); small.fit(x, y)        # fewer channels: fewer MACs
distill([student_a, student_b], teacher, x, y, temperature=4.0, alpha=0.1)         # one teacher pass, students packed
count_macs(model)                                                                  # multiply-accumulates per image
```
"""

from .distillation import distill, distill_async, distillation_loss
from .macs import count_macs
from .packed import NotPackable, PackedStudents, pack_students
from .pruning import PolynomialSparsity, PruneLowMagnitude, prunable_weights, sparsity
from .structured import channels_for_macs, prune_channels

__all__ = [
    "PruneLowMagnitude",
    "PolynomialSparsity",
    "prunable_weights",
    "sparsity",
    "prune_channels",
    "channels_for_macs",
    "count_macs",
    "distill",
    "distill_async",
    "distillation_loss",
    "pack_students",
    "PackedStudents",
    "NotPackable",
]

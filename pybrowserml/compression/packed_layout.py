"""Where every student's channels sit in a packed tensor (students side by side along the channels).

A layout lists, per student, the (start, width) segments of the packed channels that hold that student's
channels, in the student's own order. A layer that writes a new tensor (a conv, the dense head) puts the
students side by side ([s1 | s2 | s3]); a concat of packed tensors keeps its parts side by side, so a
student's channels are then one segment per part ([x1 x2 x3 | y1 y2 y3]: the concat is the plain one, which
the kernels read in place, and each student's share is two segments); per-channel layers keep the layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    segments: tuple  # per student: ((start, width), ...), the student's channels in its own order
    width: int  # channels of the packed tensor

    @classmethod
    def side_by_side(cls, widths) -> Layout:
        segments, start = [], 0
        for width in widths:
            segments.append(((start, int(width)),))
            start += int(width)
        return cls(tuple(segments), start)

    @classmethod
    def concat(cls, layouts) -> Layout:
        """The layout of the plain concat of tensors of these layouts (parts side by side)."""
        students = len(layouts[0].segments)
        segments, offset = [[] for _ in range(students)], 0
        for layout in layouts:
            for student, parts in enumerate(layout.segments):
                for start, width in parts:
                    previous = segments[student][-1] if segments[student] else None
                    if previous is not None and previous[0] + previous[1] == offset + start:
                        segments[student][-1] = (previous[0], previous[1] + width)  # adjacent: one segment
                    else:
                        segments[student].append((offset + start, width))
            offset += layout.width
        return cls(tuple(tuple(s) for s in segments), offset)

    def repeated(self, multiplier: int) -> Layout:
        """The layout after a depthwise conv with this depth multiplier (channel c -> c*m .. c*m + m - 1)."""
        m = int(multiplier)
        return Layout(tuple(tuple((s * m, w * m) for s, w in parts) for parts in self.segments), self.width * m)

    def student_widths(self) -> list[int]:
        return [sum(w for _, w in parts) for parts in self.segments]

    def channels(self, student: int) -> np.ndarray:
        """The packed index of each of the student's channels, in its order."""
        return np.concatenate([np.arange(s, s + w) for s, w in self.segments[student]])

    def is_side_by_side(self) -> bool:
        return self == Layout.side_by_side(self.student_widths())

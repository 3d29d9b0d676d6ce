"""The group description of the grouped dense kernels (block-diagonal products), checked once for every backend.

``groups`` is a sequence of ``(segments, units)``, one entry per group, in the order of the output columns:
group g reads the input columns of its ``segments`` (``(start, width)`` pairs, in that order: its K_g
input features) and writes the next ``units`` output columns. The weight is one flat array holding every
group's (K_g, units_g) block, row-major, one after another. Segments never overlap, so each input column
belongs to at most one group (one not read by any group gets a zero gradient).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    segments: tuple  # ((start, width), ...): the input columns, in the order of the weight block's rows
    units: int  # output columns
    in_features: int  # K_g, the sum of the segments' widths
    out_start: int  # first output column
    w_start: int  # first entry of the weight block in the flat weight


@dataclass(frozen=True)
class GroupPlan:
    groups: tuple
    in_features: int  # columns of the input (all groups' segments lie inside)
    units: int  # output columns (all groups)
    weight_size: int  # entries of the flat weight

    @property
    def covers_input(self) -> bool:
        """Whether the segments cover every input column (else the input gradient has zero columns)."""
        return sum(g.in_features for g in self.groups) == self.in_features


def _int(value, what, kernel):
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise ValueError(f"{kernel}: {what} must be an int, got {value!r}")
    return int(value)


def normalize_groups(groups, kernel="grouped_dense") -> tuple:
    """`groups` as nested tuples of ints ((((start, width), ...), units), ...), hashable; a clear error
    when it is not of that form."""
    try:
        entries = list(groups)
    except TypeError:
        raise ValueError(f"{kernel}: groups must be a list of (segments, units) pairs, got {groups!r}") from None
    if not entries:
        raise ValueError(f"{kernel}: groups is empty; give at least one (segments, units) pair")
    result = []
    for i, entry in enumerate(entries):
        try:
            segments, units = entry
            segments = tuple(
                (_int(s, "a segment start", kernel), _int(w, "a segment width", kernel)) for s, w in segments
            )
        except (TypeError, ValueError) as error:
            if isinstance(error, ValueError) and str(error).startswith(kernel):
                raise
            raise ValueError(f"{kernel}: group {i} must be (((start, width), ...), units), got {entry!r}") from None
        result.append((segments, _int(units, "units", kernel)))
    return tuple(result)


def group_plan(groups, in_features, weight_size=None, kernel="grouped_dense") -> GroupPlan:
    """The checked plan of `groups` over inputs of `in_features` columns (and a flat weight of
    `weight_size` entries, when given)."""
    groups = normalize_groups(groups, kernel)
    planned, taken, out_start, w_start = [], [], 0, 0
    for i, (segments, units) in enumerate(groups):
        if units < 1:
            raise ValueError(f"{kernel}: group {i} has {units} units; every group needs at least one")
        if not segments:
            raise ValueError(f"{kernel}: group {i} reads no input columns; give it at least one (start, width)")
        for start, width in segments:
            if width < 1 or start < 0 or start + width > in_features:
                raise ValueError(
                    f"{kernel}: group {i} reads columns {start}:{start + width}, outside the input's "
                    f"{in_features} columns (or empty)"
                )
            taken.append((start, start + width, i))
        k = sum(width for _, width in segments)
        planned.append(Group(segments, units, k, out_start, w_start))
        out_start += units
        w_start += k * units
    taken.sort()
    for (_, stop, a), (start, _, b) in zip(taken, taken[1:]):
        if start < stop:
            raise ValueError(
                f"{kernel}: groups {a} and {b} both read input column {start}; a column belongs to one group"
            )
    if weight_size is not None and weight_size != w_start:
        raise ValueError(
            f"{kernel}: the weight has {weight_size} entries, the groups need {w_start} "
            "(every group's (K, units) block, one after another)"
        )
    return GroupPlan(tuple(planned), in_features, out_start, w_start)

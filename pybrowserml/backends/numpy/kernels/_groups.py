"""The groups of the grouped dense kernels (block-diagonal products), checked once for every backend."""

# `groups` is a sequence of (segments, units), one entry per group, in the order of the output columns:
# group g reads the input columns of its segments ((start, width) pairs, in that order: its K_g input
# features) and writes the next `units` output columns. The weight is one flat array holding every group's
# (K_g, units_g) block, row-major, one after another. Segments never overlap, so each input column belongs
# to at most one group (one no group reads gets a zero gradient).

from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np


class Group(NamedTuple):
    segments: tuple  # ((start, width), ...): the input columns, in the order of the weight block's rows
    units: int  # output columns
    in_features: int  # K_g, the sum of the segments' widths
    out_start: int  # first output column
    w_start: int  # first entry of the weight block in the flat weight


class GroupPlan(NamedTuple):
    groups: tuple
    in_features: int  # columns of the input
    units: int  # output columns of all groups
    weight_size: int  # entries of the flat weight


def _index(value):
    if isinstance(value, (bool, float)):
        raise TypeError
    return operator.index(value)


def normalize_groups(groups, kernel="grouped_dense") -> tuple:
    # `groups` as nested tuples of ints (hashable), or a clear error.
    try:
        result = tuple(
            (tuple((_index(s), _index(w)) for s, w in segments), _index(units)) for segments, units in groups
        )
    except (TypeError, ValueError):
        raise ValueError(f"{kernel}: groups must be (((start, width), ...), units) per group, got {groups!r}") from None
    if not result:
        raise ValueError(f"{kernel}: groups is empty")
    return result


def group_plan(groups, in_features, weight_size=None, kernel="grouped_dense") -> GroupPlan:
    # The checked plan of `groups` over inputs of `in_features` columns (and a flat weight of
    # `weight_size` entries, when given).
    planned, taken, out_start, w_start = [], [], 0, 0
    for i, (segments, units) in enumerate(normalize_groups(groups, kernel)):
        if units < 1 or not segments:
            raise ValueError(f"{kernel}: group {i} needs at least one unit and one (start, width) of input")
        for start, width in segments:
            if width < 1 or start < 0 or start + width > in_features:
                raise ValueError(f"{kernel}: group {i} reads {start}:{start + width}, not in the {in_features} inputs")
            taken.append((start, start + width, i))
        k = sum(width for _, width in segments)
        planned.append(Group(segments, units, k, out_start, w_start))
        out_start += units
        w_start += k * units
    taken.sort()
    for (_, stop, a), (start, _, b) in zip(taken, taken[1:]):
        if start < stop:
            raise ValueError(f"{kernel}: groups {a} and {b} both read input {start}")
    if weight_size is not None and weight_size != w_start:
        raise ValueError(f"{kernel}: the weight has {weight_size} entries, the groups need {w_start}")
    return GroupPlan(tuple(planned), in_features, out_start, w_start)


def block_indices(plan: GroupPlan):
    # (rows, cols): where each entry of the flat weight sits in the block-diagonal (in_features, units) matrix.
    rows, cols = [], []
    for g in plan.groups:
        inputs = np.concatenate([np.arange(start, start + width) for start, width in g.segments])
        rows.append(np.repeat(inputs, g.units))
        cols.append(np.tile(np.arange(g.out_start, g.out_start + g.units), g.in_features))
    return np.concatenate(rows), np.concatenate(cols)

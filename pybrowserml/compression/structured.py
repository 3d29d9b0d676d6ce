"""Channel pruning: a smaller functional model with the highest-ranked channels of each conv kept.

Each prunable Conv2D (every Conv2D but the model's output layer; with the pointwise convs of dense
blocks and separable convs) keeps the `keep` fraction of its output channels with the largest L1 norm
of their filters. The kept channels are followed through the graph (depthwise convs, batch norm,
pooling and activations keep them; Concatenate offsets them) so that every consumer keeps exactly the
matching input channels, and the weights of the kept channels are copied into a model built from the
same config with the new widths. The result is a plain, smaller model (fewer params and MACs, faster on
every backend); fine-tune it with compile + fit.
"""

from __future__ import annotations

import numpy as np

from ..layers.conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from ..layers.core import Concatenate, Dense, Flatten
from ..layers.normalization import BatchNormalization
from ..models import model_from_config
from .macs import count_macs


def kept_count(channels, fraction, multiple_of):
    """How many of `channels` are kept: `fraction` of them rounded to a multiple of `multiple_of`
    (the wasm GEMM computes 8 output channels per register tile, so other widths waste a partial tile), at least one multiple, at most all."""
    count = multiple_of * int(round(fraction * channels / multiple_of))
    return min(channels, max(count, multiple_of, 1))


def _ranked(kernel, fraction, multiple_of):
    """Indices (sorted) of the output channels kept: the largest L1 norms of the filters (last axis)."""
    norms = np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)
    count = kept_count(kernel.shape[-1], fraction, multiple_of)
    return np.sort(np.argsort(-norms, kind="stable")[:count])


def _conv(weights, in_idx, keep, prune):
    # Ranked on the whole filters (as trained), not only on the inputs that survive upstream pruning.
    out_idx = _ranked(weights[0], *keep) if prune else np.arange(weights[0].shape[-1])
    kernel = weights[0][:, :, in_idx, :]
    return [kernel[..., out_idx], *[b[out_idx] for b in weights[1:]]], out_idx


def _depthwise(weights, in_idx, multiplier):
    out_idx = (in_idx[:, None] * multiplier + np.arange(multiplier)).ravel()
    return [weights[0][:, :, in_idx, :], *[b[out_idx] for b in weights[1:]]], out_idx


def _slice_layer(layer, weights, in_idx, keep, prune):
    """-> (weights of the smaller layer, kept output channels, config changes)."""
    if isinstance(layer, SeparableConv2D):
        depthwise = weights[:1]
        pointwise = weights[1:]
        dw, mid_idx = _depthwise(depthwise, in_idx, layer.depthwise.depth_multiplier)
        pw, out_idx = _conv(pointwise, mid_idx, keep, prune)
        return dw + pw, out_idx, {"filters": len(out_idx)}
    if isinstance(layer, Conv2D):
        new, out_idx = _conv(weights, in_idx, keep, prune)
        return new, out_idx, {"filters": len(out_idx)}
    if isinstance(layer, DepthwiseConv2D):
        new, out_idx = _depthwise(weights, in_idx, layer.depth_multiplier)
        return new, out_idx, {}
    if isinstance(layer, BatchNormalization):
        return [w[in_idx] for w in weights], in_idx, {}
    if isinstance(layer, Dense):
        return [weights[0][in_idx, :], *weights[1:]], np.arange(layer.units), {}
    if isinstance(layer, Flatten):
        raise NotImplementedError(
            "prune_channels: Flatten mixes channels with positions; end the conv part with "
            "GlobalAveragePooling2D (as zoo.dense_block_cnn does) to prune channels"
        )
    if weights:
        raise NotImplementedError(f"prune_channels: layer {layer.name!r} ({type(layer).__name__}) is not supported")
    return [], in_idx, {}


def prune_channels(model, keep=0.5, layers=None, multiple_of=8):
    """A new, smaller model keeping the `keep` fraction (0 < keep <= 1) of the output channels of each
    prunable Conv2D (or only of the layers named in `layers`), rounded to a multiple of `multiple_of`,
    with the kept weights copied; the new model is uncompiled. The model's output layer is never pruned
    (its outputs are the classes)."""
    if not hasattr(model, "_nodes") or not hasattr(model, "_input"):
        raise TypeError("prune_channels needs a functional pybrowserml Model (e.g. pybrowserml.zoo.dense_block_cnn)")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"prune_channels: keep must be in (0, 1], got {keep}")
    if not isinstance(multiple_of, int) or multiple_of < 1:
        raise ValueError(f"prune_channels: multiple_of must be an int >= 1, got {multiple_of!r}")
    names = {layer.name for layer in model.layers}
    for name in layers or ():
        if name not in names:
            raise ValueError(f"prune_channels: no layer named {name!r} in model {model.name!r}")
    kept = {id(model._input): np.arange(model.input_shape[-1])}
    new_weights, changes = {}, {}
    for node in model._nodes:
        layer = node.layer
        parent_kept = [kept[id(p)] for p in node.parents]
        if isinstance(layer, Concatenate):
            offsets = np.cumsum([0] + [p.shape[-1] for p in node.parents[:-1]])
            kept[id(node)] = np.concatenate([idx + off for idx, off in zip(parent_kept, offsets)])
            continue
        prune = node is not model._output and (layers is None or layer.name in layers)
        weights, out_idx, change = _slice_layer(layer, layer.get_weights(), parent_kept[0], (keep, multiple_of), prune)
        kept[id(node)] = out_idx
        new_weights[layer.name] = weights
        if change:
            changes[layer.name] = change
    config = model.get_config()
    for entry in config["config"]["layers"]:
        entry["config"].update(changes.get(entry["config"]["name"], {}))
    config["config"]["name"] = f"{model.name}_pruned"
    smaller = model_from_config(config)
    for layer in smaller.layers:
        if layer.weights:
            layer.set_weights(new_weights[layer.name])
    return smaller


def channels_for_macs(model, target_fraction, layers=None, multiple_of=8, tolerance=0.01):
    """The `keep` fraction whose pruned model has about `target_fraction` of the model's MACs (bisection
    on the MACs of the pruned models; with `multiple_of` > 1 the widths move in steps, so the result is
    the closest reachable below or above)."""
    if not 0.0 < target_fraction <= 1.0:
        raise ValueError(f"channels_for_macs: target_fraction must be in (0, 1], got {target_fraction}")
    full = count_macs(model)
    lo, hi = 0.0, 1.0
    for _ in range(20):
        mid = (lo + hi) / 2
        ratio = count_macs(prune_channels(model, mid, layers, multiple_of)) / full
        if abs(ratio - target_fraction) <= tolerance:
            return mid
        lo, hi = (mid, hi) if ratio < target_fraction else (lo, mid)
    return (lo + hi) / 2

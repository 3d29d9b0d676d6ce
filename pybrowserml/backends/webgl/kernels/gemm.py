"""matmul and dense (shaders/gemm.glsl), with the transposes, the bias and the activation folded in.

A GEMM with K >= PACK_MIN_K packs both operands first into RGBA32F textures of four consecutive k per
texel (A's rows, B's columns: two small draws), then takes vec4 dot products: two fetches per four
multiply-adds instead of two per one (measured 2.5x on a 512^3 GEMM on SwiftShader; texture fetches
bound it); with BLOCK_MIN_N columns or more, each fragment computes four columns (five fetches per
sixteen multiply-adds), and with BLOCK4_MIN_M rows too a 4x4 block (eight per 64: the rows' four quarters
as render targets, then copied into place), with BLOCK8_MIN_M rows and eight render targets an 8x4 block
(twelve per 128); the result is unpacked. Weights and filters stay packed until written (pack's keep).
A^T B without bias or activation (the weight gradients) sums 4x4 outer products of both operands packed
as stored, in parts over k. Smaller K: one draw reading the operands as they are."""

from __future__ import annotations

from ...kernel_names import FUSED_ACTIVATIONS
from ..runtime import RGBA32F

PACK_MIN_K = 8
# Packed GEMMs of at least this many columns compute four columns per fragment (one more draw: the unpack).
BLOCK_MIN_N = 8
# ... and with this many rows too, four rows as well (4x4 blocks: the quarters then copied into place).
BLOCK4_MIN_M = 64
# ... and with this many rows, eight where a draw can write eight render targets (8x4 blocks).
BLOCK8_MIN_M = 128
# A^T B (the weight gradients: k = the pixels of a batch, m * n small) as outer products of 4x4 blocks
# summed in parts: about this many fragments, each part summing at least OUTER_MIN_CHUNK rows.
OUTER_FRAGMENTS = 8192
OUTER_MIN_CHUNK = 32


def outer_split(k: int, blocks: int) -> tuple[int, int]:
    """(parts, chunk): k rows summed in `parts` chunks of `chunk` for each of `blocks` 4x4 blocks."""
    parts = max(1, min(OUTER_FRAGMENTS // max(blocks, 1), k // OUTER_MIN_CHUNK))
    chunk = -(-k // parts)
    return -(-k // chunk), chunk


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    pipe = rt.program("gemm", "gemm")
    pack_pipe = rt.program("gemm", "pack4")
    packed_pipe = rt.program("gemm", "gemm_packed")
    packed4_pipe = rt.program("gemm", "gemm_packed4")
    block4_pipe = rt.program("gemm", "gemm_block4")
    eight_targets = int(rt.js.maxDrawBuffers) >= 8
    block8_pipe = rt.program("gemm", "gemm_block8") if eight_targets else None

    def packed_twin(a):
        """The packed texture holding a's values in its flat order (four per texel), if a came from a
        deferred unpack and was not written since (the JS side forgets the twin then), else None."""
        owner = a if a.base is None else a.base
        if owner.packed is not None and owner.packed.size == a.size and rt.js.twin(a.id) == owner.packed.id:
            return owner.packed
        return None

    rt.packed_twin = packed_twin  # column sums read it too (kernels/elementwise.py)

    def interleave(out4, parts, rows, row_texels):
        """out4 (rows of row_texels texels) from `parts` of `rows` rows each, part k its rows k * rows ...:
        copied into place, no draw (the runtime's placeParts)."""
        rt.js.placeParts(out4.id, rows * row_texels, *(p.id for p in parts))

    rt.interleave = interleave  # the four-pixel kernels' quarters too (kernels/conv.py)

    def pack(a, rows, k, row_stride, k_stride, keep=False):
        """The (rows, k) operand whose element (r, j) is a's flat r * row_stride + j * k_stride, packed.
        keep: remember the packing until `a` is written (weights and filters: packed once for every
        predict, and once per training step)."""
        kp = -(-k // 4)
        if row_stride == k and k_stride == 1 and rows * k == a.size and k % 4 == 0:
            # rows of 4k values packed are a's flat order: a deferred unpack's twin is this packing
            twin = packed_twin(a)
            if twin is not None:
                return twin, kp
        owner = a if a.base is None else a.base
        key = f"{rows},{k},{row_stride},{k_stride}"
        if keep and owner.packs is not None:
            kept = owner.packs.get(key)
            if kept is not None and rt.js.recalledPack(a.id, key) == kept.id:
                return kept, kp
        packed = empty((rows * kp, 4), a.dtype, RGBA32F)
        draw(pack_pipe, packed.id, a.id, kp, k, row_stride, k_stride)
        if keep:
            if owner.packs is None:
                owner.packs = {}
            owner.packs[key] = packed
            rt.js.rememberPack(a.id, key, packed.id)
        return packed, kp

    unpack_pipe = rt.program("gemm", "unpack4")

    def unpack(packed, shape, k):
        """A new array of `shape` from `packed`: rows of k elements packed by pack (rows of ceil(k/4) texels).
        With 4 | k the packed texture holds the array in its flat order: the unpack draw is deferred until
        something reads the array as R32F, and a pack of the same rows (the next GEMM's or depthwise's
        operand) takes the packed texture as it is (two draws fewer per depthwise-then-pointwise layer)."""
        out = empty(shape, packed.dtype)
        if out.size:
            if k % 4 == 0 and packed.size == out.size:
                out.packed = packed
                rt.js.deferUnpack(out.id, unpack_pipe, packed.id, k, k // 4)
            else:
                draw(unpack_pipe, out.id, packed.id, k, -(-k // 4))
        return out

    rt.pack, rt.unpack = pack, unpack  # the depthwise kernels pack along channels too

    outer_pipe = rt.program("gemm", "outer4")
    outer_sum_pipe = rt.program("gemm", "outer_sum4")

    def gemm_outer(a, b, m, n, k):
        """A^T B for stored a (k, m), b (k, n): both packed along their rows as they are stored (a deferred
        unpack's packed twin serves as is), 4x4 blocks of outer products in parts, then the parts' sum."""
        a4, m4 = pack(a, k, m, m, 1)
        b4, n4 = pack(b, k, n, n, 1)
        parts, chunk = outer_split(k, m4 * n4)
        partials = [empty((parts * m4 * n4, 4), a.dtype, RGBA32F) for _ in range(4)]
        draw(outer_pipe, *(r.id for r in partials), a4.id, b4.id, m4, n4, k, chunk)
        out4 = empty((m * n4, 4), a.dtype, RGBA32F)
        draw(outer_sum_pipe, out4.id, *(r.id for r in partials), n4, parts, m4 * n4)
        return unpack(out4, (m, n), n)

    def gemm(a, b, bias, m, n, k, ta, tb, act):
        if m and n and k >= PACK_MIN_K and ta and not tb and bias is None and act == 0:
            return gemm_outer(a, b, m, n, k)
        if m and n and k >= PACK_MIN_K:
            a4, kp = pack(a, m, k, 1 if ta else k, m if ta else 1)
            b4, _ = pack(b, n, k, k if tb else 1, 1 if tb else n, keep=True)
            has_bias = 0 if bias is None else 1
            bias_id = rt.dummy_id if bias is None else bias.id
            if n >= BLOCK_MIN_N and m >= BLOCK4_MIN_M:  # 4x4 or 8x4 blocks in parts of the rows, copied together
                parts = 8 if m >= BLOCK8_MIN_M and eight_targets else 4
                mq, n4 = -(-m // parts), -(-n // 4)
                outs = [empty((mq * n4, 4), a.dtype, RGBA32F) for _ in range(parts)]
                block_pipe = block8_pipe if parts == 8 else block4_pipe
                draw(block_pipe, *(q.id for q in outs), a4.id, b4.id, bias_id, m, mq, n, n4, kp, has_bias, act)
                out4 = empty((m * n4, 4), a.dtype, RGBA32F)
                interleave(out4, outs, mq, n4)
                return unpack(out4, (m, n), n)
            if n >= BLOCK_MIN_N:  # four columns per fragment, then unpacked
                n4 = -(-n // 4)
                out4 = empty((m * n4, 4), a.dtype, RGBA32F)
                draw(packed4_pipe, out4.id, a4.id, b4.id, bias_id, n, n4, kp, has_bias, act)
                return unpack(out4, (m, n), n)
            out = empty((m, n), a.dtype)
            draw(packed_pipe, out.id, a4.id, b4.id, bias_id, n, kp, has_bias, act)
            return out
        out = empty((m, n), a.dtype)
        if out.size:
            if k == 0:
                rt.js.fill(out.id, 0)  # an empty sum (then the bias and activation, on the rare k = 0)
                if bias is None and act == 0:
                    return out
            has_bias = 0 if bias is None else 1
            draw(pipe, out.id, a.id, b.id, rt.dummy_id if bias is None else bias.id, m, n, k, ta, tb, has_bias, act)
        return out

    rt.gemm = gemm  # pointwise convolutions are GEMMs (kernels/conv.py)

    def matmul(a, b, transpose_a=False, transpose_b=False):
        if a.ndim != 2 or b.ndim != 2 or a.dtype.name != "float32" or b.dtype.name != "float32":
            return rt.fallback("matmul", (a, b), {"transpose_a": transpose_a, "transpose_b": transpose_b})
        m, k = a.shape[::-1] if transpose_a else a.shape
        kb, n = b.shape[::-1] if transpose_b else b.shape
        if k != kb:
            raise ValueError(
                f"matmul: shapes {a.shape}{'^T' if transpose_a else ''} and "
                f"{b.shape}{'^T' if transpose_b else ''} do not fit ({k} != {kb})"
            )
        return gemm(a, b, None, m, n, k, int(transpose_a), int(transpose_b), 0)

    def dense(x, w, b=None, activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None:
            raise ValueError(f"unknown fused activation {activation!r}: use None, 'relu' or 'relu6'")
        if x.ndim < 1 or w.ndim != 2 or x.shape[-1] != w.shape[0]:
            raise ValueError(
                f"dense: input {x.shape} and kernel {w.shape} do not fit (a 2-d kernel whose "
                "rows match the input's last axis)"
            )
        if x.ndim == 2:
            return gemm(x, w, b, x.shape[0], w.shape[1], x.shape[1], 0, 0, act)
        # over the last axis: the leading axes are rows of one GEMM
        rows = x.size // x.shape[-1]
        out = gemm(rt.view(x, (rows, x.shape[-1])), w, b, rows, w.shape[1], x.shape[-1], 0, 0, act)
        return rt.view(out, x.shape[:-1] + (w.shape[1],))

    return {"matmul": matmul, "dense": dense}

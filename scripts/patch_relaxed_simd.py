#!/usr/bin/env python3
"""Rewrite clang 14's prototype `f32x4.fma` into the final relaxed-SIMD `f32x4.relaxed_madd`.

Debian's clang/LLVM 14 compiles `__builtin_wasm_fma_f32x4(a, b, c)` (with -mrelaxed-simd) to the
relaxed-SIMD proposal's PROTOTYPE opcode `f32x4.fma` = 0xfd 0xaf 0x01 (LEB128 of 0xaf). The
standardised proposal, which browsers implement (Chromium since 114), renumbered it:
`f32x4.relaxed_madd` = 0xfd 0x85 0x02 (LEB128 of 0x105), computing a * b + c (one rounding or two)
for the operand stack [a, b, c], the same order in which clang pushes the builtin's arguments.
Both encodings are 3 bytes, so the module is patched in place: no offset, size or branch changes.

The instructions are located by disassembly (llvm-objdump-14 -d), never by a byte search: the
three bytes fd af 01 can occur inside other instructions' immediates or in data. Every mismatch
fails loudly: a disassembled `f32x4.fma` whose bytes are not fd af 01, any other instruction the
plain build (`--reference`) does not contain (another prototype relaxed opcode clang 14 might
emit, e.g. `f32x4.fms` or `laneselect`, whose final numbers differ), or an undecodable byte.

usage: patch_relaxed_simd.py IN.wasm OUT.wasm --reference PLAIN.wasm [--objdump llvm-objdump-14]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

PROTOTYPE = "f32x4.fma"
PROTOTYPE_BYTES = bytes([0xFD, 0xAF, 0x01])  # 0xfd prefix, LEB128(0xaf)
FINAL_BYTES = bytes([0xFD, 0x85, 0x02])  # 0xfd prefix, LEB128(0x105): f32x4.relaxed_madd
CODE_SECTION_ID = 10

# "     9: fd af 01     \tf32x4.fma" -> offset (hex, from the code section's payload), bytes, text
_LINE = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{2} )+)\s*(.*)$")


class PatchError(RuntimeError):
    pass


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise PatchError("truncated LEB128 in the section headers")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def code_payload_offset(data: bytes) -> int:
    """File offset of the code section's payload (where llvm-objdump's offsets start)."""
    if data[:8] != b"\0asm\x01\0\0\0":
        raise PatchError("not a WebAssembly version 1 module")
    pos = 8
    found = None
    while pos < len(data):
        section_id = data[pos]
        size, payload = _leb128(data, pos + 1)
        if section_id == CODE_SECTION_ID:
            if found is not None:
                raise PatchError("two code sections")
            found = payload
        pos = payload + size
    if pos != len(data):
        raise PatchError("section sizes do not add up to the file size")
    if found is None:
        raise PatchError("no code section")
    return found


def disassemble(path: Path, objdump: str) -> list[tuple[int, bytes, str]]:
    """(offset in the code payload, encoded bytes, mnemonic) of every instruction."""
    out = subprocess.run([objdump, "-d", str(path)], check=True, capture_output=True, text=True).stdout
    instructions = []
    for line in out.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        text = m.group(3).strip()
        mnemonic = text.split()[0] if text else ""
        instructions.append((int(m.group(1), 16), bytes.fromhex(m.group(2)), mnemonic))
    if not instructions:
        raise PatchError(f"{objdump} disassembled no instruction of {path}")
    return instructions


def patch(src: Path, dst: Path, reference: Path, objdump: str = "llvm-objdump-14") -> int:
    """Write src with every f32x4.fma re-encoded as f32x4.relaxed_madd to dst; returns the count."""
    data = bytearray(src.read_bytes())
    base = code_payload_offset(bytes(data))
    instructions = disassemble(src, objdump)
    allowed = {mnemonic for _, _, mnemonic in disassemble(reference, objdump)} | {PROTOTYPE}
    problems = []
    sites = []
    for offset, encoded, mnemonic in instructions:
        if not mnemonic or mnemonic.startswith("<") or mnemonic not in allowed:
            problems.append(f"code+0x{offset:x}: {encoded.hex(' ')} {mnemonic or '(undecoded)'}")
        elif mnemonic == PROTOTYPE:
            at = base + offset
            if encoded != PROTOTYPE_BYTES or bytes(data[at : at + 3]) != PROTOTYPE_BYTES:
                problems.append(
                    f"code+0x{offset:x}: {PROTOTYPE} encoded as {encoded.hex(' ')}, "
                    f"file has {bytes(data[at : at + 3]).hex(' ')}, expected {PROTOTYPE_BYTES.hex(' ')}"
                )
            sites.append(at)
    if problems:
        raise PatchError(
            f"{src}: {len(problems)} instruction(s) this patcher does not handle:\n  " + "\n  ".join(problems[:20])
        )
    if not sites:
        raise PatchError(f"{src}: no {PROTOTYPE} instruction: was it built with PB_RELAXED_SIMD?")
    for at in sites:
        data[at : at + 3] = FINAL_BYTES
    dst.write_bytes(bytes(data))
    try:
        _check_patched(src, dst, data, base, instructions, sites, objdump)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    return len(sites)


def _check_patched(src, dst, data, base, instructions, sites, objdump):
    # the patched module must disassemble to the same instructions at the same offsets except
    # the patched ones (llvm-objdump 14 predates the final numbering: it shows them as <unknown>),
    # and differ from the input in exactly 2 bytes per patched instruction
    after = disassemble(dst, objdump)
    patched = {at - base for at in sites}
    if len(after) != len(instructions):
        raise PatchError(f"{dst}: {len(after)} instructions after patching, {len(instructions)} before")
    for (offset, encoded, mnemonic), (offset2, encoded2, mnemonic2) in zip(instructions, after):
        expected = (offset, FINAL_BYTES) if offset in patched else (offset, encoded)
        if (offset2, encoded2) != expected or (offset not in patched and mnemonic2 != mnemonic):
            raise PatchError(
                f"{dst}: code+0x{offset:x} disassembles as {encoded2.hex(' ')} {mnemonic2} "
                f"after patching (was {encoded.hex(' ')} {mnemonic})"
            )
    changed = sum(a != b for a, b in zip(src.read_bytes(), data))
    if changed != 2 * len(sites) or len(data) != src.stat().st_size:
        raise PatchError(f"{dst}: {changed} bytes changed for {len(sites)} instructions (expected 2 each)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument(
        "--reference",
        type=Path,
        required=True,
        help="the same sources built without relaxed SIMD: the instructions allowed besides f32x4.fma",
    )
    parser.add_argument("--objdump", default="llvm-objdump-14")
    args = parser.parse_args(argv)
    try:
        count = patch(args.src, args.dst, args.reference, args.objdump)
    except (PatchError, subprocess.CalledProcessError, OSError) as error:
        print(f"[patch_relaxed_simd] error: {error}", file=sys.stderr)
        return 1
    print(f"[patch_relaxed_simd] {args.dst.name}: {count} f32x4.fma -> f32x4.relaxed_madd")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The relaxed-SIMD build step (scripts/patch_relaxed_simd.py) and the modules it produced.

clang 14 encodes __builtin_wasm_fma_f32x4 with the relaxed-SIMD proposal's prototype opcode
(f32x4.fma, 0xfd 0xaf 0x01); browsers implement the final f32x4.relaxed_madd (0xfd 0x85 0x02). The
patcher finds the instructions by disassembly and must refuse anything it does not understand.
Whether the result validates and computes a * b + c is checked in Chromium
(tests/browser/test_wasm_relaxed_simd.py)."""

import shutil
import subprocess
from pathlib import Path

import patch_relaxed_simd as patcher
import pytest

from pybrowserml.backends.wasm.runtime import RELAXED_SIMD_PROBE, module_name

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "pybrowserml" / "backends" / "wasm" / "_build"
OBJDUMP = "llvm-objdump-14"
needs_objdump = pytest.mark.skipif(shutil.which(OBJDUMP) is None, reason=f"{OBJDUMP} not installed (llvm-14)")
needs_clang = pytest.mark.skipif(
    shutil.which("clang") is None or shutil.which("wasm-ld") is None, reason="clang/lld not installed"
)

SOURCE = r"""
#include <wasm_simd128.h>
__attribute__((export_name("madd"))) void madd(float *o, const float *a, const float *b, const float *c) {
  wasm_v128_store(o, MADD(wasm_v128_load(a), wasm_v128_load(b), wasm_v128_load(c)));
}
"""
PLAIN = "-DMADD(a,b,c)=wasm_f32x4_add(wasm_f32x4_mul(a,b),c)"


def _compile(tmp_path, name, *flags):
    src = tmp_path / "madd.c"
    src.write_text(SOURCE)
    out = tmp_path / name
    subprocess.run(
        [
            "clang",
            "--target=wasm32",
            "-O2",
            "-ffreestanding",
            "-nostdlib",
            "-msimd128",
            *flags,
            "-Wl,--no-entry",
            "-o",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    return out


def _disassembly(path):
    return subprocess.run([OBJDUMP, "-d", str(path)], check=True, capture_output=True, text=True).stdout


@needs_clang
@needs_objdump
def test_the_prototype_fma_is_reencoded_in_place(tmp_path):
    plain = _compile(tmp_path, "plain.wasm", PLAIN)
    relaxed = _compile(tmp_path, "relaxed.wasm", "-mrelaxed-simd", "-DMADD=__builtin_wasm_fma_f32x4")
    out = tmp_path / "patched.wasm"
    assert patcher.patch(relaxed, out, reference=plain, objdump=OBJDUMP) == 1
    before, after = relaxed.read_bytes(), out.read_bytes()
    assert len(before) == len(after)
    changed = [i for i, (x, y) in enumerate(zip(before, after)) if x != y]
    assert len(changed) == 2 and changed[1] == changed[0] + 1
    at = changed[0] - 1
    assert before[at : at + 3] == bytes([0xFD, 0xAF, 0x01]) and after[at : at + 3] == bytes([0xFD, 0x85, 0x02])
    assert "f32x4.fma" in _disassembly(relaxed) and "f32x4.fma" not in _disassembly(out)


@needs_clang
@needs_objdump
def test_the_patcher_refuses_what_it_does_not_know(tmp_path):
    plain = _compile(tmp_path, "plain.wasm", PLAIN)
    # another prototype relaxed instruction (f32x4.fms), whose final number this patcher does not map
    fms = _compile(tmp_path, "fms.wasm", "-mrelaxed-simd", "-DMADD=__builtin_wasm_fms_f32x4")
    with pytest.raises(patcher.PatchError, match="f32x4.fms"):
        patcher.patch(fms, tmp_path / "out.wasm", reference=plain, objdump=OBJDUMP)
    # a module without any fma: built without PB_RELAXED_SIMD
    with pytest.raises(patcher.PatchError, match="no f32x4.fma"):
        patcher.patch(plain, tmp_path / "out.wasm", reference=plain, objdump=OBJDUMP)
    assert not (tmp_path / "out.wasm").exists()
    with pytest.raises(patcher.PatchError, match="not a WebAssembly"):
        patcher.code_payload_offset(b"\0asm\x02\0\0\0")


@needs_objdump
@pytest.mark.parametrize("threads", [1, 2])
def test_the_shipped_relaxed_modules_hold_only_final_opcodes(threads):
    plain, relaxed = BUILD / module_name(threads, False), BUILD / module_name(threads, True)
    if not relaxed.exists():
        pytest.fail(f"{relaxed.name} is missing: run scripts/build")
    plain_text, relaxed_text = _disassembly(plain), _disassembly(relaxed)
    assert "f32x4.fma" not in relaxed_text and "<unknown>" not in plain_text
    # llvm-objdump 14 predates the final numbering: every relaxed_madd shows as <unknown>
    unknown = [line for line in relaxed_text.splitlines() if "<unknown>" in line]
    assert unknown and all("fd 85 02" in line for line in unknown)
    assert len(unknown) >= 100  # GEMM micro-kernels (inlined several times), depthwise loops, the peak loop


def test_the_runtime_probe_is_one_relaxed_madd_and_module_names_follow_the_build():
    assert patcher.code_payload_offset(RELAXED_SIMD_PROBE) == len(RELAXED_SIMD_PROBE) - 13
    assert RELAXED_SIMD_PROBE.endswith(bytes([0xFD, 0x85, 0x02, 0x0B]))
    assert [module_name(t, r) for t in (1, 4) for r in (False, True)] == [
        "kernels.wasm",
        "kernels_relaxed.wasm",
        "kernels_threads.wasm",
        "kernels_threads_relaxed.wasm",
    ]

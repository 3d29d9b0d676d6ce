"""The kernel vocabulary (backends/kernel_names.py): numpy's table is exactly it, family by family; merging
family tables refuses duplicates and unknown names; every kernel name the package runs is in it (read
from the source, and recorded while the reference model trains); the activation codes match the C header."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import backends
from pybrowserml.backends.kernel_names import (
    FUSED_ACTIVATIONS,
    GRAD_ACTIVATIONS,
    INPLACE_KERNELS,
    KERNEL_NAMES,
    KERNELS_BY_FAMILY,
    DuplicateKernelError,
    family_name,
    merge_tables,
)
from pybrowserml.backends.numpy import NUMPY, NumpyBackend
from pybrowserml.backends.numpy.kernels import FAMILIES

PACKAGE = Path(pb.__file__).parent
REPO = PACKAGE.parent
# the wasm C header defining the ACT_* codes: its place inside the wasm package first, then the older one
C_HEADER = PACKAGE / "backends/wasm/csrc/pb.h"
# backend methods (x.run(NAME, ...)) and functions (run_kernel(NAME, ...)) whose first argument is a kernel name
KERNEL_NAME_METHODS = {"run", "has"}
KERNEL_NAME_FUNCTIONS = {"run_kernel"}


# -- the numpy table ---------------------------------------------------------------------------------


def test_numpy_table_is_the_vocabulary():
    assert set(NUMPY.kernels) == KERNEL_NAMES
    assert all(callable(kernel) for kernel in NUMPY.kernels.values())


def test_every_family_module_registers_exactly_its_family():
    assert [family_name(module) for module in FAMILIES] == list(KERNELS_BY_FAMILY)
    for module in FAMILIES:
        assert sorted(module.KERNELS) == sorted(KERNELS_BY_FAMILY[family_name(module)]), module.__name__


def test_inplace_kernels_name_their_list_arguments():
    for name, arguments in INPLACE_KERNELS.items():
        assert name in KERNEL_NAMES
        parameters = NUMPY.kernels[name].__code__.co_varnames
        assert set(arguments) <= set(parameters), name


# -- merging family tables ---------------------------------------------------------------------------


def test_merge_tables_refuses_a_name_registered_by_two_families():
    def kernel():
        return None

    with pytest.raises(DuplicateKernelError, match="'reshape' is registered by both the 'shape' and the 'gemm'"):
        merge_tables({"shape": {"reshape": kernel}, "gemm": {"matmul": kernel, "reshape": kernel}})


def test_merge_tables_refuses_a_name_outside_the_vocabulary():
    with pytest.raises(KeyError, match="kernel 'conv3d' \\(family 'conv'\\) is not in backends/kernel_names.py"):
        merge_tables({"conv": {"conv2d": print, "conv3d": print}})


def test_merge_tables_keeps_every_kernel_of_disjoint_families():
    merged = merge_tables({family_name(module): module.KERNELS for module in FAMILIES})
    assert merged == NUMPY.kernels


# -- every name the package runs: read from the source -----------------------------------------------


class _KernelNameScan(ast.NodeVisitor):
    """Kernel names at `x.run(NAME, ...)`-like calls of one module.

    NAME is a string literal, or a parameter of an enclosing function (optionally + a literal suffix, as
    ops._conv_like builds kind + "_grad_input"): then the names are the literals that function is called
    with in the same module. A method of the same name forwarding its own argument (Backend.run) is not a
    use. Anything else is unresolved, so a new way of naming kernels cannot hide from this test."""

    def __init__(self, tree, where):
        self.where = where
        self.names: set[str] = set()
        self.unresolved: list[str] = []
        self._functions: list[ast.FunctionDef] = []
        self._calls_by_function: dict[str, list[ast.Call]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                self._calls_by_function.setdefault(node.func.id, []).append(node)
        self.visit(tree)

    def visit_FunctionDef(self, node):
        self._functions.append(node)
        self.generic_visit(node)
        self._functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        func = node.func
        method = func.attr if isinstance(func, ast.Attribute) else None
        function = func.id if isinstance(func, ast.Name) else None
        if node.args and (method in KERNEL_NAME_METHODS or function in KERNEL_NAME_FUNCTIONS):
            self._record(node.args[0], method or function, node.lineno)
        self.generic_visit(node)

    def _record(self, argument, method, line):
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            self.names.add(argument.value)
            return
        suffix = ""
        if (
            isinstance(argument, ast.BinOp)
            and isinstance(argument.op, ast.Add)
            and isinstance(argument.right, ast.Constant)
            and isinstance(argument.right.value, str)
        ):
            argument, suffix = argument.left, argument.right.value
        if isinstance(argument, ast.Name):
            for function in reversed(self._functions):
                parameters = [a.arg for a in function.args.posonlyargs + function.args.args]
                if argument.id not in parameters:
                    continue
                if function.name == method and not suffix:
                    return  # a forwarder: its callers are the uses
                prefixes = self._literals_passed(function.name, parameters.index(argument.id), argument.id)
                if prefixes:
                    self.names.update(prefix + suffix for prefix in prefixes)
                    return
                break
        self.unresolved.append(f"{self.where}:{line}: {ast.unparse(argument)}")

    def _literals_passed(self, function, index, keyword):
        literals = set()
        for call in self._calls_by_function.get(function, ()):
            given = (
                call.args[index]
                if index < len(call.args)
                else next((k.value for k in call.keywords if k.arg == keyword), None)
            )
            if isinstance(given, ast.Constant) and isinstance(given.value, str):
                literals.add(given.value)
        return literals


def scan_kernel_names(root=PACKAGE):
    """{kernel name: first place it is used}, and the places whose kernel name could not be resolved."""
    used, unresolved = {}, []
    for path in sorted(root.rglob("*.py")):
        where = str(path.relative_to(root.parent))
        scan = _KernelNameScan(ast.parse(path.read_text(encoding="utf-8")), where)
        for name in scan.names:
            used.setdefault(name, where)
        unresolved += scan.unresolved
    return used, unresolved


def test_every_kernel_name_in_the_source_is_in_the_vocabulary():
    used, unresolved = scan_kernel_names()
    assert not unresolved, f"kernel names this test cannot read (use a literal): {unresolved}"
    unknown = {name: where for name, where in used.items() if name not in KERNEL_NAMES}
    assert not unknown, f"kernels run but missing from backends/kernel_names.py: {unknown}"
    # the scan reaches the names built from parameters: ops._unary and ops._conv_like
    assert {"exp", "tanh", "conv2d_grad_input", "depthwise_conv2d_grad_filter", "adam_update"} <= set(used)


def test_the_scan_sees_literals_built_names_and_unresolvable_ones(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        "def _conv(kind, x):\n"
        "    return be.run(kind, x), be.run(kind + '_grad', x)\n"
        "def conv(x):\n"
        "    return _conv('convolve', x)\n"
        "def run(self, kernel_name):\n"
        "    return super().run(kernel_name)\n"
        "def other(name, run):\n"
        "    return be.has('bogus') or run_kernel('direct') or run(name) or be.run(name)\n",
        encoding="utf-8",
    )
    used, unresolved = scan_kernel_names(tmp_path / "pkg")
    assert set(used) == {"convolve", "convolve_grad", "bogus", "direct"}
    assert unresolved == ["pkg/mod.py:8: name"]


# -- every name the package runs: recorded while the reference model trains ---------------------------


class RecordingNumpyBackend(NumpyBackend):
    """The numpy backend, remembering every kernel name it is asked to run."""

    def __init__(self):
        super().__init__()
        self.ran: set[str] = set()

    def run(self, kernel_name, *args, **attrs):
        self.ran.add(kernel_name)
        return super().run(kernel_name, *args, **attrs)


def test_training_predicting_and_evaluating_the_reference_model_runs_only_vocabulary_kernels(monkeypatch):
    recorder = RecordingNumpyBackend()
    monkeypatch.setattr(backends, "_current", recorder)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
    y = rng.integers(0, 10, 16).astype(np.int32)
    shift = pb.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=0)
    model = pb.zoo.dense_block_cnn(seed=0, augmentation=[shift])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, validation_split=0.25)
    model.predict(x[:4], verbose=0)
    model.evaluate(x, y, batch_size=8, verbose=0)

    assert recorder.ran - KERNEL_NAMES == set()
    # the steps really ran through the recorder: forward, backward, loss, optimizer, augmentation
    assert {
        "conv2d_grad_filter",
        "depthwise_conv2d_grad_input",
        "softmax_xent_grad",
        "adam_update",
        "count_correct",
        "remap_pixels",
    } <= recorder.ran


# -- activation codes ---------------------------------------------------------------------------------


def _header_activation_codes():
    header = C_HEADER
    codes = {
        name.lower(): int(code)
        for name, code in re.findall(r"^#define ACT_(\w+) (\d+)", header.read_text(), re.MULTILINE)
    }
    assert codes, f"no ACT_* defines in {header}"
    return codes


def _by_header_name(activations):
    return {"none" if name in (None, "linear") else name: code for name, code in activations.items()}


def test_activation_codes_match_the_c_header():
    assert _by_header_name(GRAD_ACTIVATIONS) == _header_activation_codes()
    assert FUSED_ACTIVATIONS.items() <= GRAD_ACTIVATIONS.items()


def test_missing_kernels_lists_what_a_backend_hands_to_numpy():
    assert NUMPY.missing_kernels() == []
    partial = NumpyBackend()
    partial.kernels = {name: NUMPY.kernels[name] for name in KERNELS_BY_FAMILY["gemm"]}
    assert partial.missing_kernels() == sorted(KERNEL_NAMES - set(KERNELS_BY_FAMILY["gemm"]))

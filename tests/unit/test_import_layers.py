"""The package's import layering: a module imports only from its own layer or the layers below it (at
the top of the file and inside functions alike), and no two modules import each other at import time.

The layers, lowest first. Each entry is a module or package prefix; the longest prefix wins.
- platform: the browser probe, storage, geometry, the seeded generator, the version: no engine inside.
- backends: device arrays and kernels (the per-op numpy fallback lives here too).
- tensor: the autograd engine over a backend; ops: differentiable computations on tensors.
- layers: layers and their initializers; validation checks user input against a model's layers.
- losses, metrics, optimizers, schedules: what compile takes.
- callbacks: hooks the loops call; they talk to the model only through its public methods.
- training: the trainer, the epoch iterator and the one sync/async driver of step generators.
- data: dataset loaders, driven by training's driver in CPython (they need no model).
- models: the graph (functional, Sequential, config) with the Trainer mixed in.
- io: saving and loading, which rebuilds models from their configs (so it sits above models).
- compression: pruning and distillation, which train models and rebuild smaller ones from configs.
- zoo: ready-made models; debug: checks that train a model; the package root re-exports everything.
- cli: the `pybrowserml` command, on top of the public API (the package root never imports it).
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "pybrowserml"

LAYERS = [
    [
        "pybrowserml._version",
        "pybrowserml.browser",
        "pybrowserml.storage",
        "pybrowserml.geometry",
        "pybrowserml.random",
    ],
    ["pybrowserml.backends"],
    ["pybrowserml.tensor"],
    ["pybrowserml.ops"],
    ["pybrowserml.initializers", "pybrowserml.layers", "pybrowserml.validation", "pybrowserml.input_scaling"],
    ["pybrowserml.losses", "pybrowserml.metrics", "pybrowserml.optimizers", "pybrowserml.schedules"],
    ["pybrowserml.callbacks"],
    ["pybrowserml.training"],
    ["pybrowserml.data"],
    ["pybrowserml.models"],
    ["pybrowserml.io"],
    ["pybrowserml.compression"],
    ["pybrowserml.zoo"],
    ["pybrowserml.debug"],
    ["pybrowserml"],
    ["pybrowserml.cli", "pybrowserml.__main__"],
]

# (importer, imported): the only upward imports, each inside a function so that importing the lower
# module never imports the upper one. Model.save_json and the size line of Model.summary are Keras's
# conveniences for io.save_json / io.quantization_report.
UPWARD_CALLS = {("pybrowserml.models.functional", "pybrowserml.io")}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom) -> list[str]:
    """The package modules an import statement loads (a `from package import submodule` names the submodule)."""
    if node.level:
        is_package = MODULES[importer].name == "__init__.py"
        base = importer.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("pybrowserml"):
        return []
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]


def imports(module: str):
    """(imported module, at import time?) for every package import in `module`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            targets = resolve(module, node)
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("pybrowserml")]
        else:
            continue
        for target in targets:
            yield target, id(node) in top_level


def layer_of(module: str) -> int:
    matches = [
        (len(prefix), index)
        for index, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    if not matches:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in this test")
    return max(matches)[1]


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_never_go_up_a_layer(module):
    upward = sorted(
        {
            target
            for target, _ in imports(module)
            if layer_of(target) > layer_of(module) and (module, target) not in UPWARD_CALLS
        }
    )
    assert upward == [], f"{module} (layer {layer_of(module)}) imports from higher layers: {upward}"


def test_declared_upward_calls_are_lazy_and_still_needed():
    for importer, imported in UPWARD_CALLS:
        found = [at_import for target, at_import in imports(importer) if target == imported]
        assert found, f"{importer} no longer imports {imported}: drop it from UPWARD_CALLS"
        assert not any(found), f"{importer} imports {imported} at import time: only a call may reach up"


def test_no_import_cycles():
    graph = {m: sorted({t for t, at_import in imports(m) if at_import and t != m and t in MODULES}) for m in MODULES}
    state, path = {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in graph[module]:
            if state.get(target) == "open":
                cycle = path[path.index(target) :] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in MODULES:
        if module not in state:
            visit(module)


def test_the_scan_sees_function_level_imports():
    assert ("pybrowserml.io", False) in set(imports("pybrowserml.models.functional"))
    assert ("pybrowserml.models", True) in set(imports("pybrowserml.io.saving"))

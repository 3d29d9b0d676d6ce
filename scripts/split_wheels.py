"""Splits the package (as scripts/slim_sources.py left it) into the source trees of the wheels a page
downloads (called by scripts/build, which runs `python -m build` in each tree).

- the core wheel `pybrowserml`: everything but the browser backends' folders and the command line (API, numpy
  backend, io, data, ...), built with the repository's pyproject.toml less its `[project.scripts]`;
- the command line's wheel `pybrowserml-cli` (Requires-Dist pybrowserml==the same version): `pybrowserml/cli/`
  and the `pybrowserml` command. Only CPython runs it (it drives Chromium and serves files), so a page that
  installs the core does not download it;
- one add-on wheel per browser backend, `pybrowserml-backend-<name>` (Requires-Dist pybrowserml==the same
  version), holding only `pybrowserml/backends/<name>/`, so it installs into the place the registry imports it
  from. Its package data are the repository pyproject's entries for that folder.

The core carries the table of the add-ons' wheel file names (`backends/_build/addons.json`, read by
backends/addons.py when a page creates a backend whose add-on is not installed), and the dist folder gets
`latest.json` naming every wheel (the core as "wheel", the backends' add-ons under "addons", the command
line's wheel as "cli").

Usage: split_wheels.py SLIM_SOURCE_DIR TARGET_DIR (TARGET must not exist). SLIM_SOURCE_DIR holds pybrowserml/;
TARGET_DIR gets one tree per wheel (core/, cli/, backend-wasm/, ...) and latest.json.
"""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADDON_BACKENDS = ("wasm", "webgl", "webgpu")
CLI_DISTRIBUTION = "pybrowserml-cli"
ADDONS_TABLE = "backends/_build/addons.json"
# What the add-on's METADATA says instead of a README (a page downloads the metadata with the wheel).
_ADDON_DESCRIPTION = (
    "The {name} backend of pybrowserml, as an add-on wheel: it installs pybrowserml/backends/{name}/ beside "
    "the core package (pybrowserml), which installs it on demand in the browser when a page creates the "
    "backend. See pybrowserml's README."
)
_CLI_DESCRIPTION = (
    "The pybrowserml command (train in headless Chromium, serve, bench, inspect), as its own wheel beside the "
    "core package (pybrowserml), which browser pages install without it. See pybrowserml's README."
)


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def wheel_name(distribution: str, version: str) -> str:
    return f"{distribution.replace('-', '_')}-{version}-py3-none-any.whl"


def addon_distribution(backend: str) -> str:
    return f"pybrowserml-backend-{backend}"


def _toml_list(items) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"  # a JSON string of ASCII is a TOML string


def _part_pyproject(config: dict, distribution: str, summary: str, description: str, package: str, extra=()) -> str:
    """The pyproject.toml of a wheel holding only `package` (and its subpackages) beside the core."""
    meta = config["project"]
    data = {key: value for key, value in config["tool"]["setuptools"]["package-data"].items() if key == package}
    lines = [
        "[build-system]",
        f"requires = {_toml_list(config['build-system']['requires'])}",
        f"build-backend = {json.dumps(config['build-system']['build-backend'])}",
        "",
        "[project]",
        f"name = {json.dumps(distribution)}",
        f"version = {json.dumps(meta['version'])}",
        f"description = {json.dumps(summary)}",
        f'readme = {{text = {json.dumps(description)}, content-type = "text/plain"}}',
        f"requires-python = {json.dumps(meta['requires-python'])}",
        f"license = {json.dumps(meta['license'])}",
        f"license-files = {_toml_list(meta['license-files'])}",
        f"dependencies = {_toml_list(['pybrowserml==' + meta['version']])}",
        f"classifiers = {_toml_list(meta['classifiers'])}",
        *extra,
        "",
        "[tool.setuptools.packages.find]",
        f"include = {_toml_list([package, package + '.*'])}",
        "",
        "[tool.setuptools.package-data]",
        *(f"{json.dumps(key)} = {_toml_list(value)}" for key, value in data.items()),
    ]
    return "\n".join(lines) + "\n"


def addon_pyproject(backend: str, config: dict) -> str:
    return _part_pyproject(
        config,
        addon_distribution(backend),
        f"The {backend} backend of pybrowserml (an add-on wheel).",
        _ADDON_DESCRIPTION.format(name=backend),
        f"pybrowserml.backends.{backend}",
    )


def cli_pyproject(config: dict) -> str:
    scripts = config["project"]["scripts"]
    return _part_pyproject(
        config,
        CLI_DISTRIBUTION,
        "The pybrowserml command line (a wheel beside the core).",
        _CLI_DESCRIPTION,
        "pybrowserml.cli",
        extra=["", "[project.scripts]", *(f"{name} = {json.dumps(target)}" for name, target in scripts.items())],
    )


def core_pyproject(text: str) -> str:
    """The repository's pyproject.toml without its [project.scripts] table (the command is the CLI wheel's)."""
    lines, kept, skipping = text.splitlines(keepends=True), [], False
    for line in lines:
        if line.startswith("["):
            skipping = line.strip() == "[project.scripts]"
        if not skipping:
            kept.append(line)
    result = "".join(kept)
    if "scripts" in tomllib.loads(result)["project"]:
        raise SystemExit("split_wheels: the core's pyproject still names scripts")
    return result


def split(slim_dir: Path, target_dir: Path) -> dict:
    config = project()
    version = config["project"]["version"]
    package = slim_dir / "pybrowserml"
    missing = [name for name in ADDON_BACKENDS if not (package / "backends" / name / "__init__.py").is_file()]
    if missing:
        raise SystemExit(f"split_wheels: no backend folder {missing} in {package / 'backends'}")
    target_dir.mkdir(parents=True)
    core = target_dir / "core"
    backends = package / "backends"

    def not_in_core(folder, names):
        if Path(folder) == backends:
            return [n for n in names if n in ADDON_BACKENDS]
        return ["cli"] if Path(folder) == package else []

    shutil.copytree(package, core / "pybrowserml", ignore=not_in_core)
    cli = target_dir / "cli"
    shutil.copytree(package / "cli", cli / "pybrowserml" / "cli")
    (cli / "pyproject.toml").write_text(cli_pyproject(config))
    shutil.copy(REPO / "LICENSE", cli / "LICENSE")
    addons = {}
    for backend in ADDON_BACKENDS:
        tree = target_dir / f"backend-{backend}"
        shutil.copytree(package / "backends" / backend, tree / "pybrowserml" / "backends" / backend)
        (tree / "pyproject.toml").write_text(addon_pyproject(backend, config))
        shutil.copy(REPO / "LICENSE", tree / "LICENSE")
        addons[backend] = wheel_name(addon_distribution(backend), version)
    (core / "pyproject.toml").write_text(core_pyproject((REPO / "pyproject.toml").read_text()))
    shutil.copy(REPO / "LICENSE", core / "LICENSE")
    table = core / "pybrowserml" / ADDONS_TABLE
    table.parent.mkdir(parents=True)
    table.write_text(json.dumps(addons, indent=1, sort_keys=True) + "\n")
    latest = {
        "wheel": wheel_name(config["project"]["name"], version),
        "addons": addons,
        "cli": wheel_name(CLI_DISTRIBUTION, version),
    }
    (target_dir / "latest.json").write_text(json.dumps(latest, indent=1, sort_keys=True) + "\n")
    return latest


def main(argv) -> int:
    if len(argv) != 2:
        raise SystemExit("usage: split_wheels.py SLIM_SOURCE_DIR TARGET_DIR")
    slim_dir, target_dir = Path(argv[0]), Path(argv[1])
    if not (slim_dir / "pybrowserml").is_dir():
        raise SystemExit(f"split_wheels: no pybrowserml/ in {slim_dir}")
    if target_dir.exists():
        raise SystemExit(f"split_wheels: {target_dir} exists already")
    split(slim_dir, target_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The README for newcomers: its quickstart pages are the tested example pages, its links resolve, and
the user docs carry no internal project history."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
USER_DOCS = ["README.md", "CHANGELOG.md", "docs/api.md", "docs/cli.md", "docs/benchmarks.md", "docs/compression.md"]


def test_the_two_commands_stay_at_the_top():
    first_section = README.split("\n## ")[1]
    assert (
        first_section.startswith("Two commands") and "scripts/demo" in first_section and "scripts/test" in first_section
    )


def test_quickstart_blocks_are_the_example_pages():
    blocks = re.findall(r"```html\n(.*?)```", README, re.S)
    for name in ("pyscript.html", "pyodide.html"):
        page = (REPO / "examples" / "my_pages" / name).read_text()
        body = "\n".join(line for line in page.splitlines() if not line.startswith(("<!doctype", "<meta", "<title")))
        assert body + "\n" in blocks, f"the README's block for {name} differs from examples/my_pages/{name}"
        assert len(body.splitlines()) <= 20


def test_local_links_resolve():
    for doc in USER_DOCS:
        text = (REPO / doc).read_text()
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (REPO / doc).parent.joinpath(target).exists() or target.startswith("docs/screenshots/"), (
                doc,
                target,
            )


def test_user_docs_tell_no_internal_history():
    for doc in USER_DOCS:
        text = (REPO / doc).read_text().lower()
        for word in ("session", "helper", "issue "):
            assert word not in text, f"{doc} mentions {word!r}"


def test_license_matches_the_metadata():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")

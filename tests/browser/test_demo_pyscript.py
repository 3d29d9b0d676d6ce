"""The PyScript demo a user opens (web/demo/pyscript.html): PyScript installs the wheel from its config and
runs demo_app.py on the page's thread; the test trains, pauses, continues, draws, predicts, downloads the
quantized JSON (loaded in CPython), reloads and resumes, stops a run, and takes the README screenshot pyscript.png (see _demo_pages.SCREENSHOTS)."""

import json
import re
from pathlib import Path

from _demo_pages import (
    DemoPage,
    check_results,
    download_and_load_in_cpython,
    draw_and_predict,
    reload_and_resume,
    screenshot,
    train_and_stop,
    train_pause_continue,
)

from harness.paths import addon_wheels, wheel_path

PAGE = Path(__file__).resolve().parents[2] / "web" / "demo" / "pyscript.html"


def test_the_pyscript_config_installs_the_built_wheel():
    config = json.loads(re.search(r"config='([^']+)'", PAGE.read_text()).group(1))
    assert config["interpreter"] == "/pyodide/pyodide.mjs"  # the local Pyodide, never a CDN
    wheels = [wheel_path(), *addon_wheels().values()]  # the core, then every backend's add-on
    assert config["packages"] == ["/dist/" + wheel.name for wheel in wheels], (
        "pyscript.html names other wheels than scripts/build made: update its config's packages"
    )


def test_pyscript_demo_trains_pauses_predicts_downloads_and_resumes(isolated_browser, check_clean, tmp_path):
    demo = DemoPage(isolated_browser, "/web/demo/pyscript.html")
    try:
        assert demo.state("demoState.hello")["backends"][0] == "auto"
        train_pause_continue(demo)
        check_results(demo)
        backend = demo.state("demoState.backend")
        assert backend["active"] == "wasm" and backend["threads"] > 1  # cross-origin isolated: threads on
        assert "threads on" in demo.page.text_content("#backend-info")
        prediction, drawing = draw_and_predict(demo)
        screenshot(demo, "pyscript.png")
        download_and_load_in_cpython(demo, tmp_path, prediction, drawing)
        reload_and_resume(demo)
        train_and_stop(demo)
        check_clean(isolated_browser, [demo])
    finally:
        demo.close()

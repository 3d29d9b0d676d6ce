"""The plain-Pyodide demo (web/demo/index.html): Pyodide trains in a Web Worker (worker.mjs runs
demo_app.py) while the page only draws. The test uses it as a user would (train, pause, continue, draw,
predict, download, reload and resume), checks that the page's own thread never stalls while the worker
trains, and refreshes docs/screenshots/worker.png."""

from _demo_pages import (
    DemoPage,
    check_results,
    download_and_load_in_cpython,
    draw_and_predict,
    reload_and_resume,
    screenshot,
    train_pause_continue,
)

# A 10 ms main-thread timer that records its longest gap while the demo says it is training.
STALL_PROBE = """
window.stallProbe = { maxGapMs: 0, ticks: 0 };
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (window.demoState && demoState.state === "running") {
    stallProbe.maxGapMs = Math.max(stallProbe.maxGapMs, now - last);
    stallProbe.ticks++;
  }
  last = now;
}, 10);
"""


def test_worker_demo_trains_off_the_main_thread_pauses_predicts_downloads_and_resumes(browser, check_clean, tmp_path):
    browser.context.add_init_script(STALL_PROBE)
    demo = DemoPage(browser, "/web/demo/index.html")
    try:
        boot = demo.state("demoState.boot")["marks"]
        assert 0 < boot["pyodide"] <= boot["packages"] <= boot["wheel"] <= boot["app"]
        train_pause_continue(demo)
        probe = demo.state("stallProbe")
        # The check: while the worker trains, the page's thread is free (a 10 ms timer fires on time).
        assert probe["ticks"] > 20 and probe["maxGapMs"] <= 50, probe
        check_results(demo)
        backend = demo.state("demoState.backend")
        assert backend["active"] == "wasm" and backend["threads"] == 1  # not cross-origin isolated: one thread
        assert "threads off" in demo.page.text_content("#backend-info")
        prediction, drawing = draw_and_predict(demo)
        screenshot(demo, "worker.png")
        download_and_load_in_cpython(demo, tmp_path, prediction, drawing)
        reload_and_resume(demo)
        check_clean(browser, [demo])
    finally:
        demo.close()

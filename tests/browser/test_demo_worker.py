"""The plain-Pyodide demo (web/demo/index.html): Pyodide trains in a Web Worker (worker.mjs runs
demo_app.py) while the page only draws. The test uses it as a user would (train, pause, continue, draw,
predict, download, reload and resume), checks that the page's own thread never stalls while the worker
trains, and takes the README screenshot worker.png (see _demo_pages.SCREENSHOTS)."""

import warnings

from _demo_pages import (
    DemoPage,
    check_results,
    download_and_load_in_cpython,
    draw_and_predict,
    reload_and_resume,
    screenshot,
    train_pause_continue,
)

# A 10 ms main-thread timer that records its longest gap, separately while the worker boots (the page idle,
# from 1 s after load) and while the demo trains, with the ticks and the span of the training; and the
# browser's own long-task records (a task that kept the page's thread busy for 50 ms or more).
STALL_PROBE = """
window.stallProbe = { booting: 0, training: 0, ticks: 0, start: null, end: null, longTasks: [] };
let last = performance.now();
setInterval(() => {
  const now = performance.now(), gap = now - last;
  last = now;
  if (!window.demoState) return;
  if (demoState.state === "running") {
    stallProbe.training = Math.max(stallProbe.training, gap);
    stallProbe.ticks++;
    stallProbe.start ??= now;
    stallProbe.end = now;
  } else if (!demoState.boot && now > 1000) stallProbe.booting = Math.max(stallProbe.booting, gap);
}, 10);
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    stallProbe.longTasks.push({ ms: entry.duration, state: window.demoState ? demoState.state : "loading" });
}).observe({ type: "longtask" });
"""


def check_main_thread_never_stalled(probe):
    """The issue's check: while the worker trains, the page's thread never stalls more than 50 ms (the 10 ms
    timer's longest gap; no long task). It is only meaningful when the machine lets the timer keep time:
    when the same timer already stalled over 50 ms while the page was idle (the worker booting), the 2 cores
    are busy with other work, and the test checks instead that the timer still ticked at least 30 times a
    second while training (a page running the training itself, in 100 ms slices, ticks about 10)."""
    assert probe["ticks"] > 20, probe
    training_tasks = [t for t in probe["longTasks"] if t["state"] == "running"]
    if probe["booting"] <= 50:
        assert probe["training"] <= 50 and not training_tasks, probe
        return
    seconds = (probe["end"] - probe["start"]) / 1000
    assert probe["ticks"] / seconds >= 30, probe
    warnings.warn(
        f"a loaded machine: the idle page's timer already stalled {probe['booting']:.0f} ms; while training "
        f"it ticked {probe['ticks'] / seconds:.0f}/s, longest gap {probe['training']:.0f} ms",
        stacklevel=2,
    )


def test_worker_demo_trains_off_the_main_thread_pauses_predicts_downloads_and_resumes(browser, check_clean, tmp_path):
    browser.context.add_init_script(STALL_PROBE)
    demo = DemoPage(browser, "/web/demo/index.html")
    try:
        boot = demo.state("demoState.boot")["marks"]
        assert 0 < boot["pyodide"] <= boot["packages"] <= boot["wheel"] <= boot["app"]
        train_pause_continue(demo)
        check_main_thread_never_stalled(demo.state("stallProbe"))
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

"""Where a step's GPU time goes on the WebGL backend: the reference network's predict (or training step)
at batch 32 in headless Chromium, every draw timed by the runtime's debug profile (js/runtime.mjs
startProfile: a one-texel read before and after each draw, so the profiled step is slower than a plain
one). Prints the time per kernel family, then the costliest kernels by output size.

Usage: .build/venv/bin/python scripts/profile_webgl.py [infer|train]   (after scripts/build)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_lib import pyodide_rows  # noqa: E402
from harness import Browser  # noqa: E402

STEP = """
import json, time
import pb_timing
model = pb_timing.reference_model()
x, y = pb_timing.random_batch(32, 2)
step = (lambda: model.predict(x, batch_size=32, verbose=0)) if MODE == "infer" else (lambda: model.train_on_batch(x, y))
step(); step()
start = time.perf_counter(); step(); plain = time.perf_counter() - start
rt = pb.get_backend().rt.js
rt.startProfile()
start = time.perf_counter(); step(); profiled = time.perf_counter() - start
json.dumps({"plain_ms": plain * 1000, "profiled_ms": profiled * 1000, "rows": json.loads(rt.stopProfile())})
"""


def main(mode: str) -> None:
    if mode not in ("infer", "train"):
        raise SystemExit(f"usage: profile_webgl.py [infer|train], got {mode!r}")
    with Browser() as browser:
        page = browser.new_pyodide_page()
        pyodide_rows.prepare(page, "webgl")
        result = json.loads(page.run(f"MODE = {mode!r}\n" + STEP))
    rows = result["rows"]
    # (the runtime's texel copies, placeParts, are timed as rows of kernel "copy/placeParts")
    copies = [r for r in rows if r["kernel"].startswith("copy/")]
    print(
        f"{mode}: plain step {result['plain_ms']:.1f} ms, profiled {result['profiled_ms']:.1f} ms, "
        f"{sum(r['draws'] for r in rows) - sum(r['draws'] for r in copies)} draws and "
        f"{sum(r['draws'] for r in copies)} copies, {sum(r['ms'] for r in rows):.1f} ms in them"
    )
    families: dict[str, list[float]] = {}
    for row in rows:
        name = "/".join(row["kernel"].split("/")[:2])
        entry = families.setdefault(name, [0.0, 0])
        entry[0] += row["ms"]
        entry[1] += row["draws"]
    for name, (ms, draws) in sorted(families.items(), key=lambda item: -item[1][0]):
        print(f"{ms:9.1f} ms {draws:4d} draws  {name}")
    print("costliest kernels by output size:")
    for row in rows[:20]:
        texels = f"{row['texels']}{' x4' if row['packed'] else ''}"
        print(f"{row['ms']:9.1f} ms {row['draws']:4d} draws  {row['kernel']:36s} {texels}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "infer")

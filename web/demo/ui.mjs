// The demo's page side, shared by pyscript.html (Python on this thread) and index.html (Python in a
// Web Worker): builds the controls, sends commands to demo_app.py through `send(command, ...args)` and
// draws the events demo_app.py emits (`handle(kind, json)`). Everything it draws is also kept in
// `window.demoState`, which is what the tests read.
//
// Charts: uPlot (npm `uplot`, served from /node_modules/). Chosen over Chart.js because it is ~50 KB
// minified against ~200 KB, draws thousands of points on one canvas in about a millisecond, and
// appending a point is `setData` with no animation machinery: the page stays smooth while training.
import uPlot from "/node_modules/uplot/dist/uPlot.esm.js";

const SETTINGS = ["dataset", "backend", "epochs", "batch_size", "train_samples", "test_samples", "learning_rate",
  "seed", "backup_every"];
const NUMERIC = new Set(SETTINGS.filter((k) => !["dataset", "backend"].includes(k)));
const DRAW_SIZE = 280; // the canvas the user draws on; the browser scales it to the model's 28x28

const TEMPLATE = `
  <section class="controls">
    <label>Dataset <select id="dataset">
      <option value="fashion_mnist">Fashion-MNIST</option><option value="mnist">MNIST</option></select></label>
    <label>Backend <select id="backend"><option value="auto">auto</option></select></label>
    <label>Epochs <input id="epochs" type="number" min="1" max="50" value="1"></label>
    <button id="train" disabled>Train</button>
    <button id="pause" disabled>Pause</button>
    <button id="continue" disabled>Continue</button>
    <button id="stop" disabled>Stop</button>
    <button id="resume-saved" disabled title="continue the run backed up in IndexedDB (also after a reload)">Resume saved run</button>
    <button id="download" disabled>Download quantized JSON</button>
  </section>
  <p id="status">starting…</p>
  <p class="facts"><span id="backend-info">backend: –</span> · <span id="dataset-info">dataset: –</span>
     · <span id="model-info">model: –</span> · <span id="cold-start">first step: –</span></p>
  <progress id="progress" max="1" value="0"></progress> <span id="progress-text"></span>
  <section class="charts"><div id="loss-chart"></div><div id="accuracy-chart"></div></section>
  <section class="results">
    <div><h2>Test images</h2><div id="grid"></div></div>
    <div><h2>Confusion matrix</h2><table id="confusion"></table></div>
    <div><h2>Draw</h2>
      <canvas id="draw" width="${DRAW_SIZE}" height="${DRAW_SIZE}"></canvas><br>
      <button id="clear">Clear</button> <button id="predict" disabled>Predict</button>
      <p id="prediction">draw something, then predict</p></div>
  </section>
  <p id="sizes"></p>`;

export const STYLE = `
  body { font-family: system-ui, sans-serif; max-width: 64rem; margin: 1rem auto; padding: 0 1rem; }
  .controls { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
  .controls input { width: 4rem; }
  #status { font-weight: bold; } .facts { color: #444; font-size: .9rem; }
  progress { width: 30rem; max-width: 100%; }
  .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
  .results { display: flex; flex-wrap: wrap; gap: 2rem; }
  #grid { display: grid; grid-template-columns: repeat(4, 64px); gap: 6px; font-size: .7rem; }
  #grid figure { margin: 0; text-align: center; } #grid canvas { width: 56px; height: 56px; image-rendering: pixelated; }
  #grid .wrong { color: #c00; } #grid .right { color: #070; }
  #confusion td { width: 1.8rem; height: 1.4rem; text-align: center; font-size: .7rem; }
  #draw { background: #000; touch-action: none; cursor: crosshair; border: 1px solid #888; }`;

function chart(element, title, color) {
  // No legend (the progress line shows the values), and a first draw with placeholder points now, while
  // the page is idle: uPlot's first real draw (fonts, axis sizes, layout) would otherwise land on the
  // first training step and hold the page's thread for ~50-150 ms on this machine.
  const plot = new uPlot(
    { title, width: 420, height: 220, legend: { show: false }, scales: { x: { time: false } },
      series: [{ label: "epoch" }, { label: title, stroke: color, width: 2 }],
      axes: [{ label: "epoch" }, {}] },
    [[0, 1], [0, 1]], element);
  requestAnimationFrame(() => plot.setData([[], []]));
  return plot;
}

export function createDemoUI({ root, send, params = new URLSearchParams(location.search) }) {
  root.innerHTML = TEMPLATE;
  const $ = (id) => root.querySelector("#" + id);
  const state = window.demoState = {
    events: [], status: "", backend: null, dataset: null, state: "idle", batches: [], epochs: [],
    results: null, prediction: null, downloads: [], errors: [], resumable: null, firstStepMs: null,
    charts: {}, hello: null, times: {}, datasetLog: [],
  };
  state.charts.loss = chart($("loss-chart"), "loss", "#c33");
  state.charts.accuracy = chart($("accuracy-chart"), "accuracy", "#36c");
  const series = { x: [], loss: [], accuracy: [] };
  // The longest the page's thread spent on one event or redraw (what the worker demo keeps short).
  state.slowest = { what: null, ms: 0 };
  const slowest = (what, ms) => { if (ms > state.slowest.ms) state.slowest = { what, ms }; };
  let redraw = 0;
  const scheduleRedraw = () => {
    if (redraw) return;
    redraw = requestAnimationFrame(() => {
      const t = performance.now();
      redraw = 0;
      state.charts.loss.setData([series.x, series.loss]);
      state.charts.accuracy.setData([series.x, series.accuracy]);
      slowest("chart redraw", performance.now() - t);
    });
  };

  for (const key of ["dataset", "backend", "epochs"]) if (params.has(key)) $(key).value = params.get(key);
  const settings = () => {
    const out = {};
    for (const key of SETTINGS) if (params.has(key)) out[key] = NUMERIC.has(key) ? Number(params.get(key)) : params.get(key);
    out.dataset = $("dataset").value;
    out.backend = $("backend").value;
    out.epochs = Number($("epochs").value);
    return out;
  };
  const setStatus = (text) => { state.status = text; $("status").textContent = text; };
  const buttons = (running) => {
    $("train").disabled = running;
    $("pause").disabled = !running || ["pausing", "paused"].includes(state.state);
    $("continue").disabled = state.state !== "paused";
    $("stop").disabled = !running;
    $("resume-saved").disabled = running || !state.resumable;
  };
  const running = () => ["running", "pausing", "paused", "stopping", "starting"].includes(state.state);

  $("train").onclick = () => {
    series.x.length = series.loss.length = series.accuracy.length = 0;
    state.batches = []; state.state = "starting"; buttons(true);
    send("start", JSON.stringify(settings()));
  };
  $("resume-saved").onclick = () => { state.state = "starting"; buttons(true); send("resume_saved"); };
  $("pause").onclick = () => send("pause");
  $("continue").onclick = () => send("resume");
  $("stop").onclick = () => send("stop");
  $("download").onclick = () => send("download");

  // Drawing: white strokes on black like the datasets' images; the browser resizes the canvas to 28x28.
  const draw = $("draw");
  const pen = draw.getContext("2d");
  const clear = () => { pen.fillStyle = "#000"; pen.fillRect(0, 0, DRAW_SIZE, DRAW_SIZE); };
  clear();
  let last = null;
  const at = (e) => { const r = draw.getBoundingClientRect(); return [(e.clientX - r.left) * DRAW_SIZE / r.width, (e.clientY - r.top) * DRAW_SIZE / r.height]; };
  draw.onpointerdown = (e) => { last = at(e); draw.setPointerCapture(e.pointerId); };
  draw.onpointermove = (e) => {
    if (!last) return;
    const next = at(e);
    Object.assign(pen, { strokeStyle: "#fff", lineWidth: 22, lineCap: "round", lineJoin: "round" });
    pen.beginPath(); pen.moveTo(...last); pen.lineTo(...next); pen.stroke();
    last = next;
  };
  draw.onpointerup = () => { last = null; if (!$("predict").disabled) predict(); };
  $("clear").onclick = () => { clear(); state.prediction = null; $("prediction").textContent = "draw something, then predict"; };
  const predict = () => {
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    const ctx = small.getContext("2d", { willReadFrequently: true });
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(draw, 0, 0, 28, 28);
    const rgba = ctx.getImageData(0, 0, 28, 28).data;
    const grey = new Uint8Array(28 * 28);
    for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i];
    state.lastDrawing = Array.from(grey);
    send("predict", grey);
  };
  $("predict").onclick = predict;

  const handlers = {
    hello(e) {
      state.hello = e;
      const select = $("backend");
      const wanted = params.get("backend") || select.value;
      select.innerHTML = e.backends.map((b) => `<option value="${b}">${b}</option>`).join("");
      select.value = e.backends.includes(wanted) ? wanted : "auto";
      $("train").disabled = false;
      setStatus(`ready: pybrowserml ${e.version}`);
      if (params.get("autostart") === "1") $("train").click();
    },
    status(e) { setStatus(e.text); },
    boot(e) { state.boot = e; }, // the worker's start-up marks (ms since the worker started)
    backend(e) {
      state.backend = e;
      const threads = e.active === "wasm"
        ? ` · threads ${e.threads > 1 ? "on (" + e.threads + ")" : "off"}${e.relaxed_simd ? " · relaxed SIMD" : ""}` : "";
      $("backend-info").textContent = `backend: ${e.active}${threads}${globalThis.crossOriginIsolated ? "" : " (page not cross-origin isolated)"}`;
    },
    dataset(e) {
      state.dataset = e;
      state.datasetLog.push(e);
      const text = e.state === "cached" ? "already cached in IndexedDB, loading"
        : e.state === "downloading" ? `downloading ${e.done ? e.done + "/" + e.total + " files" : "…"}`
        : `${e.train} train / ${e.test} test images${e.was_cached ? " (from the IndexedDB cache)" : ""} in ${e.seconds.toFixed(1)} s`;
      $("dataset-info").textContent = `${e.title}: ${text}`;
      if (e.state === "downloading" && e.total) { $("progress").value = e.done / e.total; $("progress-text").textContent = "dataset"; }
    },
    model(e) { $("model-info").textContent = `model: ${e.name}, ${e.params.toLocaleString()} parameters`; },
    train_begin(e) { state.plan = e; },
    first_step(e) {
      state.firstStep = e;
      state.firstStepMs = performance.now();
      $("cold-start").textContent = `first step ${(state.firstStepMs / 1000).toFixed(2)} s after page open`;
    },
    batch(e) {
      state.batches.push(e);
      series.x.push(e.x); series.loss.push(e.loss); series.accuracy.push(e.accuracy);
      $("progress").value = e.x / state.plan.epochs;
      $("progress-text").textContent = `epoch ${e.epoch + 1}/${state.plan.epochs}, batch ${e.step + 1}/${e.steps} · loss ${e.loss.toFixed(4)} · accuracy ${(100 * e.accuracy).toFixed(1)}%`;
      scheduleRedraw();
    },
    epoch(e) { state.epochs.push(e); },
    state(e) { state.state = e.state; buttons(running()); },
    resumable(e) { state.resumable = e.settings; buttons(running()); },
    history(e) { state.history = e; $("download").disabled = false; $("predict").disabled = false; },
    results(e) {
      state.results = e;
      drawGrid(root.querySelector("#grid"), e);
      drawConfusion(root.querySelector("#confusion"), e);
      const kb = (n) => (n / 1024).toFixed(1) + " KB";
      $("sizes").textContent = `model size: float32 JSON ${kb(e.sizes.float32)} → uint8 quantized ${kb(e.sizes.uint8)} (${(100 * e.sizes.uint8 / e.sizes.float32).toFixed(0)}%), ${e.sizes.params.toLocaleString()} parameters`;
    },
    prediction(e) {
      state.prediction = e;
      $("prediction").textContent = `prediction: ${e.name} (${(100 * e.probs[e.label]).toFixed(0)}%)`;
    },
    download(e) {
      const url = URL.createObjectURL(new Blob([e.text], { type: "application/json" }));
      const link = Object.assign(document.createElement("a"), { href: url, download: e.filename });
      document.body.append(link); link.click(); link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      state.downloads.push({ filename: e.filename, bytes: e.text.length });
    },
    error(e) {
      state.errors.push(e.message);
      setStatus("error: " + e.message);
      console.error("pybrowserml demo: " + e.message);
      if (state.state === "starting") { state.state = "idle"; buttons(false); }
    },
  };
  return {
    state,
    handle(kind, json) {
      const t = performance.now();
      const event = JSON.parse(json);
      state.events.push(kind);
      // When each event first arrived (ms since the page opened): where start-up time goes (scripts/bench).
      state.times[kind + (event.state ? ":" + event.state : "")] ??= Math.round(t);
      const handler = handlers[kind];
      if (!handler) throw new Error(`demo: unknown event ${kind}`);
      handler(event);
      slowest(kind, performance.now() - t);
    },
    setStatus,
  };
}

function drawGrid(grid, e) {
  grid.innerHTML = "";
  e.grid.pixels.forEach((pixels, i) => {
    const canvas = Object.assign(document.createElement("canvas"), { width: 28, height: 28 });
    const image = new ImageData(28, 28);
    pixels.forEach((v, j) => { image.data.set([v, v, v, 255], 4 * j); });
    canvas.getContext("2d").putImageData(image, 0, 0);
    const figure = document.createElement("figure");
    const ok = e.grid.predicted[i] === e.grid.labels[i];
    const caption = Object.assign(document.createElement("figcaption"), {
      className: ok ? "right" : "wrong",
      textContent: e.classes[e.grid.predicted[i]] + (ok ? "" : ` (${e.classes[e.grid.labels[i]]})`),
    });
    figure.append(canvas, caption);
    grid.append(figure);
  });
}

function drawConfusion(table, e) {
  const max = Math.max(...e.confusion.flat());
  const short = (name) => name.split("/")[0].slice(0, 7);
  table.innerHTML = `<tr><th>true \\ predicted</th>${e.classes.map((c) => `<th>${short(c)}</th>`).join("")}</tr>` +
    e.confusion.map((row, i) => `<tr><th>${short(e.classes[i])}</th>${row.map((n, j) => {
      const shade = Math.round(255 - 200 * n / (max || 1));
      const color = i === j ? `rgb(${shade},255,${shade})` : `rgb(255,${shade},${shade})`;
      return `<td style="background:${color}">${n}</td>`;
    }).join("")}</tr>`).join("");
}

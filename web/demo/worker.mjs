// The worker demo's Python side: plain Pyodide in a Web Worker running demo_app.py, so training never
// competes with the page for its thread (the page only draws what this posts).
// Messages: page -> worker {command, args} (demo_app.py's commands); worker -> page {kind, json}
// (demo_app.py's events, plus "boot": where start-up time went).
// Start-up is ordered for speed: the wheels' names and the app's source are fetched at once, then Pyodide
// boots while it loads numpy, the core wheel and the add-on wheels of the backends the demo may use.
import { loadPyodide } from "/pyodide/pyodide.mjs";

const started = performance.now();
const params = new URL(self.location.href).searchParams;
const send = (kind, payload) => postMessage({ kind, json: JSON.stringify(payload) });
// What demo_app.py calls for every event: straight to the page.
self.demoUI = { handle: (kind, json) => postMessage({ kind, json }) };

const queued = [];
let commands = null;
const run = ({ command, args }) => commands[command](...args);
self.onmessage = ({ data }) => (commands ? run(data) : queued.push(data));

async function boot() {
  const marks = {};
  const mark = (name) => { marks[name] = Math.round(performance.now() - started); };
  send("status", { text: "loading Pyodide" });
  const latest = fetch("/dist/latest.json").then((r) => r.json());
  const appSource = fetch("/web/demo/demo_app.py").then((r) => r.text());
  const { wheel, addons } = await latest;
  const wheelUrl = new URL(params.get("wheel") || "/dist/" + wheel, self.location.href).href;
  // The add-on wheels of the backends this start may use: the one asked for (?backend=), or for "auto"
  // every one it may choose. The core finds any other beside its wheel when the app switches backend.
  const backend = params.get("backend") || "auto";
  const addonUrls = Object.entries(addons)
    .filter(([name]) => backend === "auto" || name === backend)
    .map(([, file]) => new URL(file, wheelUrl).href);
  // numpy and the wheels go in loadPyodide's `packages`: Pyodide fetches and installs them while its
  // Python finishes booting (a loadPackage call afterwards would wait for the boot), side by side, and
  // with no micropip to load and run (the core's one dependency, numpy, is named here; an add-on's one
  // dependency is the core).
  const packages = ["numpy", wheelUrl, ...addonUrls];
  const pyodide = await loadPyodide({ indexURL: "/pyodide/", packages });
  mark("pyodide");
  mark("packages");
  mark("wheel");
  await pyodide.runPythonAsync(await appSource);
  mark("app");
  commands = self.pybrowsermlDemo;
  send("boot", { marks, worker_start_ms: Math.round(performance.timeOrigin) });
  queued.splice(0).forEach(run);
}

boot().catch((error) => send("error", { message: "the worker could not start: " + (error && error.message || error) }));

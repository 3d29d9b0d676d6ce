// Boots Pyodide from the local offline distribution and installs pybrowserml's wheel with micropip,
// the way a user's page does. Shared by the demo pages and the test harness, so tests go through
// the same start-up path users do. addonUrls: the add-on wheels of the backends the page uses
// (pybrowserml_backend_wasm-*.whl, ...), installed in the same micropip call, so they are fetched side by
// side with the core; a backend whose add-on is not listed is installed when the page first creates it.
import { loadPyodide } from "/pyodide/pyodide.mjs";

export async function bootPybrowserml({ wheelUrl, addonUrls = [], indexURL = "/pyodide/", onStatus = () => {} } = {}) {
  if (!wheelUrl) throw new Error("bootPybrowserml: pass wheelUrl, the URL of pybrowserml's wheel");
  onStatus("loading Pyodide");
  const pyodide = await loadPyodide({ indexURL });
  onStatus("loading micropip");
  await pyodide.loadPackage("micropip");
  onStatus("installing pybrowserml");
  const micropip = pyodide.pyimport("micropip");
  // A URL relative to the page would be resolved by micropip against the Pyodide index; make it absolute.
  await micropip.install([wheelUrl, ...addonUrls].map((url) => new URL(url, location.href).href));
  micropip.destroy();
  await pyodide.runPythonAsync("import pybrowserml");
  onStatus("ready");
  return pyodide;
}

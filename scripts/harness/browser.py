"""Headless Debian Chromium driven by Playwright, with pybrowserml booted in Pyodide.

Every request that is not to the local server is aborted and recorded, page errors and console
errors are collected, and a Python exception inside the page comes back as PyodideError carrying
the page's traceback.
"""

from __future__ import annotations

import atexit
import json
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from .paths import CHROMIUM, addon_wheels, built_wheels, check_built, wheel_path
from .server import StaticServer

CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Runs once per page: a JSON bridge for results, so tests get plain Python values back.
_PY_HELPERS = r"""
import json as _json
def _harness_to_json(value):
    def default(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        if hasattr(o, "item"):
            return o.item()
        if isinstance(o, (set, tuple)):
            return list(o)
        raise TypeError(f"cannot return a {type(o).__name__} from the page; return lists, dicts, numbers or strings")
    return _json.dumps(value, default=default)
"""

_RUN_JS = """
async (code) => {
  const py = window.pyodide;
  try {
    const r = await py.runPythonAsync(code);
    if (r === undefined || r === null) return { ok: true, json: "null" };
    if (r instanceof py.ffi.PyProxy) {
      try { return { ok: true, json: window.__harnessToJson(r) }; } finally { r.destroy(); }
    }
    return { ok: true, json: JSON.stringify(r) };
  } catch (e) {
    return { ok: false, error: String(e && e.message || e) };
  }
}
"""


_PLAYWRIGHT = None


def _playwright():
    """One Playwright driver per process: its sync API allows only one, shared by every Browser."""
    global _PLAYWRIGHT
    if _PLAYWRIGHT is None:
        from playwright.sync_api import sync_playwright

        _PLAYWRIGHT = sync_playwright().start()
        atexit.register(_PLAYWRIGHT.stop)
    return _PLAYWRIGHT


class PyodideError(RuntimeError):
    """A Python exception raised inside the page; the message is the page's traceback."""


class PyodidePage:
    """One page with pybrowserml imported in Pyodide: the core wheel and the add-ons of the backends named
    in `addons` (None: every add-on of the build; (): only the core, which installs one on demand), and the
    command line's wheel if `cli` (the CLI's own pages run its training job)."""

    def __init__(self, browser: Browser, page, path: str = "/web/pages/blank.html", addons=None, cli=False):
        self.browser = browser
        self.page = page
        self.path = path
        wheels = addon_wheels()
        unknown = sorted(set(addons or ()) - set(wheels))
        if unknown:
            raise ValueError(f"no add-on wheel for {unknown} in this build (it has {sorted(wheels)})")
        self.addon_urls = ["/dist/" + wheels[name].name for name in (wheels if addons is None else addons)]
        if cli:
            self.addon_urls.append("/dist/" + built_wheels()["cli"].name)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.boot()

    def boot(self):
        self.page.goto(self.browser.server.url(self.path))
        wheel_url = "/dist/" + wheel_path().name
        self.page.evaluate(
            """async ([wheelUrl, addonUrls]) => {
                 const { bootPybrowserml } = await import("/web/pages/boot.mjs");
                 window.pyodide = await bootPybrowserml({ wheelUrl, addonUrls });
               }""",
            [wheel_url, self.addon_urls],
        )
        self.page.evaluate(
            """(helpers) => { window.pyodide.runPython(helpers);
                 window.__harnessToJson = window.pyodide.globals.get("_harness_to_json"); }""",
            _PY_HELPERS,
        )

    def run(self, code: str):
        """Run Python in the page (top-level await allowed); the last expression's value comes back as JSON."""
        result = self.page.evaluate(_RUN_JS, code)
        if not result["ok"]:
            raise PyodideError(result["error"])
        return json.loads(result["json"])

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def reload(self):
        """Reload the page and boot again (same profile: IndexedDB survives on a persistent one)."""
        self.page.reload()
        self.boot()

    def errors(self) -> list[str]:
        return [f"page error: {e}" for e in self.page_errors] + [f"console error: {e}" for e in self.console_errors]


class Browser:
    """`with Browser() as b: page = b.new_pyodide_page(); page.run("1 + 1")`.

    isolated=True serves COOP/COEP so pages are crossOriginIsolated (threads); user_data_dir makes
    the profile persistent (IndexedDB survives reloads and restarts); webgpu=True adds the flag
    Chromium needs for WebGPU on this machine; routes replaces the server's URL table (paths.ROUTES), e.g.
    with the one `pybrowserml serve FOLDER` uses; port (0: any free one) fixes the pages' origin, which is
    what IndexedDB is kept under: a persistent profile finds its data again only on the same port.
    """

    def __init__(
        self,
        isolated=False,
        user_data_dir: str | Path | None = None,
        webgpu=False,
        headless=True,
        routes=None,
        port=0,
    ):
        self.isolated = isolated
        self.routes = routes
        self.port = port
        self.user_data_dir = user_data_dir
        self.args = CHROMIUM_ARGS + (["--enable-unsafe-webgpu"] if webgpu else [])
        self.headless = headless
        self.blocked_requests: list[str] = []
        self.pages: list[PyodidePage] = []

    def __enter__(self):
        check_built()
        self.server = StaticServer(isolated=self.isolated, routes=self.routes, port=self.port).start()
        self._pw = _playwright()
        options = dict(executable_path=CHROMIUM, headless=self.headless, args=self.args)
        if self.user_data_dir is not None:
            self._browser = None
            self.context = self._pw.chromium.launch_persistent_context(
                str(self.user_data_dir), accept_downloads=True, **options
            )
        else:
            self._browser = self._pw.chromium.launch(**options)
            self.context = self._browser.new_context(accept_downloads=True)
        self.context.route("**/*", self._route)
        return self

    def _route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
            self.blocked_requests.append(url)
            return route.abort()
        return route.continue_()

    def new_page(self):
        """A plain Playwright page in this browser's context (no Pyodide)."""
        return self.context.new_page()

    def new_pyodide_page(self, path: str = "/web/pages/blank.html", addons=None, cli=False) -> PyodidePage:
        """A page with Pyodide and pybrowserml: the core and the named backends' add-ons (None: all), and
        the command line's wheel if `cli`."""
        page = PyodidePage(self, self.context.new_page(), path, addons, cli)
        self.pages.append(page)
        return page

    def __exit__(self, *exc):
        try:
            self.context.close()
            if self._browser is not None:
                self._browser.close()
        finally:
            self.server.stop()


def temporary_profile() -> str:
    return tempfile.mkdtemp(prefix="pybrowserml-profile-")

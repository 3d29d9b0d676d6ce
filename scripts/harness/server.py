"""A static file server on 127.0.0.1 for the pages, the offline Pyodide, the wheel and the datasets.

It sends the MIME types browsers insist on (.wasm, .mjs), never lets the browser cache (so a rebuilt
wheel is always the one tested), and optionally the COOP/COEP/CORP headers that make the page
cross-origin isolated (SharedArrayBuffer, WASM threads).
"""

from __future__ import annotations

import mimetypes
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .paths import ROUTES

MIME = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".gz": "application/gzip",  # served as bytes; a page must not see a Content-Encoding here
    ".html": "text/html; charset=utf-8",
}


class _Handler(SimpleHTTPRequestHandler):
    routes: dict[str, Path] = {}
    isolated = False

    def translate_path(self, path):
        path = unquote(urlsplit(path).path)
        for prefix, root in self.routes.items():
            if path.startswith(prefix):
                target = (Path(root) / path[len(prefix) :]).resolve()
                if Path(root).resolve() in target.parents or target == Path(root).resolve():
                    return str(target)
        return "/nonexistent"

    def guess_type(self, path):
        return MIME.get(Path(path).suffix, mimetypes.guess_type(path)[0] or "application/octet-stream")

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        if self.isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        super().end_headers()

    def log_message(self, format, *args):  # keep test output readable
        pass


class StaticServer:
    """`with StaticServer(isolated=True) as server: server.url("/web/demo/index.html")`."""

    def __init__(self, isolated: bool = False, port: int = 0, routes: dict | None = None):
        handler = type("Handler", (_Handler,), {"routes": dict(routes or ROUTES), "isolated": isolated})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(handler))
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.origin + path

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

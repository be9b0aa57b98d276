"""The built documentation site: strict build, search index, and a real browser.

The browser part opens the site in headless Chromium (Debian's ``chromium``, installed by
``tests/docs/chromium.sh`` when missing) over the DevTools protocol, served on 127.0.0.1, and
checks the home page, a reference page and the search for "attach" render with no console
error. Screenshots are saved in the test's temporary directory. Without a Chromium the test
fails, naming what to do; ``ENGINEAPI_NO_BROWSER=1`` skips it on request.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
OPT_OUT = "ENGINEAPI_NO_BROWSER"


def test_every_reference_page_is_built_and_searchable(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "reference" / "namespaces" / "containers.html").is_file()
    assert (site / "reference" / "models" / "container_summary.html").is_file()
    index = json.loads((site / "search" / "search_index.json").read_text())
    titles = {doc["title"] for doc in index["docs"]}
    assert "containers.attach" in {re.sub(r"<[^>]+>", "", t) for t in titles}
    # Rendered by mkdocstrings from docstrings: a page of the supporting modules has content.
    transports = (site / "reference" / "transports.html").read_text()
    assert "doc-heading" in transports and "SSH" in transports


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    if os.environ.get(OPT_OUT):
        pytest.skip(f"{OPT_OUT}=1: browser test skipped on request")
    found = shutil.which("chromium")
    if found:
        return found
    result = subprocess.run(
        [str(HERE / "chromium.sh")], capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        pytest.fail(
            f"no Chromium for the browser test ({result.stderr.strip()[-2000:]}); "
            f"set {OPT_OUT}=1 to skip it"
        )
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The site over HTTP on 127.0.0.1, on a port the system picks."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Page:
    """One Chromium tab driven over the DevTools protocol (a WebSocket)."""

    def __init__(self, ws_url: str) -> None:
        import websocket  # the docs extra's websocket-client

        self._ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self._ids = itertools.count(1)
        self.errors: list[str] = []
        self.loaded = False
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = self._read()
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _read(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self._ws.recv())
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params["exceptionDetails"])[:2000])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            self.errors.append(json.dumps(params["args"])[:2000])
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")
        elif method == "Page.loadEventFired":
            self.loaded = True
        return message

    def open(self, url: str) -> None:
        self.loaded = False
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while not self.loaded:
            assert time.monotonic() < deadline, f"{url} did not load"
            self._read()

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.2)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self._ws.close()


@pytest.fixture
def page(chromium: str, tmp_path: Path) -> Iterator[Page]:
    process = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # root (CI) cannot use Chromium's sandbox
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--window-size=1280,900",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={tmp_path / 'profile'}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = _devtools_port(process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            targets = json.load(r)
        (target,) = [t for t in targets if t["type"] == "page"]
        tab = Page(target["webSocketDebuggerUrl"])
        try:
            yield tab
        finally:
            tab.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _devtools_port(process: subprocess.Popen[str]) -> int:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
        if match:
            # Drain the rest so that Chromium never blocks on a full pipe.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return int(match.group(1))
    raise AssertionError("Chromium exited before listening:\n" + "".join(seen)[-3000:])


def test_the_site_renders_in_a_browser(page: Page, served: str, tmp_path: Path) -> None:
    page.open(f"{served}/index.html")
    assert (
        page.evaluate("document.querySelector('article h1').firstChild.textContent") == "engineapi"
    )
    assert page.evaluate("document.querySelectorAll('.md-nav__link').length") > 10
    page.screenshot(tmp_path / "home.png")

    page.open(f"{served}/reference/namespaces/containers.html")
    heading = page.wait_for("document.getElementById('containers-attach')?.textContent")
    assert "containers.attach" in heading
    assert "POST /containers/{id}/attach" in page.evaluate("document.body.innerText")
    page.screenshot(tmp_path / "reference.png")

    # Material opens its search with the query of ?q=; the results come from a web worker.
    page.open(f"{served}/index.html?q=attach")
    results = page.wait_for(
        "Array.from(document.querySelectorAll('.md-search-result__item'))"
        ".map(e => e.innerText).join('\\n')",
        timeout=90,  # the search worker indexes every page first
    )
    assert "containers.attach" in results
    page.screenshot(tmp_path / "search.png")
    assert (tmp_path / "search.png").stat().st_size > 10_000

    assert not page.errors, "console errors:\n" + "\n".join(page.errors)

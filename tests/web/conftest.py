"""Browser tests: the real server (uvicorn in a thread) and one headless Chromium per session.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright for Python with
executable_path, so nothing is downloaded.  Each test gets a fresh page, in a browser
context shared by its module, that records console errors and refuses (and records) any
request that leaves 127.0.0.1.  Screenshots for people are opt-in (`take_screenshots()`,
the `screenshots` marker): `bash scripts/screenshots.sh` writes them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import live_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
READY_TIMEOUT_MS = 60_000  # a guard against a hang on a loaded machine, not a timing claim


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The app on a free loopback port, for the whole session."""
    with live_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        # Not a skip: the test command installs it, and a silent skip would hide the page.
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (scripts/test.sh does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Probe:
    """A page and what it did: console errors, uncaught exceptions, requests off 127.0.0.1."""

    page: object
    base_url: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def allow_error(self, pattern: str) -> None:
        """An expected console error (e.g. Chromium's note on a 422 response)."""
        self.allowed.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def open(self, query: str = "", *, gallery: bool = False) -> None:
        """Open the page.  A link that names no view opens a trained model of the gallery
        (issue 16); the tests written before it mean the random network, so unless `gallery`
        they get the default preset's link, as the page's "random network" writes it."""
        if not gallery and all(key == "lang" for key in parse_qs(query.lstrip("?"))):
            params = query.lstrip("?")
            query = f"?preset={self.default_preset()}" + (f"&{params}" if params else "")
        self.page.goto(f"{self.base_url}/{query}")
        self.wait_ready()

    def default_preset(self) -> str:
        import httpx2

        return httpx2.get(f"{self.base_url}/api/presets", timeout=10).json()["default"]

    def wait_ready(self) -> None:
        self.page.wait_for_selector('body[data-state="ready"]', timeout=READY_TIMEOUT_MS)

    def wait_state(self, state: str) -> None:
        self.page.wait_for_selector(f'body[data-state="{state}"]', timeout=READY_TIMEOUT_MS)

    def testid(self, name: str):
        return self.page.get_by_test_id(name)

    def wait_attr(self, testid: str, attr: str, value: str, timeout: int = READY_TIMEOUT_MS) -> None:
        """Wait until `[data-testid=testid]` has data-`attr` = `value`; on a timeout, say what it has."""
        try:
            self.page.wait_for_selector(f'[data-testid="{testid}"][data-{attr}="{value}"]', timeout=timeout)
        except PlaywrightTimeout:
            el = self.testid(testid)
            got = el.get_attribute(f"data-{attr}") if el.count() else None
            text = el.inner_text()[:400] if el.count() else "(no element)"
            raise AssertionError(
                f"{testid}: data-{attr} is {got!r}, not {value!r}; errors {self.errors}; text: {text}"
            ) from None

    def drawn(self) -> dict:
        """What the diagram element says is on screen (step 1-based, window, highlight slot)."""
        return self.page.evaluate("() => ({...document.querySelector('[data-testid=diagram]').dataset})")

    def wait_drawn_step(self, step: int) -> None:
        self.page.wait_for_function(
            "s => document.querySelector('[data-testid=diagram]').dataset.step === String(s)",
            arg=step,
            timeout=READY_TIMEOUT_MS,
        )

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _make_probe(context, base_url: str) -> Probe:
    """A new page in a warm context, recording its own console errors and outside requests."""
    page = context.new_page()
    probe = Probe(page=page, base_url=base_url)

    def on_route(route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            probe.outside.append(url)
            route.abort()

    page.route("**/*", on_route)
    page.on("console", lambda msg: probe.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: probe.errors.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (probe.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return probe


def _context(browser, width: int, height: int) -> Iterator:
    """A browser context of one screen size, closed after the module."""
    context = browser.new_context(viewport={"width": width, "height": height})
    yield context
    context.close()


# One browser context per test module and width, so plotly.js (4.8 MB, cached for a day) is
# fetched and compiled once per module rather than cold for every test; each test still
# gets a page of its own, and the page keeps no state outside its URL.
@pytest.fixture(scope="module")
def context_1280(browser):
    yield from _context(browser, 1280, 900)


@pytest.fixture(scope="module")
def context_1024(browser):
    yield from _context(browser, 1024, 900)


def _probe_in(context, base_url: str) -> Iterator[Probe]:
    p = _make_probe(context, base_url)
    yield p
    p.page.close()
    assert p.unexpected_errors() == [], "console errors"
    assert p.outside == [], "requests left 127.0.0.1"


@pytest.fixture
def probe(context_1280, server_url) -> Iterator[Probe]:
    """A fresh 1280 px page; after the test, no unexpected console error and no outside request."""
    yield from _probe_in(context_1280, server_url)


@pytest.fixture
def probe_1024(context_1024, server_url) -> Iterator[Probe]:
    yield from _probe_in(context_1024, server_url)


# The screens issue 17 names: a phone, a tablet and a desktop (CSS px).
SIZES = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1280, 900)}


@pytest.fixture(scope="module")
def context_390(browser):
    yield from _context(browser, 390, 844)


@pytest.fixture(scope="module")
def context_768(browser):
    yield from _context(browser, 768, 1024)


@pytest.fixture
def probe_390(context_390, server_url) -> Iterator[Probe]:
    yield from _probe_in(context_390, server_url)


@pytest.fixture
def probe_768(context_768, server_url) -> Iterator[Probe]:
    yield from _probe_in(context_768, server_url)


@pytest.fixture(scope="module", params=list(SIZES))
def sized_context(request, browser):
    """A context per screen of SIZES, for a module's tests run at each: (name, context)."""
    for context in _context(browser, *SIZES[request.param]):
        yield request.param, context


@pytest.fixture
def sized(sized_context, server_url) -> Iterator[tuple[str, Probe]]:
    name, context = sized_context
    for p in _probe_in(context, server_url):
        yield name, p


def take_screenshots() -> bool:
    """Screenshots for people are written only when asked (bash scripts/screenshots.sh)."""
    return os.environ.get("LSTMVIS_SCREENSHOTS") == "1"

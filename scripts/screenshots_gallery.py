"""Screenshots of the gallery's trained models for people: the adding problem and the
balanced parentheses (Dyck-1), each opened from the gallery with its watched units selected
and its first key step shown, at 1280 px, in English and Korean.

    .venv-test/bin/python scripts/screenshots_gallery.py [--out /tmp/shots-gallery]

Starts the app on a free port with a fresh data directory (the gallery installs itself on
first start), opens the page with no view in the link (so on the adding model), then the
parentheses model by its card.  For each: the whole page, the gallery's box, the diagram,
the cell view and the heatmaps; then each stop of its guided path, the view it brings on
screen at its pass and step.  Needs Debian's chromium.  Writes PNGs only; nothing is compared.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live_server import ServerProcess  # noqa: E402

WIDTH = 1280
LANGS = ("en", "ko")
TASKS = ("adding", "dyck")
TIMEOUT_MS = 60_000
PARTS = {
    "gallery": "#gallery",
    "diagram": ".diagram-panel",
    "cell": ".cell-panel",
    "heatmaps": ".heat-panel",
    "units": ".unit-panel",
}
# The guided path's views; the gradient flow is the backward diagram.
PATH_VIEWS = {"diagram": ".diagram-panel", "cell": ".cell-panel", "heatmaps": ".heat-panel", "flow": ".diagram-panel"}


def follow_path(page, out: Path, name: str) -> list[Path]:
    """Each stop of the guided path pressed in turn: the view it brings on screen, drawn at its
    pass and step."""
    written = []
    stops = page.get_by_test_id("gallery-tour-go")
    for n in range(stops.count()):
        stop = stops.nth(n)
        view, mode, step = (stop.get_attribute(f"data-{k}") for k in ("view", "mode", "step"))
        stop.click()
        page.wait_for_selector(f'[data-testid=mode-{mode}][aria-pressed="true"]', timeout=TIMEOUT_MS)
        page.wait_for_function(
            "s => document.querySelector('[data-testid=diagram]').dataset.step === s", arg=step, timeout=TIMEOUT_MS
        )
        page.wait_for_timeout(600)
        written.append(out / f"{name}-path{n + 1}-{view}.png")
        page.locator(PATH_VIEWS[view]).first.screenshot(path=str(written[-1]))
    page.get_by_test_id("gallery-tour-go").first.click()  # back to the forward pass
    page.wait_for_selector('[data-testid=mode-forward][aria-pressed="true"]', timeout=TIMEOUT_MS)
    return written


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": WIDTH, "height": 900})
            page = context.new_page()
            for lang in LANGS:
                page.goto(f"{url}/?lang={lang}")
                for task in TASKS:
                    if task != "adding":
                        page.get_by_test_id(f"gallery-open-{task}-lstm").click()
                    page.wait_for_selector(f'[data-testid=gallery][data-active="{task}"]', timeout=TIMEOUT_MS)
                    page.wait_for_selector('body[data-state="ready"]', timeout=TIMEOUT_MS)
                    page.wait_for_timeout(600)  # the heatmaps and charts settle after ready
                    name = f"{task}-{WIDTH}-{lang}"
                    written.append(out / f"{name}-page.png")
                    page.screenshot(path=str(written[-1]), full_page=True)
                    for part, selector in PARTS.items():
                        written.append(out / f"{name}-{part}.png")
                        page.locator(selector).first.screenshot(path=str(written[-1]))
                    written += follow_path(page, out, name)
            context.close()
        finally:
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/shots-gallery"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(str(Path(tmp) / "data"))
        try:
            for path in shoot(server.url, args.out):
                print(path)
        finally:
            server.stop()


if __name__ == "__main__":
    main()

"""Screenshots of the whole page for people, at phone, tablet and desktop widths, in English
and Korean (issue 17: the page on any screen).

    .venv-test/bin/python scripts/screenshots_page.py [--out /tmp/shots-page]

Starts the app on a free port with a fresh data directory (the gallery installs itself on
first start), opens the page with no view in the link (so on the gallery's default model),
waits until the first diagram is drawn and writes one full-page PNG per width and language
(`page-{width}-{lang}.png`); at phone width also one with the controls' drawer open
(`page-{width}-{lang}-drawer.png`).  Needs Debian's chromium.  Nothing is compared.
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

SIZES = ((390, 844), (768, 1024), (1280, 900))
LANGS = ("en", "ko")
TIMEOUT_MS = 60_000


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width, height in SIZES:
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                for lang in LANGS:
                    page.goto(f"{url}/?lang={lang}")
                    page.wait_for_selector('body[data-state="ready"]', timeout=TIMEOUT_MS)
                    page.wait_for_selector("[data-testid=diagram][data-step]", timeout=TIMEOUT_MS)
                    page.wait_for_timeout(600)  # the heatmaps and charts settle after ready
                    written.append(out / f"page-{width}-{lang}.png")
                    page.screenshot(path=str(written[-1]), full_page=True)
                    drawer = page.get_by_test_id("controls-drawer")
                    if drawer.is_visible():
                        drawer.click()
                        written.append(out / f"page-{width}-{lang}-drawer.png")
                        page.screenshot(path=str(written[-1]), full_page=False)
                        drawer.click()
                context.close()
        finally:
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/shots-page"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lstmvis-shots-") as data:
        server = ServerProcess(data, log=args.out / "server.log")
        try:
            for path in shoot(server.url, args.out):
                print(path)
        finally:
            server.stop()


if __name__ == "__main__":
    main()

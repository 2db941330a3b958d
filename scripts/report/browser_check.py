"""Renders a dispr report page in a real browser (Debian's headless Chromium, driven by
Playwright) and fails on what a reader would see broken: a picture that does not load, a
link to a file that is not there, a link that leaves the folder for the network, a
console error or an uncaught script error. Saves a full-page screenshot.

Usage: python scripts/report/browser_check.py PAGE.html SCREENSHOT.png [WIDTH] [--sections ID,ID]
With --sections, also a screenshot of the window scrolled to each element ID
(SCREENSHOT's name with -ID added), for the docs.
Needs: `pip install playwright` (no browser download: it drives /usr/bin/chromium, from
Debian's `chromium` package; CHROMIUM overrides the path).
"""

import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from playwright.sync_api import sync_playwright

# As the machine's notes say: no network, no first-run or background connections.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def check(page_file: Path, screenshot: Path, width: int = 1280, sections: list[str] = ()) -> list[str]:
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=FLAGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url[:120]}"))
        page.goto(page_file.resolve().as_uri(), wait_until="load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.getAttribute('alt') || e.src.slice(0, 60), e.complete && e.naturalWidth > 0])"
        )
        for alt, loaded in images:
            if not loaded:
                problems.append(f"picture does not load: {alt}")
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            url = urlparse(href)
            if url.scheme in ("http", "https"):
                problems.append(f"link leaves the report for the network: {href}")
            elif url.scheme in ("", "file") and not href.startswith("#"):
                target = (page_file.parent / unquote(url.path)).resolve()
                if not target.exists():
                    problems.append(f"broken link: {href}")
        page.screenshot(path=str(screenshot), full_page=True)
        for section in sections:
            if not page.evaluate("id => { const e = document.getElementById(id); if (e) e.scrollIntoView(); return !!e; }", section):
                problems.append(f"no section #{section}")
                continue
            shot = screenshot.with_name(f"{screenshot.stem}-{section}{screenshot.suffix}")
            page.screenshot(path=str(shot))
            print(f"section #{section}: {shot}")
        print(f"{page_file}: {len(images)} pictures, title '{page.title()}'; screenshot {screenshot}")
        browser.close()
    return problems


if __name__ == "__main__":
    args = sys.argv[1:]
    sections: list[str] = []
    if "--sections" in args:
        i = args.index("--sections")
        sections = [s for s in args[i + 1].split(",") if s] if i + 1 < len(args) else []
        del args[i:i + 2]
    if len(args) < 2:
        sys.exit(__doc__)
    found = check(Path(args[0]), Path(args[1]), int(args[2]) if len(args) > 2 else 1280, sections)
    for line in found:
        print(f"problem: {line}", file=sys.stderr)
    sys.exit(1 if found else 0)

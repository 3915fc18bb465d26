"""Look at the report the way a user sees it: open it in headless Chromium (Debian's package,
driven by Playwright) and save a PNG of its top part, with every request refused and counted.

    python scripts/render_report.py reports/report.html docs/report.png [--width 1100 --height 2200]

Needs `apt-get install chromium` and `pip install playwright` (the dev extra). Exits non-zero if
the page asked for anything beyond its own file or raised a script error.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def render(html: Path, png: Path, width: int = 1100, height: int = 2200, scale: float = 0.75) -> list[str]:
    """Screenshot the page's top `height` CSS pixels at `scale`; returns what went wrong (empty: clean)."""
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        return ["no chromium found (apt-get install chromium)"]
    problems: list[str] = []
    url = html.resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=scale)
        page.route("**/*", lambda route: route.continue_() if route.request.url == url else
                   (problems.append(f"request: {route.request.url}"), route.abort()))
        page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
        page.goto(url)
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png), clip={"x": 0, "y": 0, "width": width, "height": height})
        browser.close()
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--width", type=int, default=1100)
    ap.add_argument("--height", type=int, default=2200)
    ap.add_argument("--scale", type=float, default=0.75)
    args = ap.parse_args()
    problems = render(args.html, args.png, args.width, args.height, args.scale)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"wrote {args.png} ({args.png.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()

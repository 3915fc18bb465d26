"""Look at the report the way a user sees it: render it in headless Chromium to a PNG.

    python scripts/render_report.py reports/report.html reports/report.png [--width 1200]

Needs Debian's `chromium` package (apt-get install chromium). Network access is switched off for
the browser, so anything the report tried to load from outside would show up missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def render(html: Path, png: Path, width: int = 1200, height: int = 6000) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("error: no chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
                        f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
                        html.resolve().as_uri()], check=True, capture_output=True, timeout=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=6000)
    args = ap.parse_args()
    render(args.html, args.png, args.width, args.height)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()

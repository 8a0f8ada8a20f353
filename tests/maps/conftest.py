"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, network disabled.

A missing browser fails loudly (CI installs it in .ci/run); screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("No Chromium found: install Debian's chromium package (bash .ci/run does).")


class OfflinePage:
    """A page in an offline context that records console errors and refused network requests."""

    def __init__(self, browser, viewport=(1400, 850)):
        self.context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, offline=True
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.remote: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r):
            if r.request.url.startswith(("http://", "https://")):
                self.remote.append(r.request.url)
                return r.abort()
            return r.continue_()

        self.page.route("**/*", route)

    def open(self, path: Path, timeout_ms: int = 10_000):
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("window.pw && window.pw.ready", timeout=timeout_ms)
        return self.page

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        out = ARTIFACTS / name
        self.page.screenshot(path=str(out))
        return out

    def close(self):
        self.context.close()


# The fixtures `browser` and `offline_page` live in tests/conftest.py: one browser for every
# folder that needs it (tests/maps, tests/hostile); two session browsers cannot run at once.

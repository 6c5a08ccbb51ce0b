"""A real headless Chromium (Debian's ``chromium``, installed by
scripts/test-services.sh) driven by Playwright. Playwright never downloads a
browser here: it is given the system one."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LEVANTE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
#: The screenshots in README.md and docs/console.md are taken by these tests.
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        f"the console tests need Chromium at {CHROMIUM}: run scripts/test-services.sh (make test does)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser_context(playwright_driver, tmp_path_factory):
    """One browser for the session, on a fresh profile directory."""
    ctx = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
        args=ARGS, viewport={"width": 1280, "height": 860}, locale="en-US", timezone_id="UTC")
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(browser_context):
    """A tab that fails the test on any JavaScript error or failed API call."""
    pg = browser_context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.problems = problems
    yield pg
    pg.close()
    assert not problems, "\n".join(problems)


def shoot(page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

"""The console's browser tests: headless Chromium (playwright), a phone-sized page, screenshots as artefacts."""

import shutil
from collections.abc import Callable

import pytest

from tests.infra import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (deploy/local/chromium.sh install)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A phone-sized page; the test errors if the console broke its Content-Security-Policy meanwhile."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, locale="zh-CN")
    opened = context.new_page()
    violations: list[str] = []

    def keep_violation(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    opened.on("console", keep_violation)
    yield opened
    context.close()
    assert violations == []


@pytest.fixture
def shot() -> Callable:
    """Save a full-page screenshot under test-artifacts/screenshots/<name>.png (`full_page=False`: the viewport, as
    for a modal dialog, which a full-page capture would draw in the middle of the page)."""

    def take(page, name: str, full_page: bool = True) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

    return take

"""The console as a person meets it in headless Chromium: signing in."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.clients import password_of


def log_in(page: Page, api_url: str, username: str, password: str | None = None, wait_for: str = "#inbox") -> None:
    """Sign in through the login form (the test accounts' password unless given) and wait for the first page."""
    page.goto(api_url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or password_of(username))
    page.click("#login button[type=submit]")
    page.wait_for_selector(wait_for)

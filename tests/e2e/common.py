"""The browser tests' Python side, shared by every script of tests/e2e/.

The scripts are run by tests/browser.rs through tests/common/browser.rs,
which starts `pipedesk serve` for a desk in a temp folder and passes:

    PIPEDESK_URL        the server, http://127.0.0.1:PORT
    PIPEDESK_ADDRESS    the admin who signs in
    PIPEDESK_PASSWORD   their password
    PIPEDESK_CHROMIUM   Debian's Chromium (Playwright's own download cannot work here)
    PIPEDESK_OUT        a folder for what a script saves

While a script runs, the Rust harness does what only it does: deliver a
message, run a command, show a ticket (`Desk.ask`: a line `@pipedesk {json}`
on stdout, the answer one JSON line on stdin).  Every page a script opens is
watched for Content-Security-Policy violations and uncaught errors; `Pages.
assert_clean` fails the script if there were any.

A script fails by raising (an AssertionError, or Playwright's TimeoutError
from an `expect` that did not come true in time); the harness shows its
output.  Speed is never checked with sleeps: "within a second" is an
`expect(...)` with a 1 s timeout, started after the change was made.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

URL = os.environ["PIPEDESK_URL"]
ADDRESS = os.environ["PIPEDESK_ADDRESS"]
PASSWORD = os.environ["PIPEDESK_PASSWORD"]
CHROMIUM = os.environ["PIPEDESK_CHROMIUM"]
OUT = os.environ["PIPEDESK_OUT"]

JOHN = "john@example.com"
MEMBER = "ann@example.org"

# Chromium as a test needs it: no sandbox (CI runs as root), nothing that
# would reach for the network or a GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The board is live: what a change does shows within this (SPEC §6).
SECOND = 1000

# Anything else a page is given to do (load, sign in, answer a drop).  Long
# enough for a debug build on a busy 2-core machine; a speed check uses
# SECOND.
PATIENCE = 10_000
expect.set_options(timeout=PATIENCE)

# An inline script or style the page tried and the CSP refused; reported
# from inside the page, where it happens, before any of the page's scripts.
CSP_WATCH = """
window.e2eCspReports = 0;
document.addEventListener("securitypolicyviolation", (e) => {
  window.e2eCspReports += 1;
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || location.href}:${e.lineNumber}`);
});
"""


def log(*a) -> None:
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Desk:
    """What the Rust harness does for a script (tests/common/browser.rs)."""

    @staticmethod
    def ask(do: str, **args) -> dict | list:
        print("@pipedesk " + json.dumps({"do": do, **args}), flush=True)
        line = sys.stdin.readline()
        if not line:
            raise RuntimeError(f"the harness went away while asked to {do}")
        answer = json.loads(line)
        if isinstance(answer, dict) and "error" in answer:
            raise RuntimeError(f"the harness could not {do}: {answer['error']}")
        return answer

    def open_ticket(self, sender: str, subject: str, body: str = "Hello,\n\nit does not work.\n") -> int:
        """A new request by mail (`pipedesk deliver` to submit@)."""
        return self.ask("open_ticket", **{"from": sender, "subject": subject, "body": body})["ticket"]

    def deliver(self, to: str, sender: str, subject: str, body: str) -> dict:
        """`pipedesk deliver` of a message to one of our addresses."""
        r = self.ask("deliver", to=to, **{"from": sender, "subject": subject, "body": body})
        assert r["code"] == 0, f"deliver to {to}: {r}"
        return r

    def run(self, *args: str, stdin: str = "") -> dict:
        """`pipedesk ARGS…`; asserts exit 0."""
        r = self.ask("run", args=list(args), stdin=stdin)
        assert r["code"] == 0, f"pipedesk {' '.join(args)}: {r}"
        return r

    def show(self, n: int) -> dict:
        """`pipedesk show N --json`."""
        return self.ask("show", ticket=n)

    def outbox(self) -> list[dict]:
        """Every mail sent so far: {"to": [...], "subject", "body"}."""
        return self.ask("outbox")


class Pages:
    """The browser, and a watch on every page it opens."""

    def __init__(self, browser: Browser):
        self.browser = browser
        self.problems: list[str] = []
        self.contexts: list[BrowserContext] = []

    def context(self, **kw) -> BrowserContext:
        kw.setdefault("viewport", {"width": 1400, "height": 900})
        kw.setdefault("accept_downloads", True)
        ctx = self.browser.new_context(**kw)
        ctx.set_default_timeout(PATIENCE)
        ctx.add_init_script(CSP_WATCH)
        ctx.on("page", self.watch)
        self.contexts.append(ctx)
        return ctx

    def watch(self, page: Page) -> None:
        def console(m):
            text = m.text
            # Chromium reports a refused inline script or style itself, and
            # CSP_WATCH reports every violation: either is a failure.
            if "Content Security Policy" in text or text.startswith("CSP violation"):
                self.problems.append(f"{page.url}: {text}")
            if m.type == "error":
                log(f"console error on {page.url}: {text}")

        page.on("console", console)
        page.on("pageerror", lambda e: self.problems.append(f"{page.url}: uncaught {e}"))

    def signed_in(self, address: str = ADDRESS, password: str = PASSWORD) -> Page:
        """A new context whose member of staff signed in through the login
        form; its page shows the board."""
        page = self.context().new_page()
        page.goto(URL + "/")
        # Not signed in: the board sends us to the form.
        expect(page).to_have_url(URL + "/login")
        form = page.locator("form.login")
        form.locator("input[name=address]").fill(address)
        form.locator("input[name=password]").fill(password)
        form.locator("button[type=submit]").click()
        expect(page).to_have_url(URL + "/")
        expect(page.locator("#live")).to_have_text("live")
        return page

    def assert_clean(self) -> None:
        assert not self.problems, "pages broke the CSP or threw:\n" + "\n".join(self.problems)


def run(scenarios: dict) -> None:
    """Runs the scenario named by argv[1] as scenario(pages, desk)."""
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in scenarios:
        raise SystemExit(f"usage: {sys.argv[0]} {'|'.join(scenarios)}")
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = Pages(browser)
        try:
            scenarios[name](pages, Desk())
            pages.assert_clean()
        finally:
            browser.close()
    log(f"{name}: passed in {time.monotonic() - started:.1f} s")


# ---- the board's names (SPEC §6 "For scripts and tests") ------------------

# Only the names SPEC §6 keeps stable: a cell is what carries data-status
# and data-owner and holds cards (a card carries them too, for its colour).
def cell(page: Page, status: str, owner: str = ""):
    return page.locator(f'[data-status="{status}"][data-owner="{owner}"]:not([data-ticket])')


def card(page: Page, n: int):
    return page.locator(f'[data-ticket="{n}"]')


def card_in(page: Page, n: int, status: str, owner: str = ""):
    return cell(page, status, owner).locator(f'[data-ticket="{n}"]')


def words(text: str):
    """A regex that finds `text` as it is."""
    return re.compile(re.escape(text))

"""The README's screenshots, taken in a real Chromium (issue 12):

    shoot N   the board of a busy desk (tests/browser.rs imports a week of
              mail and moves the tickets to their columns and lanes) as
              board.png, after checking that every cell holds at least two
              cards and the board is live; and ticket N's thread, a few
              messages with attachments, a comment and status changes, as
              thread.png. Both go to PIPEDESK_OUT (docs/screenshots when
              tests/browser.rs is run with PIPEDESK_SCREENSHOTS=docs/screenshots).

Run by tests/browser.rs: python screenshots.py shoot N (see common.py).
"""

from __future__ import annotations

import os
import sys

from playwright.sync_api import expect

from common import OUT, URL, cell, log, run

STATUSES = ["new", "open", "stalled", "resolved"]
LANES = ["", "stef@example.org", "ann@example.org"]


def shoot(pages, desk):
    n = int(sys.argv[2])
    page = pages.signed_in()
    page.set_viewport_size({"width": 1440, "height": 900})
    for owner in LANES:
        for status in STATUSES:
            cards = cell(page, status, owner).locator("[data-ticket]")
            expect(cards.nth(1)).to_be_visible()
    expect(page.locator("#live")).to_have_text("live")
    # The cards' entry animation is over: a screenshot of a still board.
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
    page.screenshot(path=os.path.join(OUT, "board.png"), full_page=True)
    log(f"board.png: {page.locator('[data-ticket]').count()} cards")

    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(f"{URL}/tickets/{n}")
    expect(page.locator(".history .entry")).to_have_count(5)
    expect(page.locator("a[data-attachment]")).to_have_count(2)
    page.screenshot(path=os.path.join(OUT, "thread.png"), full_page=True)
    log(f"thread.png: ticket #{n}")


if __name__ == "__main__":
    run({"shoot": shoot})

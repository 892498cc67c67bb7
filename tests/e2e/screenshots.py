"""The README's screenshots, taken in a real Chromium (issues 12 and 17):

    shoot N   the board of a busy desk (tests/browser.rs imports a week of
              mail and moves the tickets to their columns and lanes) as
              board.png, after checking that every cell holds at least two
              cards and the board is live; ticket N's thread, a few
              messages with attachments, a folded quote, a comment and
              status changes, as thread.png; the merge question as
              merge.png; the list and the thread at a phone's width as
              phone-list.png and phone-thread.png. Then every page —
              sign-in, board, list, thread, the merge question, the
              new-ticket page where there is one — at a laptop's 1366×800
              and a phone's 375×800, into every-page/ (wide-NAME.png,
              phone-NAME.png, not kept in git), each checked for sideways
              scrolling (but the board's own, inside it). All go to
              PIPEDESK_OUT (docs/screenshots when tests/browser.rs is run
              with PIPEDESK_SCREENSHOTS=docs/screenshots; then
              `pngquant --force --ext .png docs/screenshots/*.png` keeps
              each under 150 KB).

Run by tests/browser.rs: python screenshots.py shoot N (see common.py).
"""

from __future__ import annotations

import os
import sys

from playwright.sync_api import expect

from common import OUT, URL, cell, log, run

STATUSES = ["new", "open", "stalled", "resolved"]
LANES = ["", "stef@example.org", "ann@example.org"]


WIDE = {"width": 1366, "height": 800}
PHONE = {"width": 375, "height": 800}
SIZES = {"wide": WIDE, "phone": PHONE}


def shoot(pages, desk):
    n = int(sys.argv[2])
    page = pages.signed_in()
    page.set_viewport_size(WIDE)
    for owner in LANES:
        for status in STATUSES:
            cards = cell(page, status, owner).locator("[data-ticket]")
            expect(cards.nth(1)).to_be_visible()
    expect(page.locator("#live")).to_have_text("live")
    # The cards' entry animation is over: a screenshot of a still board.
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
    page.screenshot(path=os.path.join(OUT, "board.png"))
    log(f"board.png: {page.locator('[data-ticket]').count()} cards")

    page.goto(f"{URL}/tickets/{n}")
    expect(page.locator(".history .entry")).to_have_count(5)
    expect(page.locator("a[data-attachment]")).to_have_count(2)
    expect(page.locator("details.quoted")).to_have_count(1)
    # Tall enough for the folded quote of the third message.
    page.set_viewport_size({"width": 1366, "height": 1160})
    page.screenshot(path=os.path.join(OUT, "thread.png"))
    page.set_viewport_size(WIDE)
    log(f"thread.png: ticket #{n}")

    other = n + 1 if n == 1 else n - 1
    page.goto(f"{URL}/tickets/{other}/merge?into={n}")
    page.screenshot(path=os.path.join(OUT, "merge.png"))
    log(f"merge.png: #{other} into #{n}")

    page.set_viewport_size(PHONE)
    page.goto(f"{URL}/tickets")
    page.screenshot(path=os.path.join(OUT, "phone-list.png"))
    page.goto(f"{URL}/tickets/{n}")
    page.screenshot(path=os.path.join(OUT, "phone-thread.png"))
    log("phone-list.png, phone-thread.png")

    every_page(pages, page, n)


def every_page(pages, page, n):
    """Every page at both sizes, the whole page, to look at:
    every-page/wide-NAME.png and phone-NAME.png."""
    folder = os.path.join(OUT, "every-page")
    os.makedirs(folder, exist_ok=True)
    other = n + 1 if n == 1 else n - 1
    paths = {"board": "/", "list": "/tickets", "thread": f"/tickets/{n}",
             "merge": f"/tickets/{other}/merge?into={n}"}
    if page.request.get(URL + "/tickets/new").status == 200:
        paths["new"] = "/tickets/new"
    wide = []
    for size, viewport in SIZES.items():
        signed_out = pages.context(viewport=viewport).new_page()
        signed_out.goto(URL + "/login")
        signed_out.screenshot(path=os.path.join(folder, f"{size}-login.png"))
        signed_out.context.close()
        page.set_viewport_size(viewport)
        for name, path in paths.items():
            page.goto(URL + path)
            page.wait_for_load_state("load")
            if name == "board":
                expect(page.locator("#live")).to_have_text("live")
                page.wait_for_function(
                    "() => document.getAnimations().every((a) => a.playState !== 'running')")
            if name == "thread":
                # The side column's forms and mail list in the picture too.
                page.locator(".conversation .entry").first.scroll_into_view_if_needed()
            over = page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")
            if over > 0:
                wide.append(f"{path} scrolls sideways by {over} px at {viewport['width']} px")
            page.screenshot(path=os.path.join(folder, f"{size}-{name}.png"), full_page=True)
            log(f"{size}-{name}.png: {path}")
    # After the pictures, which show what is wrong.
    assert not wide, wide


if __name__ == "__main__":
    run({"shoot": shoot})

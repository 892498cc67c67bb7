"""SLA deadlines shown to people in a real Chromium (SPEC §8, issue 19):

    shoot   the board: the breached ticket's card stands out (class
            `sla-breached`, "SLA breached" on its SLA line), the running
            one's card shows its next deadline and does not; the stalled
            one says its clocks are paused; the thread page of the
            breached ticket marks the breached clock and names the SLA;
            then board and thread at a laptop's and a phone's width, as
            sla-board.png, sla-thread.png, sla-list.png (the list
            sorted by due: each ticket's nearest deadline),
            sla-phone-board.png, sla-phone-thread.png, sla-phone-list.png,
            each checked for sideways scrolling
            (but the board's own, inside it).

Tickets (from tests/browser_sla.rs), all of queue billing on the SLA
`standard`: 1 opened three days ago and never answered (first response
breached), 2 opened just now (running), 3 stalled. Run by
tests/browser_sla.rs: python sla.py shoot (see common.py).
"""

from __future__ import annotations

import os
import re

from playwright.sync_api import expect

from common import OUT, URL, card, log, run

BREACHED = re.compile(r"(^|\s)sla-breached(\s|$)")
WIDE = {"width": 1366, "height": 800}
PHONE = {"width": 375, "height": 800}


def no_sideways_scrolling(page, name):
    wide = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not wide, f"{name} scrolls sideways"


def shoot(pages, desk):
    page = pages.signed_in()
    page.set_viewport_size(WIDE)
    late, running, paused = card(page, 1), card(page, 2), card(page, 3)
    expect(late).to_have_class(BREACHED)
    expect(late.locator(".sla")).to_contain_text("SLA breached")
    expect(late.locator(".sla")).to_contain_text("answer by")
    expect(running).not_to_have_class(BREACHED)
    expect(running.locator(".sla")).to_contain_text("answer by")
    expect(running.locator(".sla")).not_to_contain_text("breached")
    expect(paused.locator(".sla")).to_contain_text("(paused)")
    expect(page.locator("#live")).to_have_text("live")
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
    page.screenshot(path=os.path.join(OUT, "sla-board.png"))

    page.goto(f"{URL}/tickets/1")
    sla = page.locator("dd.sla")
    expect(sla).to_contain_text("standard")
    expect(sla.locator('.clock.breached[data-clock="first_response"]')).to_contain_text("breached")
    expect(sla.locator('.clock[data-clock="resolve"]')).to_be_visible()
    page.screenshot(path=os.path.join(OUT, "sla-thread.png"))
    no_sideways_scrolling(page, "the thread")

    page.goto(f"{URL}/tickets?sort=due")
    expect(page.locator(".sla-due.breached")).to_have_count(1)
    expect(page.locator(".sla-due").nth(1)).to_contain_text("(paused)")
    page.screenshot(path=os.path.join(OUT, "sla-list.png"))
    no_sideways_scrolling(page, "the list")

    page.set_viewport_size(PHONE)
    page.goto(f"{URL}/tickets?sort=due")
    page.screenshot(path=os.path.join(OUT, "sla-phone-list.png"))
    no_sideways_scrolling(page, "the list on a phone")
    page.goto(f"{URL}/")
    expect(card(page, 1)).to_have_class(BREACHED)
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")
    page.screenshot(path=os.path.join(OUT, "sla-phone-board.png"))
    page.goto(f"{URL}/tickets/1")
    expect(page.locator("dd.sla")).to_be_visible()
    page.screenshot(path=os.path.join(OUT, "sla-phone-thread.png"))
    no_sideways_scrolling(page, "the thread on a phone")
    log("sla-board.png, sla-thread.png, sla-list.png and at a phone's width")


if __name__ == "__main__":
    run({"shoot": shoot})

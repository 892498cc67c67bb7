"""A rule's hook runs on the thread page in a real Chromium (SPEC §8):

    thread N TOKEN   ticket N's "Mail and hooks for this ticket" lists the
                     webhook of rule chat by its rule and host, failed,
                     with its tries, next try and error, and never its
                     URL's path (TOKEN); the program of rule sms, sent;
                     the mail beside them as before. Screenshots of the
                     page at a laptop's and a phone's width
                     (hook-runs-wide.png, hook-runs-phone.png and the
                     list alone, hook-runs-phone-list.png), the phone's
                     without sideways scrolling.

Run by tests/browser_hook_runs.rs: python hook_runs.py thread N TOKEN (see
common.py).
"""

from __future__ import annotations

import os
import sys

from playwright.sync_api import expect

from common import OUT, URL, log, run

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 800}


def thread(pages, desk):
    n, token = int(sys.argv[2]), sys.argv[3]
    page = pages.signed_in()
    page.set_viewport_size(WIDE)
    page.goto(f"{URL}/tickets/{n}")
    expect(page.get_by_role("heading", name="Mail and hooks for this ticket")).to_be_visible()
    lines = page.locator("ul.mail li")
    webhook = lines.filter(has_text="webhook of rule chat (127.0.0.1)")
    expect(webhook).to_have_count(1)
    expect(webhook.locator(".mstate")).to_have_text("failed")
    expect(webhook).to_contain_text("2 tries")
    expect(webhook).to_contain_text("next try")
    expect(webhook.locator(".merror")).to_contain_text("webhook to 127.0.0.1")
    program = lines.filter(has_text="program of rule sms")
    expect(program).to_have_count(1)
    expect(program.locator(".mstate")).to_have_text("sent")
    expect(program.locator(".merror")).to_have_count(0)
    expect(lines.filter(has_text="autoreply to")).to_have_count(1)
    text = page.locator("body").inner_text()
    assert token not in text and token not in page.content(), "the URL's path is shown"
    assert "+491701234567" not in text, "the program's arguments are shown"
    webhook.scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(OUT, "hook-runs-wide.png"), full_page=True)
    log("hook-runs-wide.png")

    page.set_viewport_size(PHONE)
    page.goto(f"{URL}/tickets/{n}")
    expect(webhook).to_be_visible()
    sideways = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert sideways <= 0, f"the phone's page scrolls sideways by {sideways}px"
    page.screenshot(path=os.path.join(OUT, "hook-runs-phone.png"), full_page=True)
    # The list alone, to read at its size.
    page.locator("ul.mail").screenshot(path=os.path.join(OUT, "hook-runs-phone-list.png"))
    log("hook-runs-phone.png, hook-runs-phone-list.png")


if __name__ == "__main__":
    run({"thread": thread})

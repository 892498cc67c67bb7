"""A ticket's own fields in a real Chromium (SPEC §6, issue 17):

    board   each card shows its priority (none for normal) and its due date;
            an overdue card stands out (class `overdue`, "(overdue)" on its
            due line) and one resolved does not; a priority and a due date
            set at the terminal show on the open board within a second
    thread  the thread page's priority, due, queue and watcher forms change
            the ticket (checked with `show --json`): the due date typed in
            the browser's date-and-time field is read in site.timezone

Tickets 1 and 2 (from tests/browser_fields.rs) are John's; ticket 1 is
urgent and was due on 2026-01-02 09:00, site.timezone is Europe/Paris.
Run by tests/browser_fields.rs: python fields.py SCENARIO (see common.py).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from common import SECOND, URL, card, log, run

# The class of an overdue card, among the others a card may have.
OVERDUE = re.compile(r"(^|\s)overdue(\s|$)")


def board(pages, desk):
    page = pages.signed_in()
    one, two = card(page, 1), card(page, 2)
    expect(one.locator(".priority")).to_have_text("urgent")
    expect(one).to_have_class(OVERDUE)
    expect(one.locator(".due")).to_contain_text("(overdue)")
    # Normal is not shown; no due date, no due line.
    expect(two.locator(".priority")).to_be_hidden()
    expect(two.locator(".due")).to_be_hidden()
    desk.run("priority", "2", "high")
    desk.run("due", "2", "+3d")
    expect(two.locator(".priority")).to_have_text("high", timeout=SECOND)
    expect(two.locator(".due")).to_be_visible(timeout=SECOND)
    expect(two.locator(".due")).not_to_contain_text("overdue")
    expect(two).not_to_have_class(OVERDUE)
    # Resolved, it is no longer overdue.
    desk.run("close", "1", "--quiet")
    expect(card(page, 1)).to_have_attribute("data-status", "resolved", timeout=SECOND)
    expect(card(page, 1).locator(".due")).not_to_contain_text("overdue")
    log("cards show priority and due; overdue stands out until resolved")


def thread(pages, desk):
    page = pages.signed_in()
    page.goto(f"{URL}/tickets/2")
    form = page.locator('form[data-action="priority"]')
    form.locator("select[name=priority]").select_option("urgent")
    form.locator("button[type=submit]").click()
    expect(page.locator(".ticket-fields .priority")).to_have_text("urgent")

    form = page.locator('form[data-action="due"]')
    form.locator("input[name=due]").fill("2026-12-24T17:00")
    form.locator("button[type=submit]").first.click()
    expect(page.locator(".ticket-fields")).to_contain_text("Thu 24 Dec 2026 17:00 CET")

    form = page.locator('form[data-action="queue"]')
    form.locator("select[name=queue]").select_option("web")
    form.locator("button[type=submit]").click()
    expect(page.locator('form[data-action="queue"] select[name=queue]')).to_have_value("web")

    form = page.locator('form[data-action="watch"]')
    form.locator("input[name=add]").fill("pat@example.org")
    form.locator("button[type=submit]").click()
    expect(page.locator('form[data-action="unwatch"] select[name=remove]')).to_have_value("pat@example.org")

    t = desk.show(2)
    got = (t["priority"], t["due"], t["queue"], t["watchers"])
    want = (2, "2026-12-24T16:00:00Z", "web", ["john@example.com", "pat@example.org"])
    assert got == want, f"ticket 2: {got}"
    log("the thread page's forms set priority, due (in the site's zone), queue and a watcher")


if __name__ == "__main__":
    run({"board": board, "thread": thread})

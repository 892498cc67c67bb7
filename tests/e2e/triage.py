"""Triage in a real Chromium (SPEC §6 `/tickets`, issue 17):

    jump   a ticket's number typed in the search box opens that ticket:
           `#2` in the header's box on the board lands on /tickets/2, `1`
           in the list page's own words field on /tickets/1, and a number
           that is no ticket (`#99`) says so on the list page, beside the
           box to try again. The list's filter form then shows the tickets
           nobody owns (owner "nobody") and those of one requestor.

Tickets (from tests/browser_triage.rs): 1 from john ("Printer on fire"),
2 from maria ("Scanner jammed"), 3 from john ("Toner empty"), 2 assigned
to ann.  Run by tests/browser_triage.rs: python triage.py jump.
"""

from __future__ import annotations

from playwright.sync_api import expect

from common import JOHN, URL, log, run


def rows(page):
    return page.locator("table.tickets tbody tr")


def jump(pages, desk):
    page = pages.signed_in()

    # The header's search box, on the board.
    box = page.get_by_role("search").locator("input[name=q]")
    box.fill("#2")
    box.press("Enter")
    expect(page).to_have_url(URL + "/tickets/2")
    expect(page.locator("h1")).to_have_text("#2 Scanner jammed")
    log("#2 in the header's box opened ticket 2")

    # The list page's own words field, a bare number.
    page.goto(URL + "/tickets")
    words = page.locator("form.filters input[name=q]")
    words.fill("1")
    page.locator("form.filters button[type=submit]").click()
    expect(page).to_have_url(URL + "/tickets/1")
    expect(page.locator("h1")).to_have_text("#1 Printer on fire")
    log("1 in the list's words field opened ticket 1")

    # A number that is no ticket is said so.
    box = page.get_by_role("search").locator("input[name=q]")
    box.fill("#99")
    box.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("no ticket #99")
    expect(page.get_by_role("search").locator("input[name=q]")).to_have_value("#99")
    log("#99 said there is no such ticket")

    # The filter form: owner nobody, then one requestor.
    page.goto(URL + "/tickets")
    expect(rows(page)).to_have_count(3)
    form = page.locator("form.filters")
    form.get_by_label("Owner").select_option("nobody")
    form.locator("button[type=submit]").click()
    expect(rows(page)).to_have_count(2)
    expect(rows(page).nth(0)).to_contain_text("Toner empty")
    expect(rows(page).nth(1)).to_contain_text("Printer on fire")
    form = page.locator("form.filters")
    form.get_by_label("Owner").select_option("")
    form.get_by_label("Requestor").fill("maria@example.net")
    form.locator("button[type=submit]").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).nth(0)).to_contain_text("Scanner jammed")
    form = page.locator("form.filters")
    form.get_by_label("Requestor").fill(JOHN)
    form.get_by_label("Queue").select_option("spam")
    form.locator("button[type=submit]").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).nth(0)).to_contain_text("No tickets.")
    log("the filter form shows nobody's tickets and one requestor's")


if __name__ == "__main__":
    run({"jump": jump})

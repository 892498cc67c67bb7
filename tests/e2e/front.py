"""The board takes its rules from the server (issue 16, audited after
issues 17-19):

    spam   a ticket marked as spam leaves the board of all queues live, and
           comes back when the mark is taken back: the script leaves out
           the queue the page names (data-spam), as /api/board does; the
           board of the queue `spam` shows it.

Tickets (from tests/browser_front.rs): 1 from john ("Printer on fire"), 2
from john ("Toner empty").  Run by tests/browser_front.rs: python front.py
spam.
"""

from __future__ import annotations

from playwright.sync_api import expect

from common import URL, card, card_in, log, run


def spam(pages, desk):
    page = pages.signed_in()
    expect(page.locator("#board")).to_have_attribute("data-spam", "spam")
    expect(card_in(page, 1, "new")).to_be_visible()
    expect(card_in(page, 2, "new")).to_be_visible()

    desk.run("spam", "1")
    expect(card(page, 1)).to_have_count(0)
    expect(card_in(page, 2, "new")).to_be_visible()
    log("ticket 1, marked as spam, left the board of all queues")

    spam_board = page.context.new_page()  # signed in, as `page` is
    spam_board.goto(URL + "/?queue=spam")
    expect(spam_board.locator("#live")).to_have_text("live")
    expect(card(spam_board, 1)).to_have_count(1)
    expect(card(spam_board, 2)).to_have_count(0)
    log("the board of the queue spam shows it")

    desk.run("spam", "1", "--undo")
    expect(card(page, 1)).to_have_count(1)
    expect(card(spam_board, 1)).to_have_count(0)
    log("taken back, it is on the board of all queues again")


if __name__ == "__main__":
    run({"spam": spam})

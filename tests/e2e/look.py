"""How the pages look and ask, in a real Chromium (SPEC §6, issue 17):

    phone     at a phone's width (375 px) no page scrolls sideways — the
              sign-in form, the board (its columns scroll inside it), the
              list, a search, the thread, the merge question and, where
              there is one, the new-ticket page — and the search box keeps
              a usable width
    merge     the thread's merge form leads to a question that shows both
              tickets (numbers, subjects, requestors, message counts);
              cancelling it comes back and changes nothing; confirming
              merges (tests/browser_look.rs checks the desk after)
    spam      the thread page's Spam button moves the ticket to spam and the
              page says so (tests/browser_look.rs checks that no mail went)
    keyboard  a key that would resolve a focused card asks first; dismissed,
              the card stays and nothing is sent; accepted, it resolves. The
              full-screen button says "Leave full screen" while it is
    quoted    a reply's quoted text is folded under "show quoted text" and
              opens on a click; the mail list shows each mail's state and
              time; each message downloads as it arrived (.eml)

Tickets (from tests/browser_look.rs): 1 John's printer, answered with a
quote; 2 Maria's scanner.  Run by tests/browser_look.rs: python look.py
SCENARIO (see common.py).
"""

from __future__ import annotations

import os
import re

from playwright.sync_api import expect

from common import JOHN, OUT, URL, card, card_in, log, run

PHONE = {"width": 375, "height": 800}


def scrolls_sideways(page) -> int:
    """How far the page scrolls sideways: 0 when it does not."""
    return page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")


def phone(pages, desk):
    # Signed out first: the sign-in form.
    page = pages.context(viewport=PHONE).new_page()
    page.goto(URL + "/login")
    assert scrolls_sideways(page) <= 0, f"/login scrolls sideways by {scrolls_sideways(page)} px"
    page.context.close()

    page = pages.signed_in()
    page.set_viewport_size(PHONE)
    paths = ["/", "/tickets", "/tickets?q=printer", "/tickets?status=new", "/tickets/1",
             "/tickets/1/merge?into=2"]
    if page.request.get(URL + "/tickets/new").status == 200:
        paths.append("/tickets/new")
    for path in paths:
        page.goto(URL + path)
        page.wait_for_load_state("load")
        if path == "/":
            expect(page.locator("#live")).to_have_text("live")
            expect(card(page, 1)).to_be_visible()
        over = scrolls_sideways(page)
        assert over <= 0, f"{path} scrolls sideways by {over} px at 375 px"
        search = page.locator("header.top .search input")
        width = search.bounding_box()["width"]
        assert width >= 200, f"{path}: the search box is {width} px wide"
        log(f"{path}: no sideways scroll at 375 px, search box {width:.0f} px")
    # The list's rows still say what matters.
    page.goto(URL + "/tickets")
    row = page.locator("table.tickets tbody tr").first
    expect(row.locator(".c-subject")).to_be_visible()
    expect(row.locator(".c-status")).to_be_visible()


def merge(pages, desk):
    page = pages.signed_in()
    page.goto(f"{URL}/tickets/2")
    before = desk.show(2)
    form = page.locator("form.merge")
    form.locator("input[name=into]").fill("1")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/tickets/2/merge\?into=1$"))
    question = page.locator("[data-question=merge]")
    expect(question.locator("h1")).to_have_text("Merge ticket #2 into ticket #1?")
    goes, stays = question.locator(".ticket-card").nth(0), question.locator(".ticket-card").nth(1)
    expect(goes).to_contain_text("#2 Scanner jammed")
    expect(goes).to_contain_text("maria@example.net")
    expect(goes.locator(".messages")).to_have_text("1")
    expect(stays).to_contain_text("#1 Printer on fire")
    expect(stays).to_contain_text(JOHN)
    expect(stays.locator(".messages")).to_have_text("2")
    log("the question shows both tickets")

    question.locator("a[data-action=cancel]").click()
    expect(page).to_have_url(f"{URL}/tickets/2")
    after = desk.show(2)
    assert (after["id"], after["version"]) == (2, before["version"]), after
    log("cancelled: ticket #2 unchanged")

    page.goto(f"{URL}/tickets/2/merge?into=%231")
    page.locator("form.confirm button[type=submit]").click()
    expect(page).to_have_url(f"{URL}/tickets/1")
    expect(page.locator(".facts .fields")).to_contain_text("#2")
    log("confirmed: #2 merged into #1")

    # A number that is no ticket: back to the thread, saying so.
    page.goto(f"{URL}/tickets/1/merge?into=99")
    expect(page).to_have_url(re.compile(r"/tickets/1\?notice="))
    expect(page.locator(".notice")).to_contain_text("99")


def spam(pages, desk):
    page = pages.signed_in()
    page.goto(f"{URL}/tickets/2")
    page.locator("button[data-action=spam]").click()
    expect(page).to_have_url(f"{URL}/tickets/2")
    expect(page.locator("button[data-action=not-spam]")).to_be_visible()
    assert desk.show(2)["queue"] == "spam"
    log("marked as spam from the thread page")


def keyboard(pages, desk):
    board = pages.signed_in()
    one = card(board, 1)
    expect(card_in(board, 1, "new")).to_be_visible()
    one.focus()
    for status in ["open", "stalled"]:
        with board.expect_response(lambda r: r.url.endswith("/api/tickets/1/move")):
            board.keyboard.press("ArrowRight")
        expect(card_in(board, 1, status)).to_be_visible()

    # One more: resolved, which mails John. Dismissed, nothing moves.
    asked = []
    sent = []
    board.on("request", lambda r: sent.append(r.url) if r.url.endswith("/move") else None)

    def dismiss(d):
        asked.append(d.message)
        d.dismiss()

    board.once("dialog", dismiss)
    board.keyboard.press("ArrowRight")
    expect(one).to_be_focused()
    assert asked == [f"Resolve #1 and mail the requestor ({JOHN})?"], asked
    expect(card_in(board, 1, "stalled")).to_be_visible()
    assert not sent, sent
    assert desk.show(1)["status"] == "stalled"
    log(f"asked {asked[0]!r}; dismissed, the card stayed")

    def accept(d):
        asked.append(d.message)
        d.accept()

    board.once("dialog", accept)
    with board.expect_response(lambda r: r.url.endswith("/api/tickets/1/move")) as answer:
        board.keyboard.press("ArrowRight")
    assert answer.value.status == 200
    expect(card_in(board, 1, "resolved")).to_be_visible()
    assert len(asked) == 2
    log("accepted: resolved")

    full = board.locator("#fullscreen")
    expect(full).to_have_text("Full screen")
    full.click()
    expect(full).to_have_text("Leave full screen")
    expect(board.locator("body")).to_have_class(re.compile(r"\bwall\b"))
    full.click()
    expect(full).to_have_text("Full screen")
    expect(board.locator("header.top")).to_be_visible()
    board.goto(URL + "/?wall=1")
    expect(board.locator("#fullscreen")).to_have_text("Leave full screen")
    log("the full-screen button says which way it goes")


def quoted(pages, desk):
    page = pages.signed_in()
    page.goto(f"{URL}/tickets/1")
    reply = page.locator(".entry").nth(1)
    expect(reply.locator("pre.body").first).to_contain_text("It is out now, thanks.")
    fold = reply.locator("details.quoted")
    expect(fold).to_have_count(1)
    expect(fold.locator("summary")).to_have_text(re.compile(r"^show quoted text \(\d+ lines\)$"))
    hidden = fold.locator("pre.body")
    expect(hidden).to_be_hidden()
    fold.locator("summary").click()
    expect(hidden).to_be_visible()
    expect(hidden).to_contain_text("> Have you tried the fire extinguisher?")
    log("quoted text folded, and opens")

    mail = page.locator("ul.mail li")
    expect(mail.first).to_be_visible()
    for i in range(mail.count()):
        line = mail.nth(i)
        expect(line.locator(".mstate")).to_have_text(re.compile(r"^(sent|queued|failed|not sent)$"))
        expect(line.locator("time")).to_have_text(re.compile(r"^(sent|queued) \w{3} \d{2} \w{3} \d{4}"))
    log(f"the mail list: {mail.count()} mails with state and time")

    link = reply.locator("a[data-message]")
    with page.expect_download() as d:
        link.click()
    download = d.value
    assert download.suggested_filename.endswith(".eml"), download.suggested_filename
    path = os.path.join(OUT, download.suggested_filename)
    download.save_as(path)
    with open(path, "rb") as f:
        raw = f.read()
    assert b"Subject: Re: Printer on fire" in raw and b"It is out now, thanks." in raw, raw[:400]
    expect(page).to_have_url(f"{URL}/tickets/1")
    log(f"{download.suggested_filename}: the message as it arrived, {len(raw)} bytes")


if __name__ == "__main__":
    run({"phone": phone, "merge": merge, "spam": spam, "keyboard": keyboard, "quoted": quoted})

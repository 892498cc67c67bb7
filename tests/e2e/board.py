"""The live board in a real Chromium (SPEC §6, issue 12), one scenario each:

    moves     signed in through the login form, a card dragged to `resolved`
              resolves its ticket (the requestor gets the resolved notice), a
              card dropped in another owner's lane is assigned, its status
              kept, and one dropped in another column and lane gets both in
              one change; a second board, in another browser context, shows
              each within a second and without a reload
    delivery  a message delivered by `pipedesk deliver` puts its card on an
              open board within a second, and on a board filtered by queue
              only if it is that queue's; a reply to a resolved ticket moves
              its card to `open`; a ticket merged at the terminal leaves the
              board, its messages counted on the ticket it joined
    stale     a drop onto a ticket that changed behind the board's back
              (a command at the terminal) changes nothing: the card snaps to
              where the ticket is now, and the page names who changed it
    keyboard  a focused card moves with the arrow keys (status ←/→, owner
              ↑/↓) and keeps the focus, so key after key moves it, however
              fast (each move waits for the answer to the one before and
              sends the version it gave); Enter opens its thread; a refused
              move snaps back and says why
    full      on a board whose resolved column is full (it shows the 50 most
              recently resolved), a card moved to `resolved` stays in sight
              (and in focus) while its answer is awaited, though it was
              updated longer ago than any card there, and the column then
              holds the 50 the server's board holds
    late      an answer that arrives after an event of a later change does
              not put the card back to the older state: the board shows
              the ticket's latest version, and the next drop goes through

Run by tests/browser.rs: python board.py SCENARIO (see common.py).
"""

from __future__ import annotations

import json
import sys

from playwright.sync_api import expect

from common import ADDRESS, JOHN, MEMBER, SECOND, URL, card, card_in, cell, log, run, words


def tickets_in(where) -> list[int]:
    """The numbers of the cards in a cell, top to bottom."""
    numbers = where.locator("[data-ticket]").evaluate_all("(els) => els.map((e) => e.dataset.ticket)")
    return [int(n) for n in numbers]


def drop(page, n: int, target, status: int = 200):
    """Drags card #n onto `target` (HTML5 drag and drop, as a mouse does)
    and waits for the server's answer to the drop."""
    with page.expect_response(lambda r: r.url.endswith(f"/api/tickets/{n}/move")) as answer:
        card(page, n).drag_to(target)
    assert answer.value.status == status, f"the drop of #{n}: {answer.value.status} {answer.value.text()}"
    return answer.value


def moves(pages, desk):
    board = pages.signed_in()
    other = pages.signed_in()
    # A mark that a reload would wipe out.
    other.evaluate("window.e2eSameDocument = true")
    for page in (board, other):
        for n in (1, 2, 3):
            expect(card_in(page, n, "new")).to_be_visible()
        # Newest first.
        assert tickets_in(cell(page, "new")) == [3, 2, 1], tickets_in(cell(page, "new"))
    version = int(card(board, 1).get_attribute("data-version"))

    drop(board, 1, cell(board, "resolved"))
    expect(card_in(other, 1, "resolved")).to_be_visible(timeout=SECOND)
    expect(card_in(board, 1, "resolved")).to_be_visible()
    shown = desk.show(1)
    assert shown["status"] == "resolved", shown
    assert shown["version"] > version, shown
    # The other board has the ticket's new version too: a drag there now
    # would not be refused as stale.
    expect(card(other, 1)).to_have_attribute("data-version", str(shown["version"]), timeout=SECOND)
    notices = [m for m in desk.outbox() if JOHN in m["to"] and "Resolved:" in m["subject"]]
    assert len(notices) == 1, f"the resolved notice to {JOHN}: {desk.outbox()}"
    log("dragged #1 to resolved: resolved, notice sent, the other board followed")

    drop(board, 2, cell(board, "new", MEMBER))
    expect(card_in(other, 2, "new", MEMBER)).to_be_visible(timeout=SECOND)
    shown = desk.show(2)
    assert (shown["owner"], shown["status"]) == (MEMBER, "new"), shown
    log("dropped #2 in ann's lane: assigned, still new, the other board followed")

    drop(board, 3, cell(board, "stalled", ADDRESS))
    expect(card_in(other, 3, "stalled", ADDRESS)).to_be_visible(timeout=SECOND)
    shown = desk.show(3)
    assert (shown["owner"], shown["status"]) == (ADDRESS, "stalled"), shown
    log("dropped #3 in another column and lane: both, in one drop")

    assert other.evaluate("window.e2eSameDocument") is True, "the other board reloaded"


def delivery(pages, desk):
    board = pages.signed_in()
    expect(card_in(board, 1, "resolved")).to_be_visible()
    board.evaluate("window.e2eSameDocument = true")
    web = pages.signed_in()
    web.goto(URL + "/?queue=web")
    expect(web.locator("#live")).to_have_text("live")
    expect(card(web, 1)).to_have_count(0)

    n = desk.open_ticket("Maria Rossi <maria@example.net>", "VPN refuses my new password")
    new = card_in(board, n, "new")
    expect(new).to_be_visible(timeout=SECOND)
    expect(new).to_contain_text("VPN refuses my new password")
    expect(new).to_contain_text("maria@example.net")
    assert tickets_in(cell(board, "new"))[0] == n, "a new card goes first in its cell"
    log(f"delivered #{n}: its card is on the board")

    r = desk.deliver("webmaster@help.example.org", "Tom Becker <tom@example.com>",
                     "The contact form loses my message", "Twice now.\n")
    w = json.loads(r["stdout"])["ticket"]
    expect(card_in(web, w, "new")).to_be_visible(timeout=SECOND)
    expect(card_in(board, w, "new")).to_be_visible(timeout=SECOND)
    # The stream sends changes in order: #n came before #w, so by now the
    # web board has had its chance to show it, wrongly.
    expect(card(web, n)).to_have_count(0)
    log(f"delivered #{w} to webmaster@: on both boards; #{n} (general) not on the web board")

    desk.deliver("ticket-1@help.example.org", f"John Smith <{JOHN}>", "Re: Printer on fire",
                 "It is on fire again.\n")
    expect(card_in(board, 1, "open")).to_be_visible(timeout=SECOND)
    expect(card(board, 1)).to_contain_text("2 messages")
    log("a reply to resolved #1: its card moved to open")

    desk.run("merge", str(n), "1")
    expect(card(board, n)).to_have_count(0, timeout=SECOND)
    expect(card(board, 1)).to_contain_text("3 messages", timeout=SECOND)
    log(f"merged #{n} into #1 at the terminal: its card left the board")
    assert board.evaluate("window.e2eSameDocument") is True, "the board reloaded"


def stale(pages, desk):
    board = pages.signed_in()
    expect(card_in(board, 1, "new")).to_be_visible()
    seen = int(card(board, 1).get_attribute("data-version"))

    # Between the drag and the server: ann takes the ticket at the terminal.
    # The board's stream will bring that change too, but the drop is already
    # on its way with the version the board saw.
    def behind_its_back(route):
        desk.run("take", "1", "--as", MEMBER)
        route.continue_()

    board.route("**/api/tickets/1/move", behind_its_back)
    answer = drop(board, 1, cell(board, "stalled"), status=412)
    assert answer.request.headers.get("if-match") == f'"{seen}"', answer.request.headers

    expect(card_in(board, 1, "open", MEMBER)).to_be_visible()
    expect(board.locator("#message")).to_contain_text(words(MEMBER))
    expect(board.locator("#message")).to_contain_text("#1")
    shown = desk.show(1)
    assert (shown["status"], shown["owner"]) == ("open", MEMBER), shown
    assert not any(e.get("new") == "stalled" for e in shown["history"]), "the stale drop changed something"
    log(f"stale drop: snapped to open/{MEMBER}, the page says: {board.locator('#message').text_content()}")


def keyboard(pages, desk):
    board = pages.signed_in()
    one = card(board, 1)
    expect(card_in(board, 1, "new")).to_be_visible()

    one.focus()

    def press(key: str, status: str, owner: str):
        # The key goes to whatever has the focus: the card must keep it
        # wherever it moves (and when it snaps back), or the next key would
        # go nowhere.
        with board.expect_response(lambda r: r.url.endswith("/api/tickets/1/move")) as answer:
            board.keyboard.press(key)
        expect(card_in(board, 1, status, owner)).to_be_visible()
        expect(one).to_be_focused()
        return answer.value

    assert press("ArrowRight", "open", "").status == 200
    assert press("ArrowRight", "stalled", "").status == 200
    assert press("ArrowDown", "stalled", ADDRESS).status == 200
    assert press("ArrowDown", "stalled", MEMBER).status == 200
    assert press("ArrowUp", "stalled", ADDRESS).status == 200
    assert press("ArrowLeft", "open", ADDRESS).status == 200
    shown = desk.show(1)
    assert (shown["status"], shown["owner"]) == ("open", ADDRESS), shown
    log("arrow keys: open, stalled, ann's lane and back, open")

    # Staff has seen it: it cannot become new again. The card stays, and
    # the page says why.
    refused = press("ArrowLeft", "open", ADDRESS)
    assert refused.status == 409, refused.status
    expect(board.locator("#message")).to_contain_text("new again")
    assert desk.show(1)["status"] == "open"

    # Two keys at once: the second move must not go out with the version
    # the first one made old (a 412 "changed by stef meanwhile": by us).
    answers = []
    board.on("response", lambda r: answers.append(r) if r.url.endswith("/api/tickets/1/move") else None)
    # The second resolves, which mails the requestor: the board asks first
    # (tests/e2e/look.py shows that a "no" moves nothing).
    board.once("dialog", lambda d: d.accept())
    board.keyboard.press("ArrowRight")
    board.keyboard.press("ArrowRight")
    expect(card_in(board, 1, "resolved", ADDRESS)).to_be_visible()
    board.wait_for_function("() => !document.querySelector('[data-ticket=\"1\"]').classList.contains('pending')")
    assert [a.status for a in answers] == [200, 200], [(a.status, a.text()[:300]) for a in answers]
    expect(board.locator("#message")).to_be_hidden()
    expect(one).to_be_focused()
    shown = desk.show(1)
    assert shown["status"] == "resolved", shown
    expect(one).to_have_attribute("data-version", str(shown["version"]))
    log("two quick presses: stalled, then resolved, no 412")

    board.keyboard.press("Enter")
    expect(board).to_have_url(words("/tickets/1"))
    log("Enter opened the thread")


def late(pages, desk):
    board = pages.signed_in()
    other = pages.signed_in()
    expect(card_in(board, 1, "new")).to_be_visible()

    # The drop's answer is held back (as a slow SMTP server holds it: a
    # change answers after the mail it causes is sent) while ann assigns
    # the ticket at the terminal; the board's stream brings both changes
    # before the answer.
    def slow_answer(route):
        answer = route.fetch()
        desk.run("assign", "1", MEMBER, "--as", MEMBER)
        newest = desk.show(1)["version"]
        expect(card(other, 1)).to_have_attribute("data-version", str(newest), timeout=SECOND)
        route.fulfill(response=answer)

    board.route("**/api/tickets/1/move", slow_answer)
    drop(board, 1, cell(board, "open"))
    board.unroute("**/api/tickets/1/move")
    shown = desk.show(1)
    assert (shown["status"], shown["owner"]) == ("open", MEMBER), shown
    expect(card_in(board, 1, "open", MEMBER)).to_be_visible()
    expect(card(board, 1)).to_have_attribute("data-version", str(shown["version"]))
    # Had the board kept the answer's older version, this would be a 412.
    drop(board, 1, cell(board, "stalled", MEMBER))
    assert desk.show(1)["status"] == "stalled"
    log("a late answer: the board kept the latest version, the next drop went through")


def full(pages, desk):
    board = pages.signed_in()
    n = int(sys.argv[2])
    resolved = cell(board, "resolved").locator("[data-ticket]")
    expect(resolved).to_have_count(50)
    expect(board.locator('.colhead[data-column="resolved"]')).to_contain_text("(50)")
    expect(card_in(board, n, "stalled")).to_be_visible()
    card(board, n).focus()
    seen = []

    def while_pending(route):
        try:
            seen.append(card_in(board, n, "resolved").count())
            seen.append(board.evaluate(f"document.activeElement.dataset.ticket === '{n}'"))
        finally:
            route.continue_()

    board.route(f"**/api/tickets/{n}/move", while_pending)
    board.once("dialog", lambda d: d.accept())
    with board.expect_response(lambda r: r.url.endswith(f"/api/tickets/{n}/move")):
        board.keyboard.press("ArrowRight")
    assert seen == [1, True], f"while its answer was awaited, #{n} in resolved and focused: {seen}"
    expect(card_in(board, n, "resolved")).to_be_visible()
    board.wait_for_function(f"() => !document.querySelector('[data-ticket=\"{n}\"]').classList.contains('pending')")
    expect(card(board, n)).to_be_focused()
    expect(resolved).to_have_count(50)
    served = board.request.get(URL + "/api/board").json()
    want = sorted(c["id"] for c in served["cards"] if c["status"] == "resolved")
    shown = sorted(int(i) for i in resolved.evaluate_all("(els) => els.map((e) => e.dataset.ticket)"))
    assert shown == want, f"the board shows {shown}, the server's board {want}"
    log(f"#{n} resolved on a full column: in sight all along, the column as the server has it")


if __name__ == "__main__":
    run({"moves": moves, "delivery": delivery, "stale": stale, "keyboard": keyboard, "full": full,
         "late": late})

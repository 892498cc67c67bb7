"""Staff shown by their names, and told of their work (SPEC §1, §4, §6),
in a real Chromium, on a desk whose config names its people
(tests/browser_people.rs):

    lanes     the board's lanes are headed by the names the config gives
              (a bare entry by its address); a card dropped in Carol's lane
              gives her the ticket, and she gets the "assigned to you"
              notice; the thread page then names her as the owner, and its
              owner menu offers everyone by name

Run by tests/browser_people.rs: python people.py SCENARIO (see common.py).
"""

from __future__ import annotations

from playwright.sync_api import expect

from common import JOHN, MEMBER, URL, card, card_in, cell, log, run

CAROL = "carol@example.org"
DAVE = "dave@example.org"


def lanes(pages, desk):
    board = pages.signed_in()
    heads = board.locator(".lanehead")
    expect(heads).to_have_text(["nobody", "Stef Admin", "Jones, Carol", MEMBER, "Dave Hill"])
    log("lanes headed by name:", heads.all_inner_texts())

    with board.expect_response(lambda r: r.url.endswith("/api/tickets/1/move")) as answer:
        card(board, 1).drag_to(cell(board, "new", CAROL))
    assert answer.value.status == 200, answer.value.text()
    expect(card_in(board, 1, "new", CAROL)).to_be_visible()
    shown = desk.show(1)
    assert (shown["owner"], shown["status"]) == (CAROL, "new"), shown
    told = [m for m in desk.outbox() if m["to"] == [CAROL]]
    assert len(told) == 1 and "Assigned to you" in told[0]["subject"], desk.outbox()
    assert not [m for m in desk.outbox() if JOHN in m["to"] and "Assigned" in m["subject"]]
    log("dropped #1 in Carol's lane: hers, and she was told:", told[0]["subject"])

    board.goto(URL + "/tickets/1")
    expect(board.locator(".facts dl.fields")).to_contain_text("Jones, Carol")
    menu = board.locator('form.assign select[name="owner"]')
    expect(menu.locator("option:checked")).to_have_text("Jones, Carol")
    expect(menu.locator(f'option[value="{DAVE}"]')).to_have_text("Dave Hill")
    expect(board.locator("ol.history")).to_contain_text("Stef Admin gave the ticket to Jones, Carol")
    log("the thread names the owner and offers everyone by name")


if __name__ == "__main__":
    run({"lanes": lanes})

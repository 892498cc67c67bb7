"""Answers with what they need, in a real Chromium (SPEC §6, issue 17):

    create   "New ticket" in the top bar opens /tickets/new; its form
             (form[data-action="create"]: requestor, subject, queue, body,
             a file) opens a ticket for someone and shows its thread
    reply    the reply form's canned-answer picker fills the text in for
             the ticket (by assets/answer.js, under the CSP), a file goes
             with it (input[name=attachment]), and "Send reply" sends both;
             the thread shows the file's link
    resolve  "Send and resolve" (button[name=status][value=resolved]) sends
             the reply and resolves the ticket in one go

Ticket 1 (tests/browser_answers.rs) is John's, except for `create`, which
starts on an empty desk; canned/thanks.txt is there for `reply`.  Run by
tests/browser_answers.rs: python answers.py SCENARIO (see common.py).
"""

from __future__ import annotations

import os

from playwright.sync_api import expect

from common import JOHN, OUT, URL, log, run


def a_file(name: str, text: str) -> str:
    path = os.path.join(OUT, name)
    os.makedirs(OUT, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def create(pages, desk):
    page = pages.signed_in()
    page.locator('a[href="/tickets/new"]').click()
    expect(page).to_have_url(f"{URL}/tickets/new")
    form = page.locator('form[data-action="create"]')
    form.locator("input[name=requestor]").fill("kim@example.org")
    form.locator("input[name=subject]").fill("Phone: the VPN drops at noon")
    form.locator("select[name=queue]").select_option("web")
    form.locator("textarea[name=body]").fill("Hello Kim,\n\nas we said on the phone, here is the new profile.\n")
    form.locator("input[name=attachment]").set_input_files(a_file("vpn-profile.conf", "remote vpn.example.org\n"))
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{URL}/tickets/1")
    expect(page.locator("h1")).to_contain_text("Phone: the VPN drops at noon")
    expect(page.locator(".history")).to_contain_text("here is the new profile")
    expect(page.locator("a[data-attachment]")).to_have_text("vpn-profile.conf")
    to_kim = [m for m in desk.outbox() if "kim@example.org" in m["to"]]
    assert len(to_kim) == 1, f"the opening message to kim: {desk.outbox()}"
    log(f"opened #1 from /tickets/new: mailed to kim as {to_kim[0]['subject']!r}")


def open_thread(pages, n: int):
    page = pages.signed_in()
    page.goto(f"{URL}/tickets/{n}")
    expect(page.locator("h1")).to_contain_text(f"#{n}")
    return page


def reply(pages, desk):
    page = open_thread(pages, 1)
    form = page.locator('form[data-action="reply"]')
    text = form.locator("textarea[name=body]")
    form.locator("select[data-canned]").select_option("thanks")
    expect(text).to_have_value("Hello John Smith,\n\nticket #1 (Printer on fire) is in hand.\n")
    log("the canned answer filled the reply in")
    text.press("Control+End")
    text.type("The log you asked for is attached.\n")
    form.locator("input[name=attachment]").set_input_files(a_file("fuser.log", "fuser at 240 C\n"))
    form.locator("button[type=submit]:not([name])").click()
    expect(page).to_have_url(f"{URL}/tickets/1")
    expect(page.locator(".history")).to_contain_text("is in hand")
    expect(page.locator("a[data-attachment]")).to_have_text("fuser.log")
    to_john = [m for m in desk.outbox() if JOHN in m["to"] and "is in hand" in m["body"]]
    assert len(to_john) == 1, f"the reply to {JOHN}: {desk.outbox()}"
    assert "The log you asked for is attached." in to_john[0]["body"], to_john[0]["body"]
    assert desk.show(1)["status"] == "open"
    log("replied with the canned answer and a file")


def resolve(pages, desk):
    page = open_thread(pages, 1)
    form = page.locator('form[data-action="reply"]')
    form.locator("textarea[name=body]").fill("A new fuser is in: it prints again.\n")
    form.locator('button[name="status"][value="resolved"]').click()
    expect(page).to_have_url(f"{URL}/tickets/1")
    expect(page.locator(".fields .status")).to_have_text("resolved")
    expect(page.locator(".history")).to_contain_text("it prints again")
    # Besides the autoreply to his request: the reply, and no resolved
    # notice repeating it.
    to_john = [m for m in desk.outbox() if JOHN in m["to"] and "AutoReply:" not in m["subject"]]
    assert len(to_john) == 1, f"one mail to {JOHN}, the reply: {to_john}"
    assert "it prints again" in to_john[0]["body"], to_john[0]
    log("sent and resolved in one go")


run({"create": create, "reply": reply, "resolve": resolve})

"""A ticket's thread page in a real Chromium (SPEC §6, issue 12):

    reply        the reply form (form[data-action="reply"] textarea[name=body])
                 sends the requestor the reply, and the thread shows it; the
                 comment form adds a comment that nobody outside is sent
    attachments  each attachment link (a[data-attachment]) downloads the
                 attachment's bytes under its name, and the page stays where
                 it is; opened directly, an HTML attachment downloads too (the
                 server's Content-Disposition, not only the link's `download`)
                 and none of its script runs

Ticket 1 (from tests/browser.rs) is John's, with printer.log and report.html
attached.  Run by tests/browser.rs: python thread.py SCENARIO (see common.py).
"""

from __future__ import annotations

import os

from playwright.sync_api import Error, expect

from common import JOHN, OUT, URL, log, run


def open_thread(pages, n: int):
    page = pages.signed_in()
    page.goto(f"{URL}/tickets/{n}")
    expect(page.locator("h1")).to_contain_text(f"#{n}")
    return page


def reply(pages, desk):
    page = open_thread(pages, 1)
    text = "Hello John,\n\nplease switch the printer off at the wall and keep the door shut.\n"
    form = page.locator('form[data-action="reply"]')
    form.locator("textarea[name=body]").fill(text)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{URL}/tickets/1")
    expect(page.locator(".history")).to_contain_text("please switch the printer off at the wall")

    to_john = [m for m in desk.outbox() if JOHN in m["to"] and "switch the printer off" in m["body"]]
    assert len(to_john) == 1, f"the reply to {JOHN}: {desk.outbox()}"
    log(f"replied from the page: mailed to {JOHN} as {to_john[0]['subject']!r}")

    form = page.locator('form[data-action="comment"]')
    form.locator("textarea[name=body]").fill("Facilities say the smoke detector is fine.")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{URL}/tickets/1")
    expect(page.locator(".history")).to_contain_text("the smoke detector is fine")
    leaked = [m for m in desk.outbox() if JOHN in m["to"] and "smoke detector" in m["body"]]
    assert not leaked, f"a comment reached the requestor: {leaked}"
    log("commented from the page: shown, and not mailed to the requestor")


def attachments(pages, desk):
    page = open_thread(pages, 1)
    links = page.locator("a[data-attachment]")
    expect(links).to_have_count(2)
    want = {
        "printer.log": b"09:14 paper jam\n09:15 fuser at 240 C\n09:16 smoke\n",
        "report.html": b'<html><body><script>window.e2eRendered = true;</script>Report</body></html>\n',
    }
    for i in range(2):
        link = links.nth(i)
        href = link.get_attribute("href")
        assert href == f"/tickets/1/attachments/{i + 1}", href
        with page.expect_download() as d:
            link.click()
        download = d.value
        name = download.suggested_filename
        path = os.path.join(OUT, name)
        download.save_as(path)
        with open(path, "rb") as f:
            got = f.read()
        # As sent, but for line endings (the message came with LF) and the
        # line break that belongs to the MIME boundary after the part.
        assert name in want and got.replace(b"\r\n", b"\n").strip() == want[name].strip(), (name, got)
        expect(page).to_have_url(f"{URL}/tickets/1")
        log(f"{href}: downloaded {name}, {len(got)} bytes")

    # Straight to the HTML attachment, no `download` attribute involved: the
    # browser must still download it rather than render it.
    with page.expect_download() as d:
        try:
            page.goto(f"{URL}/tickets/1/attachments/2")
        except Error as e:
            # Playwright reports a navigation that became a download so.
            assert "Download is starting" in str(e), e
    assert d.value.suggested_filename == "report.html", d.value.suggested_filename
    assert page.evaluate("window.e2eRendered") is None, "the HTML attachment's script ran"
    log("opened directly, report.html downloaded and did not render")


if __name__ == "__main__":
    run({"reply": reply, "attachments": attachments})

"""Every page under the Content-Security-Policy, in a real Chromium (SPEC §6):

    csp   first, that a refused inline script or style is noticed at all: a
          page served under the server's own CSP header with an inline
          script, a style attribute and a <style> element must be reported
          three times, and its script must not run. Then every page of the
          web interface — the sign-in form (also with its error), the board
          (also filtered by queue and on the wall screen), the list, its
          filters and search, each thread (hostile mail, HTML mail,
          attachments) — loads without one CSP report or uncaught error, and
          text from mail shows as text: the hostile subject's markup is on
          the board and the thread as characters, and none of it ran.

Tickets (from tests/browser.rs): 1 with attachments, 2 with a hostile
subject and body, 3 HTML only.  Run by tests/browser.rs: python pages.py csp.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from common import ADDRESS, URL, card, log, run

HOSTILE = '<script>window.e2ePwned = 1</script><img src=x onerror="window.e2ePwned = 2"> & "quotes"'


def csp(pages, desk):
    probe = pages.context().new_page()
    policy = probe.request.get(URL + "/login").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    probe.route(URL + "/e2e-csp-probe", lambda route: route.fulfill(
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": policy},
        body='<!doctype html><title>probe</title><script>window.e2eInline = 1</script>'
             '<p style="color: red">styled</p><style>p { color: blue }</style>'))
    probe.goto(URL + "/e2e-csp-probe")
    probe.wait_for_function("() => window.e2eCspReports >= 3")
    assert len(pages.problems) >= 3, f"the CSP watch missed refusals: {pages.problems}"
    assert probe.evaluate("window.e2eInline") is None, "an inline script ran under the CSP"
    log(f"the probe: {len(pages.problems)} refusals noticed, e.g. {pages.problems[0]}")
    pages.problems.clear()
    probe.context.close()

    # The sign-in form, with a wrong password first.
    page = pages.context().new_page()
    page.goto(URL + "/login")
    page.locator("input[name=address]").fill(ADDRESS)
    page.locator("input[name=password]").fill("not the password")
    page.locator("button[type=submit]").click()
    expect(page.locator(".error")).to_be_visible()
    page.context.close()

    page = pages.signed_in()
    expect(card(page, 2)).to_be_visible()
    expect(card(page, 2).locator(".subject")).to_have_text(HOSTILE)
    for path in ["/?queue=general", "/?wall=1", "/tickets", "/tickets?status=new&queue=general",
                 "/tickets?owner=" + ADDRESS, "/tickets?q=printer", "/tickets?q=e2ePwned",
                 "/tickets/1", "/tickets/2", "/tickets/3", "/tickets/99"]:
        page.goto(URL + path)
        page.wait_for_load_state("load")
        if path.startswith("/?"):
            expect(page.locator("#live")).to_have_text("live")
        log(f"{path}: loaded")
    page.goto(URL + "/tickets/2")
    expect(page.locator("h1")).to_contain_text(HOSTILE)
    expect(page.locator(".history")).to_contain_text("<b>bold</b>")
    page.goto(URL + "/")
    expect(page.locator("#live")).to_have_text("live")
    page.locator("#fullscreen").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\bwall\b"))
    assert page.evaluate("window.e2ePwned") is None, "markup from mail ran"
    log("every page loaded under the CSP; mail's markup shown as text")


if __name__ == "__main__":
    run({"csp": csp})

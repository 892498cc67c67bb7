//! The thread page's additions of issue 17 at the HTTP level (SPEC §6), on
//! the real server: merge shows both tickets and asks before it acts, each
//! message downloads as it arrived, the mail list says each mail's state,
//! time, tries and error, and quoted text comes folded, escaped like all
//! mail text. `tests/pg_web_look.rs` runs the same on PostgreSQL; the
//! browser's side is `tests/browser_look.rs`.

mod common;

use common::web::*;
use common::*;

/// The thread page of ticket `n` as the signed-in `cookie` sees it.
fn page(server: &Server, cookie: &str, path: &str) -> Reply {
    server.get(path, &[("Cookie", cookie)])
}

/// A sendmail that fails, so that mail stays queued with an error.
fn failing_sendmail(desk: &Desk) -> String {
    let script = desk.path().join("broken-sendmail");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'cannot reach the relay' >&2\nexit 75\n",
    )
    .expect("writing the script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("making it runnable");
    format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail = \"{}\"\n",
        script.display()
    )
}

#[test]
fn merge_shows_both_tickets_and_changes_nothing_until_confirmed() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.send(
        &ticket_addr(1, ""),
        &john("Re: Printer on fire").body("Still burning.\n"),
    )
    .ok();
    desk.open_ticket(&mail("Maria Rossi <maria@example.net>", "Scanner jammed"));
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let before = desk.show(2);

    let asked = page(&server, &cookie, "/tickets/2/merge?into=%231").status(200);
    let body = &asked.body;
    for want in [
        "Merge ticket #2 into ticket #1?",
        "#2 Scanner jammed",
        "maria@example.net",
        "#1 Printer on fire",
        JOHN,
        r#"<dd class="messages">1</dd>"#,
        r#"<dd class="messages">2</dd>"#,
        r#"action="/tickets/2/merge""#,
        r#"href="/tickets/2" data-action="cancel""#,
    ] {
        assert!(body.contains(want), "{want:?} not in\n{body}");
    }
    let after = desk.show(2);
    assert_eq!(
        (&after["id"], &after["version"]),
        (&2.into(), &before["version"])
    );

    // Not a ticket, or not a number: back to the thread, saying why.
    for into in ["99", "x"] {
        let r = page(&server, &cookie, &format!("/tickets/2/merge?into={into}")).status(303);
        let to = r.header("location").unwrap_or_default();
        assert!(to.starts_with("/tickets/2?notice="), "{to}");
    }

    let version = before["version"].to_string();
    let done = server
        .form(
            &cookie,
            "/tickets/2/merge",
            &format!("into=1&version={version}"),
        )
        .status(303);
    assert_eq!(done.header("location"), Some("/tickets/1"));
    assert_eq!(desk.show(1)["merged"], serde_json::json!([2]));
}

#[test]
fn each_message_downloads_as_it_arrived() {
    let desk = Desk::new();
    let first = john("Printer on fire").body("It smells of <burnt> toner.\n");
    desk.open_ticket(&first);
    desk.open_ticket(&mail("Maria Rossi <maria@example.net>", "Scanner jammed"));
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);

    let thread = page(&server, &cookie, "/tickets/1").status(200).body;
    let link = thread
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|href| href.starts_with("/tickets/1/messages/"))
        .unwrap_or_else(|| panic!("no message link in\n{thread}"))
        .to_string();
    let got = page(&server, &cookie, &link).status(200);
    let disposition = got.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(".eml"),
        "{disposition}"
    );
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    // The bytes as delivered (the harness hands them over as they are).
    let delivered = String::from_utf8(desk.bytes(&first)).expect("UTF-8");
    assert!(
        got.body.ends_with(&delivered) || got.body == delivered,
        "{}",
        got.body
    );

    // Another ticket's message is not this ticket's.
    let m = link.rsplit('/').next().unwrap_or_default();
    page(&server, &cookie, &format!("/tickets/2/messages/{m}")).status(404);
    page(&server, &cookie, "/tickets/1/messages/999").status(404);
    // Signed out: the sign-in form, not the message.
    server.get(&link, &[]).status(303);
}

#[test]
fn the_mail_list_says_state_time_tries_and_the_last_error() {
    let desk = Desk::new();
    desk.set_config(&failing_sendmail(&desk));
    desk.open_ticket(&john("Printer on fire"));
    desk.set_config("");
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);

    let failing = page(&server, &cookie, "/tickets/1").status(200).body;
    let list = failing
        .split("<ul class=\"mail\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no mail list in\n{failing}"));
    for want in [
        r#"<span class="mstate">failed</span>"#,
        "autoreply to john@example.com",
        "queued ",
        "1 try",
        "cannot reach the relay",
        "next try ",
    ] {
        assert!(list.contains(want), "{want:?} not in\n{list}");
    }

    desk.run(&["flush"], b"").ok();
    let sent = page(&server, &cookie, "/tickets/1").status(200).body;
    let list = sent.split("<ul class=\"mail\">").nth(1).unwrap_or_default();
    assert!(
        list.contains(r#"<span class="mstate">sent</span>"#) && list.contains("2 tries"),
        "{list}"
    );
    assert!(
        !list.contains("failed") && !list.contains("cannot reach"),
        "{list}"
    );
}

#[test]
fn quoted_text_comes_folded_and_escaped() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.send(
        &ticket_addr(1, ""),
        &john("Re: Printer on fire").body(
            "It is out <now>.\n\nOn Tue, Stef <stef@example.org> wrote:\n> Try the <b>extinguisher</b>.\n",
        ),
    )
    .ok();
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let thread = page(&server, &cookie, "/tickets/1").status(200).body;
    assert!(
        thread.contains(r#"<pre class="body">It is out &lt;now&gt;.</pre>"#),
        "{thread}"
    );
    let fold = thread
        .split(r#"<details class="quoted">"#)
        .nth(1)
        .unwrap_or_else(|| panic!("nothing folded in\n{thread}"));
    assert!(
        fold.starts_with("<summary>show quoted text (2 lines)</summary>")
            && fold.contains("wrote:\n&gt; Try the &lt;b&gt;extinguisher&lt;&#x2f;b&gt;.")
            && !fold.contains("<b>"),
        "{fold}"
    );
}

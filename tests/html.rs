//! HTML-only mail read as text that keeps its structure (SPEC §3 "Reading a
//! message", issue 17): every `fixtures/html/reading/NAME.eml` (HTML-only
//! mail as Outlook, Gmail, Apple Mail and Thunderbird write it) delivered
//! through the real binary, with LF and with CRLF line ends, and the body
//! `show --json` gives held to `NAME.txt` exactly, with a diff when not.

mod common;

use common::*;

fn reading() -> std::path::PathBuf {
    fixtures().join("html").join("reading")
}

/// The fixtures' names, sorted; at least the four clients.
fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(reading())
        .expect("fixtures/html/reading")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".eml")?.to_string())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 4, "fixtures/html/reading holds {names:?}");
    names
}

/// The body of the message that opened ticket 1.
fn body_of_ticket_1(desk: &Desk) -> String {
    let shown = desk.show(1);
    let entry = shown["history"]
        .as_array()
        .and_then(|h| h.iter().find(|e| e.get("body").is_some()))
        .unwrap_or_else(|| panic!("no message on ticket 1: {shown}"));
    entry["body"].as_str().unwrap_or_default().to_string()
}

#[test]
fn html_only_mail_reads_as_text_that_keeps_its_structure() {
    for name in names() {
        let raw = std::fs::read(reading().join(format!("{name}.eml"))).expect("the .eml");
        let want = std::fs::read_to_string(reading().join(format!("{name}.txt")))
            .unwrap_or_else(|e| panic!("{name}.txt: {e}"));
        for desk in Desk::both("") {
            let run = desk.deliver(SUBMIT, "sender@example.net", &raw).ok();
            assert_eq!(run.json()["action"], "create", "{name}: {}", run.stdout);
            let got = body_of_ticket_1(&desk);
            if got.trim_end() != want.trim_end() {
                panic!(
                    "{name} ({:?}) reads wrong (- {name}.txt, + shown):\n{}",
                    desk.eol,
                    diff(want.trim_end(), got.trim_end())
                );
            }
        }
    }
}

/// Issue 17's two complaints, on a message written in the test: an
/// Outlook list ran its items together and a table its cells.
#[test]
fn issue_17_list_items_and_table_cells_stay_apart() {
    let desk = Desk::new();
    let msg = john("VPN")
        .header("Content-Type", "text/html; charset=utf-8")
        .body(
            "<ul><li>restarting the laptop</li><li>removing the credentials</li></ul>\
             <table><tr><td>Name</td><td>Value</td></tr><tr><td>CPU</td><td>99%</td></tr></table>\n",
        );
    let n = desk.open_ticket(&msg);
    assert_eq!(n, 1);
    let lines: Vec<Vec<String>> = body_of_ticket_1(&desk)
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .filter(|l: &Vec<String>| !l.is_empty())
        .collect();
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert_eq!(
        lines,
        [
            words("- restarting the laptop"),
            words("- removing the credentials"),
            words("Name Value"),
            words("CPU 99%"),
        ]
    );
}

/// Script and style text is never shown, however the markup is broken
/// (an unclosed `<script>` hides the rest, as it does in a browser).
#[test]
fn script_and_style_text_never_shows() {
    let desk = Desk::new();
    let msg = john("Hidden")
        .header("Content-Type", "text/html; charset=utf-8")
        .body(
            "<style>.a{color:red}</style><p>Visible words</p>\
             <script>var secret = 1;</script><SCRIPT type=text/javascript>alert(2)</SCRIPT>\
             <p>More words</p><script>never closed\n",
        );
    desk.open_ticket(&msg);
    let body = body_of_ticket_1(&desk);
    assert!(
        body.contains("Visible words") && body.contains("More words"),
        "{body}"
    );
    for hidden in ["color", "secret", "alert", "never closed"] {
        assert!(!body.contains(hidden), "{hidden:?} shown in {body:?}");
    }
}

//! The `smtp` transport against a real SMTP conversation on 127.0.0.1: a
//! minimal server (RFC 5321's required commands, nothing else) that records
//! the envelope and the data of each mail it accepts.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use common::{mail, Desk};

/// One mail as the server received it.
#[derive(Debug, Clone, Default)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

/// Starts the server; returns its port and what it has received.
fn smtp_server(reject_rcpt: bool) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&got);
    thread::spawn(move || {
        for stream in listener.incoming().take(20).flatten() {
            let _ = session(stream, &store, reject_rcpt);
        }
    });
    (port, got)
}

fn session(
    stream: TcpStream,
    got: &Mutex<Vec<Received>>,
    reject_rcpt: bool,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    let mut reply = |s: &str| out.write_all(format!("{s}\r\n").as_bytes());
    reply("220 test ESMTP")?;
    let mut current = Received::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            reply("250 test")?;
        } else if upper.starts_with("MAIL FROM:") {
            current = Received {
                mail_from: cmd[10..].to_string(),
                ..Received::default()
            };
            reply("250 ok")?;
        } else if upper.starts_with("RCPT TO:") {
            if reject_rcpt {
                reply("451 4.3.0 try again later")?;
            } else {
                current.rcpt_to.push(cmd[8..].to_string());
                reply("250 ok")?;
            }
        } else if upper == "DATA" {
            reply("354 go on")?;
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                current.data.push_str(&line);
            }
            got.lock()
                .expect("not poisoned")
                .push(std::mem::take(&mut current));
            reply("250 queued")?;
        } else if upper == "QUIT" {
            reply("221 bye")?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            reply("250 ok")?;
        } else {
            reply("502 not here")?;
        }
    }
}

#[test]
fn smtp_transport_sends_autoreply_with_null_sender_and_notice_from_the_ticket() {
    let (port, got) = smtp_server(false);
    let desk = Desk::with_config(&format!(
        "[mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\n"
    ));
    let n = desk.open_ticket(&mail("John <john@example.com>", "Printer on fire"));
    let got = got.lock().expect("not poisoned").clone();
    assert_eq!(got.len(), 2, "autoreply and admin notice: {got:?}");
    let auto = got
        .iter()
        .find(|m| m.rcpt_to == ["<john@example.com>"])
        .expect("an autoreply");
    assert_eq!(
        auto.mail_from, "<>",
        "RFC 3834: autoreplies go with the null sender"
    );
    assert!(
        auto.data.contains("Auto-Submitted: auto-replied\r\n"),
        "{}",
        auto.data
    );
    assert!(
        auto.data.contains(&format!("[myisp #{n}]")),
        "{}",
        auto.data
    );
    let notice = got
        .iter()
        .find(|m| m.rcpt_to == ["<stef@example.org>"])
        .expect("an admin notice");
    assert_eq!(notice.mail_from, format!("<ticket-{n}@help.example.org>"));
}

#[test]
fn a_refused_smtp_send_stays_queued_and_deliver_still_exits_0() {
    let (port, got) = smtp_server(true);
    let desk = Desk::with_config(&format!(
        "[mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\n"
    ));
    let msg = mail("John <john@example.com>", "Printer on fire");
    let run = desk.send(common::SUBMIT, &msg).ok();
    assert!(run.stderr.contains("pipedesk: warning"), "{run}");
    assert!(got.lock().expect("not poisoned").is_empty());
    let shown = desk.run(&["show", "1"], b"").ok();
    assert!(shown.stdout.contains("queued, last try failed"), "{shown}");
}

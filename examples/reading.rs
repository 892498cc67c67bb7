//! Measures how pipedesk, mail-parser and mailparse read the corpus in
//! `fixtures/corpus/` against Python's reading (`EXPECTED.json`), job by job
//! (subject, author, attachment names, body), and times `inbound::parse`
//! over the whole corpus. The numbers in README.md "Reading real mail" come
//! from here:
//!
//!     cargo run --release --example reading            # matches per job
//!     cargo run --release --example reading -- --time  # parse time
//!     cargo run --release --example reading -- --list pipedesk body  # misses
//!
//! mail-parser and mailparse are each used the plain way (their own header
//! decoding, filenames and text decoding) under the same rules that
//! pipedesk reads by (SPEC §3): which part is the body, which are
//! attachments, HTML turned into text by mail-parser's converter for both.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use serde_json::Value;

#[derive(Debug, Default, Clone)]
struct Reading {
    subject: String,
    author: Option<String>,
    attachments: Vec<String>,
    body: String,
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn by_pipedesk(raw: &[u8]) -> Reading {
    let raw = pipedesk::inbound::strip_from_line(raw);
    let f = pipedesk::inbound::parse(raw);
    Reading {
        subject: f.subject.clone(),
        author: f.author().map(|m| m.address.clone()),
        attachments: pipedesk::inbound::attachments_of(raw)
            .into_iter()
            .map(|a| a.filename)
            .collect(),
        body: f.body,
    }
}

fn is_body_type(ct: &str) -> bool {
    ct == "text/plain" || ct == "text/html"
}

fn by_mail_parser(raw: &[u8]) -> Reading {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Reading::default();
    };
    let ctype = |p: &mail_parser::MessagePart<'_>| {
        p.content_type()
            .map(|c| {
                format!("{}/{}", c.ctype(), c.subtype().unwrap_or("plain")).to_ascii_lowercase()
            })
            .unwrap_or_else(|| "text/plain".into())
    };
    let mut attachments = Vec::new();
    let mut plain = None;
    let mut html = None;
    for part in msg.parts.iter() {
        if matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let ct = ctype(part);
        let attached = part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        let name = part.attachment_name();
        if is_body_type(&ct) && !attached && name.is_none() {
            let text = match &part.body {
                PartType::Text(t) => t.to_string(),
                PartType::Html(t) => mail_parser::decoders::html::html_to_text(t),
                _ => String::new(),
            };
            if !text.trim().is_empty() {
                let slot = if ct == "text/plain" {
                    &mut plain
                } else {
                    &mut html
                };
                slot.get_or_insert(text);
            }
        } else {
            attachments.push(name.map(String::from).unwrap_or_else(|| match &part.body {
                PartType::Message(m) => m.subject().map(|s| format!("{s}.eml")).unwrap_or_default(),
                _ => String::new(),
            }));
        }
    }
    Reading {
        subject: msg.subject().unwrap_or_default().to_string(),
        author: msg.from().and_then(|a| {
            a.iter()
                .filter_map(|m| m.address())
                .find(|a| a.contains('@'))
                .map(|a| a.to_ascii_lowercase())
        }),
        attachments,
        body: plain.or(html).unwrap_or_default(),
    }
}

fn by_mailparse(raw: &[u8]) -> Reading {
    use mailparse::{DispositionType, MailHeaderMap};
    let Ok(msg) = mailparse::parse_mail(raw) else {
        return Reading::default();
    };
    let mut r = Reading {
        subject: msg
            .headers
            .get_first_value("Subject")
            .unwrap_or_default()
            .trim()
            .to_string(),
        author: msg.headers.get_first_header("From").and_then(|h| {
            mailparse::addrparse_header(h).ok().and_then(|list| {
                list.iter().find_map(|a| match a {
                    mailparse::MailAddr::Single(s) if s.addr.contains('@') => {
                        Some(s.addr.to_ascii_lowercase())
                    }
                    mailparse::MailAddr::Group(g) => g
                        .addrs
                        .iter()
                        .find(|s| s.addr.contains('@'))
                        .map(|s| s.addr.to_ascii_lowercase()),
                    _ => None,
                })
            })
        }),
        ..Reading::default()
    };
    let (mut plain, mut html) = (None, None);
    fn walk<'a>(p: &'a mailparse::ParsedMail<'a>, out: &mut Vec<&'a mailparse::ParsedMail<'a>>) {
        if p.ctype.mimetype.starts_with("multipart/") && !p.subparts.is_empty() {
            p.subparts.iter().for_each(|s| walk(s, out));
        } else {
            out.push(p);
        }
    }
    let mut leaves = Vec::new();
    walk(&msg, &mut leaves);
    for part in leaves {
        let ct = part.ctype.mimetype.to_ascii_lowercase();
        let disp = part.get_content_disposition();
        let name = disp
            .params
            .get("filename")
            .or_else(|| part.ctype.params.get("name"))
            .cloned();
        let attached = disp.disposition == DispositionType::Attachment;
        if is_body_type(&ct) && !attached && name.is_none() {
            let text = part.get_body().unwrap_or_default();
            let text = if ct == "text/html" {
                mail_parser::decoders::html::html_to_text(&text)
            } else {
                text
            };
            if !text.trim().is_empty() {
                let slot = if ct == "text/plain" {
                    &mut plain
                } else {
                    &mut html
                };
                slot.get_or_insert(text);
            }
        } else {
            r.attachments.push(name.unwrap_or_else(|| {
                if ct == "message/rfc822" {
                    part.get_body_raw()
                        .ok()
                        .and_then(|b| {
                            let inner = mailparse::parse_mail(&b).ok()?;
                            inner.headers.get_first_value("Subject")
                        })
                        .map(|s| format!("{}.eml", s.trim()))
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            }));
        }
    }
    r.body = plain.or(html).unwrap_or_default();
    r
}

/// Which fields of `got` differ from the expectation, as (field, want, got).
fn misses(want: &Value, got: &Reading) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    if let Some(s) = want["subject"].as_str() {
        if collapse(s) != collapse(&got.subject) {
            out.push(("subject", s.to_string(), got.subject.clone()));
        }
    }
    if want.get("author").is_some() {
        let w = want["author"].as_str().map(String::from);
        if let Some(w) = w {
            if got.author.as_deref() != Some(w.as_str()) {
                out.push(("author", w, format!("{:?}", got.author)));
            }
        }
    }
    if let Some(list) = want["attachments"].as_array() {
        let w: Vec<String> = list
            .iter()
            .map(|v| collapse(v.as_str().unwrap_or_default()))
            .collect();
        let g: Vec<String> = got.attachments.iter().map(|s| collapse(s)).collect();
        if w != g {
            out.push(("attachments", format!("{w:?}"), format!("{g:?}")));
        }
    }
    if let Some(phrase) = want["body_contains"].as_str() {
        let body = collapse(&got.body);
        let ok = if phrase.is_empty() {
            body.is_empty()
        } else {
            body.contains(phrase)
        };
        if !ok {
            let shown: String = body.chars().take(120).collect();
            out.push(("body", phrase.to_string(), shown));
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus");
    let expected: BTreeMap<String, Value> = serde_json::from_slice(
        &std::fs::read(dir.join("EXPECTED.json")).expect("fixtures/corpus/EXPECTED.json"),
    )
    .expect("EXPECTED.json parses");
    let corpus: Vec<(String, Vec<u8>)> = expected
        .keys()
        .map(|p| {
            (
                p.clone(),
                std::fs::read(dir.join(p)).expect("a corpus file"),
            )
        })
        .collect();

    if args.first().map(String::as_str) == Some("--tree") {
        // The part tree mail-parser builds, for looking into a mismatch.
        for path in &args[1..] {
            let raw = std::fs::read(dir.join(path)).expect("a corpus file");
            let msg = MessageParser::default().parse(&raw[..]).expect("parses");
            for h in msg.headers() {
                println!("{path} header {:?} = {:?}", h.name(), h.value());
            }
            for (i, p) in msg.parts.iter().enumerate() {
                let kind = match &p.body {
                    PartType::Multipart(c) => format!("multipart {c:?}"),
                    PartType::Text(t) => {
                        format!("text {:?}", t.chars().take(40).collect::<String>())
                    }
                    PartType::Html(_) => "html".into(),
                    PartType::Binary(_) => "binary".into(),
                    PartType::InlineBinary(_) => "inline binary".into(),
                    PartType::Message(_) => "message".into(),
                };
                let ct = p
                    .content_type()
                    .map(|c| format!("{}/{:?}", c.ctype(), c.subtype()));
                println!("{path} #{i} {ct:?} {kind} name={:?}", p.attachment_name());
            }
        }
        return;
    }
    if args.first().map(String::as_str) == Some("--time") {
        let bytes: usize = corpus.iter().map(|(_, r)| r.len()).sum();
        let rounds = 20;
        let mut best = f64::MAX;
        for _ in 0..rounds {
            let t = Instant::now();
            for (_, raw) in &corpus {
                std::hint::black_box(pipedesk::inbound::parse(
                    pipedesk::inbound::strip_from_line(raw),
                ));
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "inbound::parse over {} messages ({} KB): best of {rounds} rounds {:.1} ms, {:.1} µs a message",
            corpus.len(),
            bytes / 1024,
            best * 1e3,
            best * 1e6 / corpus.len() as f64
        );
        return;
    }

    type Reader = fn(&[u8]) -> Reading;
    let readers: [(&str, Reader); 3] = [
        ("pipedesk", by_pipedesk),
        ("mail-parser", by_mail_parser),
        ("mailparse", by_mailparse),
    ];
    let list = args.first().map(String::as_str) == Some("--list");
    let fields = ["subject", "author", "attachments", "body"];
    println!(
        "{:<12} {:>9} {:>9} {:>12} {:>9}   (of {} messages, matching Python's reading in EXPECTED.json)",
        "reader",
        fields[0],
        fields[1],
        fields[2],
        fields[3],
        corpus.len()
    );
    let mut filenames = Vec::new();
    for (name, read) in readers {
        if list && args.get(1).is_some_and(|r| r != name) {
            continue;
        }
        let mut ok = [0usize; 4];
        for (path, raw) in &corpus {
            let got = read(raw);
            let missed = misses(&expected[path], &got);
            for (i, f) in fields.iter().enumerate() {
                if !missed.iter().any(|(m, _, _)| m == f) {
                    ok[i] += 1;
                }
            }
            if list {
                for (f, want, got) in missed {
                    if args.get(2).is_none_or(|x| x == f) {
                        println!("{path}\t{f}\n   want {want:?}\n   got  {got:?}");
                    }
                }
            }
        }
        println!(
            "{name:<12} {:>9} {:>9} {:>12} {:>9}",
            ok[0], ok[1], ok[2], ok[3]
        );
        // The filename job alone: of the messages with named attachments
        // whose parts this reader splits as Python does (as many
        // attachments), how many names it decodes as Python does.
        let (mut split, mut named) = (0, 0);
        for (path, raw) in &corpus {
            let Some(want) = expected[path]["attachments"].as_array() else {
                continue;
            };
            if want
                .iter()
                .all(|v| v.as_str().unwrap_or_default().is_empty())
            {
                continue;
            }
            let got = read(raw).attachments;
            if got.len() != want.len() {
                continue;
            }
            split += 1;
            named += usize::from(
                want.iter()
                    .zip(&got)
                    .all(|(w, g)| collapse(w.as_str().unwrap_or_default()) == collapse(g)),
            );
        }
        filenames.push(format!("{name}: {named} of {split}"));
    }
    println!(
        "filenames decoded as Python does, where the parts are split alike: {}",
        filenames.join(", ")
    );
}

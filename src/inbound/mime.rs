//! Which MIME parts of a parsed message are its body and which are its
//! attachments (SPEC §3 "Reading a message"), walking mail-parser's part
//! tree: the body is the first text/plain part with text in it, else the
//! first HTML part with text, as text (`html.rs`); every other leaf is an
//! attachment.

mod html;

pub(crate) use html::to_text as html_to_text;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{Encoding, HeaderName, Message, MessagePart, MimeHeaders, PartType};

use super::headers::{filename, first_raw, unstructured, Legacy};
use super::Attachment;

/// A parsed message with the raw bytes its offsets point into.
pub(crate) struct Parsed<'m, 'x> {
    pub msg: &'m Message<'x>,
    pub raw: &'m [u8],
    pub legacy: Legacy<'m>,
}

/// `type/subtype`, lowercased; text/plain where there is no Content-Type
/// or it has no subtype (RFC 2045 §5.2; Python reads `text;
/// charset=us-ascii` so too). A multipart that could not be split (its
/// boundary missing or never found) is read as the text it is, so that
/// nothing of it is lost.
pub(crate) fn mime_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(_) if unsplit(part) => "text/plain".into(),
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => "text/plain".into(),
        },
        None => "text/plain".into(),
    }
}

/// A multipart that mail-parser could not split: no boundary, or one never
/// found. Read as the text it is (mail-parser keeps it as text or bytes).
fn unsplit(part: &MessagePart<'_>) -> bool {
    !matches!(part.body, PartType::Multipart(_) | PartType::Message(_))
        && part
            .content_type()
            .is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"))
}

fn is_attachment_disposition(part: &MessagePart<'_>) -> bool {
    part.content_disposition()
        .is_some_and(|d| d.ctype().trim().eq_ignore_ascii_case("attachment"))
}

impl Parsed<'_, '_> {
    fn part(&self, id: u32) -> Option<&MessagePart<'_>> {
        self.msg.parts.get(id as usize)
    }

    fn filename(&self, part: &MessagePart<'_>) -> Option<String> {
        filename(part, self.raw, &self.legacy)
    }

    /// Text to show: a text/plain or text/html part, inline, without a
    /// filename (a text part with one is an attachment, as Python and
    /// every mail client list it).
    fn is_body_text(&self, part: &MessagePart<'_>) -> bool {
        (matches!(part.body, PartType::Text(_) | PartType::Html(_)) || unsplit(part))
            && matches!(mime_type(part).as_str(), "text/plain" | "text/html")
            && !is_attachment_disposition(part)
            && self.filename(part).is_none()
    }

    /// Leaf parts in MIME order (a message/rfc822 part is one leaf: it is
    /// not opened).
    fn leaves(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![0u32];
        while let Some(id) = stack.pop() {
            let Some(part) = self.part(id) else { continue };
            match &part.body {
                // Children always come after their parent; anything else
                // would be a loop.
                PartType::Multipart(children) => {
                    stack.extend(children.iter().rev().filter(|&&c| c > id))
                }
                _ => out.push(id),
            }
        }
        out
    }

    /// The body candidates in the order Python's `get_body()` walks them:
    /// attachments skipped, a multipart/related by its root only, the part
    /// its `start=` names or else the first (RFC 2387 §3.1-3.2).
    fn candidates(&self, id: u32, out: &mut Vec<u32>, depth: usize) {
        let Some(part) = self.part(id) else { return };
        let ct = mime_type(part);
        if depth > 1024
            || is_attachment_disposition(part)
            || (ct.starts_with("text/") && self.filename(part).is_some())
        {
            return;
        }
        match &part.body {
            PartType::Multipart(children) => {
                let children: Vec<u32> = children.iter().copied().filter(|&c| c > id).collect();
                if ct == "multipart/related" {
                    let start = part
                        .content_type()
                        .and_then(|c| c.attribute("start"))
                        .map(|s| s.trim().trim_matches(['<', '>']).trim().to_string());
                    let root = start
                        .and_then(|s| {
                            children.iter().copied().find(|&c| {
                                self.part(c)
                                    .and_then(|p| p.content_id())
                                    .is_some_and(|cid| {
                                        cid.trim().trim_matches(['<', '>']).trim() == s
                                    })
                            })
                        })
                        .or(children.first().copied());
                    if let Some(root) = root {
                        self.candidates(root, out, depth + 1);
                    }
                } else if ct.starts_with("multipart/") {
                    for c in children {
                        self.candidates(c, out, depth + 1);
                    }
                }
            }
            PartType::Text(_) | PartType::Html(_)
                if matches!(ct.as_str(), "text/plain" | "text/html") =>
            {
                out.push(id)
            }
            _ if unsplit(part) => out.push(id),
            _ => {}
        }
    }

    /// The body: the first text/plain candidate with text in it, else the
    /// first HTML one with text, as text; "" where there is none.
    pub fn body(&self) -> String {
        let mut candidates = Vec::new();
        self.candidates(0, &mut candidates, 0);
        let parts = || candidates.iter().filter_map(|&id| self.part(id));
        for part in parts() {
            let text = match &part.body {
                PartType::Text(t) if mime_type(part) == "text/plain" => self.undeclared(part, t),
                PartType::Binary(b) | PartType::InlineBinary(b) if unsplit(part) => {
                    String::from_utf8_lossy(b).into_owned()
                }
                _ => continue,
            };
            if !text.trim().is_empty() {
                return text;
            }
        }
        for part in parts() {
            let text = match &part.body {
                // Converted only here: a message with a text part never
                // starts the HTML reader.
                PartType::Html(t) => html::to_text(&self.undeclared(part, t)),
                PartType::Text(t) if mime_type(part) == "text/html" => {
                    html::to_text(&self.undeclared(part, t))
                }
                _ => continue,
            };
            if !text.trim().is_empty() {
                return text;
            }
        }
        String::new()
    }

    /// A text part's text; where it declares no charset (or US-ASCII, or one
    /// nobody knows) and
    /// holds 8-bit bytes that are not UTF-8, mail-parser shows U+FFFD for
    /// them: those bytes are read again, transfer-decoded by mailparse
    /// (which keeps the bytes), in the legacy charset detected from them.
    /// Only then: a part whose text has no U+FFFD costs nothing more.
    fn undeclared(&self, part: &MessagePart<'_>, text: &str) -> String {
        let declared = part
            .content_type()
            .and_then(|c| c.attribute("charset"))
            .map(|c| c.trim().to_ascii_lowercase());
        // A charset nobody knows (`ansi_x3.110-1983`) declares nothing.
        let declares = |c: &str| {
            matches!(c, "utf-8" | "utf8") // mail-parser decodes it without a decoder
                || !matches!(c, "us-ascii" | "ascii") && charset_decoder(c.as_bytes()).is_some()
        };
        if !text.contains('\u{fffd}') || declared.is_some_and(|c| declares(&c)) {
            return text.to_string();
        }
        let Some(whole) = self
            .raw
            .get(part.offset_header as usize..part.offset_end as usize)
        else {
            return text.to_string();
        };
        let Some(bytes) = mailparse::parse_mail(whole)
            .ok()
            .and_then(|m| m.get_body_raw().ok())
        else {
            return text.to_string();
        };
        Legacy::new(None, &bytes).text(&bytes)
    }

    /// Every leaf part that is not body text, in MIME order.
    pub fn attachment_parts(&self) -> Vec<&MessagePart<'_>> {
        self.leaves()
            .into_iter()
            .filter_map(|id| self.part(id))
            .filter(|p| !self.is_body_text(p))
            .collect()
    }

    pub fn describe(&self, part: &MessagePart<'_>) -> Attachment {
        let content_type = part
            .content_type()
            .map(|_| mime_type(part))
            .unwrap_or_else(|| match &part.body {
                PartType::Message(_) => "message/rfc822".into(),
                _ => "application/octet-stream".into(),
            });
        let filename = self
            .filename(part)
            .or_else(|| match &part.body {
                // A forwarded message is named after its subject.
                PartType::Message(m) => m
                    .parts
                    .first()
                    .and_then(|root| first_raw(root, &HeaderName::Subject, &m.raw_message))
                    .map(|s| format!("{}.eml", unstructured(s, &self.legacy))),
                _ => None,
            })
            .unwrap_or_default();
        Attachment {
            filename,
            content_type,
            size: contents(part, self.raw).len(),
        }
    }
}

/// A part's decoded bytes. A message/rfc822 part that is not
/// transfer-encoded is parsed in place, and mail-parser then hands it the
/// whole outer message as its raw bytes: its own are the part's body.
pub(crate) fn contents<'p>(part: &'p MessagePart<'_>, raw: &'p [u8]) -> &'p [u8] {
    match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.as_bytes(),
        PartType::Binary(b) | PartType::InlineBinary(b) => b,
        PartType::Message(m) if part.encoding == Encoding::None => raw
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or(m.raw_message.as_ref()),
        PartType::Message(m) => m.raw_message.as_ref(),
        PartType::Multipart(_) => &[],
    }
}

//! Header text as pipedesk shows it: RFC 2047 encoded-words decoded the way
//! §6.2 says (adjacent words joined, the space between them dropped, a
//! character split across two words whole), undeclared 8-bit bytes read in
//! the charset they most likely are, and attachment filenames with their
//! RFC 2231 pieces joined before they are decoded.

use std::cell::OnceCell;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderName, MessagePart};

/// How the message's undeclared 8-bit header bytes are read (RFC 6532 makes
/// them UTF-8; older mailers wrote their own charset and declared nothing).
pub(crate) struct Legacy<'a> {
    /// The charset the message declares for its text, if any.
    declared: Option<String>,
    /// The header block: what a charset is detected from.
    head: &'a [u8],
    detected: OnceCell<&'static encoding_rs::Encoding>,
}

impl<'a> Legacy<'a> {
    pub(crate) fn new(declared: Option<&str>, head: &'a [u8]) -> Legacy<'a> {
        Legacy {
            declared: declared
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !matches!(c.as_str(), "" | "us-ascii" | "ascii" | "utf-8" | "utf8")),
            head,
            detected: OnceCell::new(),
        }
    }

    /// The header block this reads for.
    pub(crate) fn head(&self) -> &'a [u8] {
        self.head
    }

    /// `bytes` as text: UTF-8 where they are valid UTF-8, else the charset
    /// the message declares for its text, else the legacy charset detected
    /// from the header block (chardetng), so that no byte a charset decodes
    /// becomes U+FFFD.
    pub(crate) fn text(&self, bytes: &[u8]) -> String {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return s.to_string();
        }
        if let Some(decode) = self
            .declared
            .as_deref()
            .and_then(|c| charset_decoder(c.as_bytes()))
        {
            return decode(bytes);
        }
        let encoding = self.detected.get_or_init(|| {
            // Mail cannot run scripts, so ISO-2022-JP may be guessed.
            let mut detector =
                chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
            detector.feed(self.head, true);
            // Not UTF-8: these bytes were just found not to be.
            detector.guess(None, chardetng::Utf8Detection::Deny)
        });
        encoding.decode_without_bom_handling(bytes).0.into_owned()
    }
}

/// An unstructured header value (Subject) as text: unfolded (RFC 5322
/// §2.2.3), encoded-words decoded (RFC 2047), trimmed.
pub(crate) fn unstructured(raw: &[u8], legacy: &Legacy<'_>) -> String {
    let unfolded = unfold(raw);
    if unfolded.is_ascii() && !contains(&unfolded, b"=?") {
        return String::from_utf8_lossy(&unfolded).trim().to_string();
    }
    let mut out = String::new();
    // The run of adjacent encoded-words in one charset, not yet decoded:
    // a mailer that cuts a long subject by bytes splits a character across
    // two words, so their bytes are joined before the charset applies.
    let mut run: Option<(String, Vec<u8>)> = None;
    let (mut last, mut at) = (0, 0);
    while let Some(found) = find(&unfolded[at..], b"=?") {
        let start = at + found;
        let Some((charset, bytes, end)) = encoded_word(&unfolded, start) else {
            at = start + 2;
            continue;
        };
        let gap = &unfolded[last..start];
        // RFC 2047 §6.2: white space between two encoded-words is not
        // displayed. Anything else between them, punctuation included, is
        // text, and is shown as written, with no space added.
        let between_words = run.is_some() && gap.iter().all(|b| b.is_ascii_whitespace());
        match &mut run {
            Some((cs, buf)) if between_words && *cs == charset => join_word(cs, buf, &bytes),
            _ => {
                if let Some((cs, buf)) = run.take() {
                    out += &decode(&cs, &buf, legacy);
                }
                if !between_words {
                    out += &legacy.text(gap);
                }
                run = Some((charset, bytes));
            }
        }
        last = end;
        at = end;
    }
    if let Some((cs, buf)) = run {
        out += &decode(&cs, &buf, legacy);
    }
    out += &legacy.text(&unfolded[last..]);
    out.trim().to_string()
}

/// A header value with its folds undone (RFC 5322 §2.2.3): a run of white
/// space that holds a line end becomes one space, so a continuation line of
/// white space alone reads as if it were not there (SPEC §3), and a bare CR
/// (a line end to Python) keeps the words on either side apart.
fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\r' && b != b'\n' {
            out.push(b);
            i += 1;
            continue;
        }
        while matches!(out.last(), Some(b' ' | b'\t')) {
            out.pop();
        }
        while matches!(raw.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            i += 1;
        }
        out.push(b' ');
    }
    out
}

/// Appends the bytes of the next encoded-word to a run in a stateful
/// ISO-2022 charset: where the run ends by returning to ASCII (`ESC ( B`)
/// and the word starts with an escape of its own, that return is dropped,
/// since a decoder reads two escapes with nothing between as an error
/// (WHATWG Encoding §12.2.1) and would put U+FFFD between the words.
fn join_word(charset: &str, run: &mut Vec<u8>, next: &[u8]) {
    if charset.starts_with("iso-2022") && run.ends_with(b"\x1b(B") && next.first() == Some(&0x1b) {
        run.truncate(run.len() - 3);
    }
    run.extend_from_slice(next);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// The encoded-word `=?charset?B|Q?text?=` at `start`: its charset
/// (lowercased, without an RFC 2231 §5 `*language`), decoded bytes and end.
fn encoded_word(s: &[u8], start: usize) -> Option<(String, Vec<u8>, usize)> {
    let rest = s.get(start + 2..)?;
    let q1 = rest.iter().position(|&b| b == b'?')?;
    let charset = &rest[..q1];
    if charset.is_empty() || charset.len() > 64 || charset.iter().any(|b| !b.is_ascii_graphic()) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let text_len = find(rest.get(text_start..)?, b"?=")?;
    let text = &rest[text_start..text_start + text_len];
    if text.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let bytes = match enc {
        b'b' | b'B' => base64_decode(text)?,
        b'q' | b'Q' => q_decode(text),
        _ => return None,
    };
    let charset = String::from_utf8_lossy(charset);
    let charset = charset
        .split('*')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    Some((charset, bytes, start + 2 + text_start + text_len + 2))
}

/// RFC 2047 §4.2 "Q": `_` is a space, `=XX` a byte; a stray `=` stays.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) = (
                    text.get(i + 1).copied().and_then(hex),
                    text.get(i + 2).copied().and_then(hex),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Bytes of an encoded-word in `charset`; a charset nobody knows is read
/// like undeclared 8-bit bytes.
fn decode(charset: &str, bytes: &[u8], legacy: &Legacy<'_>) -> String {
    match charset_decoder(charset.as_bytes()) {
        // Always through the charset: UTF-7 and ISO-2022-JP are 7-bit.
        Some(decode) => decode(bytes),
        _ => legacy.text(bytes),
    }
}

/// The raw bytes of `part`'s first header `name` (RFC 5322 §3.6: where a
/// header that belongs once appears twice, the first counts, as Python
/// and Request Tracker read it).
pub(crate) fn first_raw<'r>(
    part: &MessagePart<'_>,
    name: &HeaderName<'_>,
    raw: &'r [u8],
) -> Option<&'r [u8]> {
    let h = part.headers.iter().find(|h| &h.name == name)?;
    raw.get(h.offset_start as usize..h.offset_end as usize)
}

/// A part's filename: Content-Disposition's `filename`, else Content-Type's
/// `name` (RFC 2183 §2.3; old mailers write only the latter). The
/// parameters are read by mailparse, which joins RFC 2231 §3 continuations
/// before it applies the §4 charset (mail-parser decodes each piece on its
/// own); encoded-words inside the quoted value, which RFC 2047 §5 forbids
/// but Outlook and others write, are decoded as in a Subject. None where
/// there is none, or it is empty.
pub(crate) fn filename(part: &MessagePart<'_>, raw: &[u8], legacy: &Legacy<'_>) -> Option<String> {
    let param = |name: &HeaderName<'_>, key: &str| -> Option<String> {
        let value = first_raw(part, name, raw)?;
        // Most parts name no file: no parameter parse for them.
        if !value
            .windows(key.len())
            .any(|w| w.eq_ignore_ascii_case(key.as_bytes()))
        {
            return None;
        }
        // Unfolded first: a value folded right after `filename=` (as
        // Exchange writes it) keeps its value.
        let unfolded: Vec<u8> = value
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        let text = legacy.text(&unfolded);
        let params = if key == "filename" {
            mailparse::parse_content_disposition(&text).params
        } else {
            mailparse::parse_content_type(&text).params
        };
        let v = params.get(key)?;
        let v = if v.contains("=?") {
            unstructured(v.as_bytes(), legacy)
        } else {
            v.trim().to_string()
        };
        (!v.is_empty()).then_some(v)
    };
    param(&HeaderName::ContentDisposition, "filename")
        .or_else(|| param(&HeaderName::ContentType, "name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(raw: &str) -> String {
        unstructured(raw.as_bytes(), &Legacy::new(None, b""))
    }

    #[test]
    fn encoded_word_before_punctuation_gets_no_space() {
        assert_eq!(subject("=?UTF-8?Q?abc?=. def"), "abc. def");
        assert_eq!(subject("(=?utf-8?q?caf=C3=A9?=)"), "(café)");
        assert_eq!(subject("Re: =?utf-8?q?x?=, y"), "Re: x, y");
    }

    #[test]
    fn space_between_adjacent_encoded_words_disappears() {
        assert_eq!(
            subject("=?utf-8?q?a?= =?utf-8?q?b?=\r\n\t=?iso-8859-1?q?=E9?="),
            "abé"
        );
        // Between a word and plain text the space is text.
        assert_eq!(subject("=?utf-8?q?a?= b"), "a b");
    }

    #[test]
    fn character_split_across_two_encoded_words_decodes_whole() {
        assert_eq!(subject("=?utf-8?q?caf=C3?= =?UTF-8?q?=A9?="), "café");
        assert_eq!(subject("=?utf-8?B?w6k=?="), "é");
    }

    #[test]
    fn a_bare_cr_inside_a_value_keeps_the_words_apart() {
        assert_eq!(
            subject("Printer problem\rBcc: victim@example.com"),
            "Printer problem Bcc: victim@example.com"
        );
        assert_eq!(subject("folded\r\n line"), "folded line");
    }

    #[test]
    fn whitespace_only_continuation_lines_read_as_if_not_there() {
        assert_eq!(
            subject("Re: TEST\r\n \r\n\t=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n  =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?="),
            "Re: TEST テストテスト"
        );
        assert_eq!(subject("a\n \n\tb"), "a b");
        assert_eq!(subject("a \n\tb\n"), "a b");
    }

    #[test]
    fn broken_words_stay_text() {
        assert_eq!(subject("=?utf-8?x?abc?= =?"), "=?utf-8?x?abc?= =?");
        assert_eq!(subject("=?utf-8?q?a=?="), "a=");
    }

    #[test]
    fn undeclared_8bit_is_utf8_else_declared_else_detected() {
        let l = Legacy::new(None, b"");
        assert_eq!(l.text("Grüße".as_bytes()), "Grüße");
        let l = Legacy::new(Some("koi8-r"), b"");
        assert_eq!(l.text(b"\xf0\xd2\xc9\xd7\xc5\xd4"), "Привет");
        // Nothing declared: detected from the header block (Latin-1 here).
        let head = encoding_rs::WINDOWS_1252
            .encode("Subject: Die Hasen und die Frösche, schöne Grüße\n")
            .0
            .into_owned();
        let l = Legacy::new(None, &head);
        assert_eq!(
            l.text(&head[9..]).trim(),
            "Die Hasen und die Frösche, schöne Grüße"
        );
    }
}

//! The subject tag grammar (SPEC §3): `[NAME #N]` anywhere in a decoded
//! subject, NAME compared case-insensitively, spaces tolerated, so that
//! `Re: AW: [EXT] [Pipedesk  #7] …` names ticket 7. A tag with another name
//! is not ours.
//!
//! Matched by hand rather than by a regex: `deliver` is a process per
//! message, and compiling the case-insensitive Unicode pattern cost it more
//! instructions than everything else it did but SQLite (560 000, measured
//! with callgrind); this grammar is a few lines.

use regex::Regex;

/// Our tag: the site name, as words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    words: Vec<String>,
}

impl Tag {
    pub fn new(name: &str) -> Tag {
        Tag {
            words: name.split_whitespace().map(str::to_string).collect(),
        }
    }

    /// The ticket the first of our tags in `subject` names, if any.
    pub fn find(&self, subject: &str) -> Option<i64> {
        self.spans(subject).map(|(_, _, n)| n).next()
    }

    /// `subject` without our tags, spaces tidied.
    pub fn strip(&self, subject: &str) -> String {
        let mut out = String::with_capacity(subject.len());
        let mut last = 0;
        for (start, end, _) in self.spans(subject) {
            out.push_str(&subject[last..start]);
            out.push(' ');
            last = end;
        }
        out.push_str(&subject[last..]);
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `[name #N] subject`, unless the subject carries that tag already.
    pub fn tagged(&self, subject: &str, id: i64, name: &str) -> String {
        if self.find(subject) == Some(id) {
            subject.to_string()
        } else {
            format!("[{name} #{id}] {subject}")
        }
    }

    /// (start, end, number) of each of our tags in `s`, left to right.
    fn spans<'s>(&'s self, s: &'s str) -> impl Iterator<Item = (usize, usize, i64)> + 's {
        s.match_indices('[')
            .filter_map(move |(at, _)| self.at(s, at).map(|(end, n)| (at, end, n)))
    }

    /// Our tag at byte `at` (a `[`): where it ends, and its number.
    fn at(&self, s: &str, at: usize) -> Option<(usize, i64)> {
        if self.words.is_empty() {
            return None;
        }
        let mut rest = &s[at + 1..];
        rest = rest.trim_start();
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                // Between the name's words: at least one space.
                let trimmed = rest.trim_start();
                if trimmed.len() == rest.len() {
                    return None;
                }
                rest = trimmed;
            }
            rest = strip_prefix_caseless(rest, word)?;
        }
        rest = rest.trim_start().strip_prefix('#')?.trim_start();
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if !(1..=18).contains(&digits) {
            return None;
        }
        let n = number(&rest[..digits])?;
        rest = rest[digits..].trim_start().strip_prefix(']')?;
        Some((s.len() - rest.len(), n))
    }
}

/// `s` without `prefix` at its start, compared case-insensitively (Unicode
/// lowercase, char by char).
fn strip_prefix_caseless<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let mut chars = s.char_indices();
    for p in prefix.chars() {
        let (_, c) = chars.next()?;
        if c != p && !c.to_lowercase().eq(p.to_lowercase()) {
            return None;
        }
    }
    Some(chars.next().map_or("", |(i, _)| &s[i..]))
}

/// A ticket number: ASCII digits only, 1 or more, fits an i64, above 0.
pub fn number(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|&n| n > 0)
}

/// A subject without the forward markers mail clients put in front of it
/// (`Fwd:`, `FW:`, German `WG:`, French `TR:`), for a forwarded message.
pub fn without_forward_prefix(subject: &str) -> String {
    static PREFIX: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        Regex::new(r"(?i)^\s*(?:(?:fwd?|wg|tr)\s*(?:\[\d+\])?\s*:\s*)+").expect("a valid pattern")
    });
    prefix.replace(subject, "").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_found_behind_any_prefix() {
        let t = Tag::new("myisp");
        assert_eq!(t.find("Re: AW: [EXT] [MyISP  #7] printer"), Some(7));
        assert_eq!(t.find("[ myisp # 12 ]"), Some(12));
        assert_eq!(t.find("SV: Fwd: [myisp #3]"), Some(3));
        assert_eq!(t.find("no tag"), None);
        assert_eq!(t.find("[otherdesk #1] [myisp #2]"), Some(2));
        assert_eq!(t.find("[[myisp #4]"), Some(4));
    }

    #[test]
    fn foreign_and_broken_tags_are_not_ours() {
        let t = Tag::new("myisp");
        assert_eq!(t.find("Re: [otherdesk #1]"), None);
        assert_eq!(t.find("[myisp2 #1]"), None);
        assert_eq!(t.find("[myisp #]"), None);
        assert_eq!(t.find("[myisp #0]"), None);
        assert_eq!(t.find("[myisp #12"), None);
        assert_eq!(t.find("[myisp #1234567890123456789]"), None);
        assert_eq!(t.find("[my.isp #1]"), None);
        assert_eq!(Tag::new("my.isp").find("[my.isp #1]"), Some(1));
    }

    #[test]
    fn names_compare_without_case_and_tolerate_more_spaces() {
        let t = Tag::new("My ISP");
        assert_eq!(t.find("Re: [my   isp #5]"), Some(5));
        assert_eq!(
            t.find("Re: [myisp #5]"),
            None,
            "the space is part of the name"
        );
        assert_eq!(Tag::new("Müller").find("[MÜLLER #9]"), Some(9));
    }

    #[test]
    fn subjects_are_tagged_once_and_stripped() {
        let t = Tag::new("myisp");
        assert_eq!(t.tagged("Printer", 3, "myisp"), "[myisp #3] Printer");
        assert_eq!(
            t.tagged("Re: [MyISP #3] Printer", 3, "myisp"),
            "Re: [MyISP #3] Printer"
        );
        assert_eq!(
            t.tagged("Re: [myisp #4] Printer", 3, "myisp"),
            "[myisp #3] Re: [myisp #4] Printer"
        );
        assert_eq!(
            t.strip("Re: [myisp #12]  Printer  broken"),
            "Re: Printer broken"
        );
        assert_eq!(t.strip("[myisp #1] x [MYISP # 2]"), "x");
        assert_eq!(t.strip("[other #3] x"), "[other #3] x");
    }

    #[test]
    fn numbers_are_plain_positive_digits() {
        assert_eq!(number("42"), Some(42));
        for bad in ["", "0", "+4", "x1", "99999999999999999999"] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }

    #[test]
    fn forward_prefixes_go() {
        assert_eq!(without_forward_prefix("Fwd: Printer"), "Printer");
        assert_eq!(without_forward_prefix("FW: Fwd:  WG: Printer"), "Printer");
        assert_eq!(without_forward_prefix("TR: Imprimante"), "Imprimante");
        assert_eq!(without_forward_prefix("Re: Printer"), "Re: Printer");
        assert_eq!(without_forward_prefix("Fwdx: Printer"), "Fwdx: Printer");
    }
}

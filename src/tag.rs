//! The subject tag grammar (SPEC §3): `[NAME #N]` anywhere in a decoded
//! subject, NAME compared case-insensitively, spaces tolerated, so that
//! `Re: AW: [EXT] [Pipedesk  #7] …` names ticket 7. A tag with another name
//! is not ours.

use regex::Regex;

/// The compiled tag pattern for site `name`.
pub fn pattern(name: &str) -> Regex {
    let name = regex::escape(name.trim())
        .replace("\\ ", r"\s+")
        .replace(' ', r"\s+");
    // The pattern is built from an escaped name, so it always compiles.
    Regex::new(&format!(r"(?i)\[\s*{name}\s*#\s*([0-9]{{1,18}})\s*\]"))
        .unwrap_or_else(|_| Regex::new(r"\A\b\B").expect("a pattern that never matches compiles"))
}

/// The ticket the tag names in a decoded subject, if any.
pub fn find(subject: &str, pattern: &Regex) -> Option<i64> {
    pattern
        .captures_iter(subject)
        .find_map(|c| number(c.get(1)?.as_str()))
}

/// `subject` without any tag of `pattern`, spaces tidied.
pub fn strip(subject: &str, pattern: &Regex) -> String {
    let s = pattern.replace_all(subject, " ");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `[name #N] subject`, unless the subject carries that tag already.
pub fn tagged(subject: &str, id: i64, name: &str, pattern: &Regex) -> String {
    if find(subject, pattern) == Some(id) {
        subject.to_string()
    } else {
        format!("[{name} #{id}] {subject}")
    }
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
        let p = pattern("myisp");
        assert_eq!(find("Re: AW: [EXT] [MyISP  #7] printer", &p), Some(7));
        assert_eq!(find("[ myisp # 12 ]", &p), Some(12));
        assert_eq!(find("SV: Fwd: [myisp #3]", &p), Some(3));
        assert_eq!(find("no tag", &p), None);
        assert_eq!(find("[otherdesk #1] [myisp #2]", &p), Some(2));
    }

    #[test]
    fn foreign_and_broken_tags_are_not_ours() {
        let p = pattern("myisp");
        assert_eq!(find("Re: [otherdesk #1]", &p), None);
        assert_eq!(find("[myisp2 #1]", &p), None);
        assert_eq!(find("[myisp #]", &p), None);
        assert_eq!(find("[myisp #0]", &p), None);
        assert_eq!(find("[my.isp #1]", &pattern("myisp")), None);
        assert_eq!(find("[my.isp #1]", &pattern("my.isp")), Some(1));
    }

    #[test]
    fn names_with_spaces_tolerate_more_spaces() {
        let p = pattern("My ISP");
        assert_eq!(find("Re: [my   isp #5]", &p), Some(5));
    }

    #[test]
    fn subjects_are_tagged_once_and_stripped() {
        let p = pattern("myisp");
        assert_eq!(tagged("Printer", 3, "myisp", &p), "[myisp #3] Printer");
        assert_eq!(
            tagged("Re: [MyISP #3] Printer", 3, "myisp", &p),
            "Re: [MyISP #3] Printer"
        );
        assert_eq!(
            tagged("Re: [myisp #4] Printer", 3, "myisp", &p),
            "[myisp #3] Re: [myisp #4] Printer"
        );
        assert_eq!(
            strip("Re: [myisp #12]  Printer  broken", &p),
            "Re: Printer broken"
        );
        assert_eq!(strip("[other #3] x", &p), "[other #3] x");
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

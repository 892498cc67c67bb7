//! Text from mail made safe for a terminal, as fd's `sanitize.rs` does for
//! file names: control characters (ESC above all, which could recolour or
//! retitle the admin's terminal) are shown escaped, never sent raw.

use std::fmt::Write;

/// `s` with every control character but newline and tab shown as `\u{..}`.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// One line of `s` for a header-like field or a table cell.
pub fn one_line(s: &str) -> String {
    for_terminal(&s.replace(['\r', '\n', '\t'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_run() {
        assert_eq!(for_terminal("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(for_terminal("line\r\nnext\ttab"), "line\nnext\ttab");
        assert_eq!(for_terminal("bidi\u{202e}txt"), "bidi\\u{202e}txt");
        assert_eq!(one_line("a\nb\x07"), "a b\\u{7}");
    }
}

//! An HTML-only body as text that keeps its structure (SPEC §3 "Reading a
//! message", issue 17): paragraphs and line breaks, list items on lines of
//! their own (`- `, `1. `), a table's rows on lines of their own with their
//! cells apart, a link's address beside its text, quoted blocks as `> `,
//! never script or style text. html2text does the reading (html5ever, the
//! browsers' parsing algorithm, so Outlook's and Word's broken markup reads
//! as a browser shows it); this module only says how each thing is written.

use html2text::render::TextDecorator;

/// Wider than any line a person writes: text is not wrapped here (a
/// paragraph stays one line, as a text/plain part's does; whoever shows it
/// wraps it), and a table's columns are not squeezed.
const WIDTH: usize = 100_000;

/// The narrowest a table's markup is ever laid out (see `width`).
const MIN_WIDTH: usize = 1_000;

/// How many bytes of text one byte of markup may become through a table's
/// padding (see `width`).
const BYTES_PER_BYTE: usize = 64;

/// The width `html` is laid out in. html2text pads every line of a table
/// to the table's width, which is its widest cells' sum: one 10 KB cell
/// over 1,000 short rows made 39 KB of markup into 10 MB of text (found by
/// the property tests; 512 KB could ask for gigabytes). Markup without a
/// table has nothing padded and keeps `WIDTH`. With one, every line is at
/// most the width, and there are at most about as many lines as tags and
/// line ends, so a width of `BYTES_PER_BYTE` bytes of markup over that
/// count keeps the padding within that many times the markup (or, at
/// `MIN_WIDTH`, a thousand bytes a line). Mail with tables (an Outlook
/// signature, a newsletter) has a tag every 20–50 bytes: a width of 1,000
/// to 3,000 columns, where only a longer paragraph wraps.
fn width(html: &str) -> usize {
    let has_table = html
        .as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"<table"));
    if !has_table {
        return WIDTH;
    }
    let lines = html.bytes().filter(|&b| b == b'<' || b == b'\n').count() + 1;
    (BYTES_PER_BYTE * html.len() / lines).clamp(MIN_WIDTH, WIDTH)
}

/// How each element is written. Emphasis and code are written as the
/// words alone: they carry no structure (`*`, `**` and backticks would be
/// noise in a ticket's text and in search).
#[derive(Clone, Debug, Default)]
struct Mail {
    /// The addresses of the links open around the text being written.
    links: Vec<String>,
}

impl TextDecorator for Mail {
    type Annotation = ();

    fn decorate_link_start(&mut self, url: &str) -> (String, ()) {
        self.links.push(url.trim().to_string());
        (String::new(), ())
    }

    /// The address beside the text, `text <address>`, as a text/plain
    /// part from the same client writes it; a link to a place in the page
    /// itself (`#top`) or with no address says nothing more.
    fn decorate_link_end(&mut self) -> String {
        match self.links.pop() {
            Some(url) if !url.is_empty() && !url.starts_with('#') => format!(" <{url}>"),
            _ => String::new(),
        }
    }

    fn decorate_em_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_em_end(&self) -> String {
        String::new()
    }

    fn decorate_strong_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_strong_end(&self) -> String {
        String::new()
    }

    fn decorate_strikeout_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }

    fn decorate_code_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_code_end(&self) -> String {
        String::new()
    }

    fn decorate_preformat_first(&self) {}

    fn decorate_preformat_cont(&self) {}

    /// An image says what it shows (its alt text), or nothing: a
    /// newsletter's spacer GIFs and tracking pixels are not text.
    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, ()) {
        (title.trim().to_string(), ())
    }

    /// A heading is a paragraph of its own; `#` marks would be noise.
    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }

    fn quote_prefix(&self) -> String {
        "> ".into()
    }

    fn unordered_item_prefix(&self) -> String {
        "- ".into()
    }

    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }

    fn make_subblock_decorator(&self) -> Self {
        Mail::default()
    }

    fn decorate_superscript_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_superscript_end(&self) -> String {
        String::new()
    }

    /// The addresses are beside their links already: no footnotes.
    fn finalise(&mut self, _urls: Vec<String>) -> Vec<html2text::render::TaggedLine<()>> {
        Vec::new()
    }
}

/// Block nesting deeper than any mail client writes. html2text's work
/// grows as the square of the nesting (measured, debug build: 20,000
/// nested `<blockquote>` took 15 s, 100,000 `<div>` 385 s), so deeper
/// markup is read by mail-parser's linear scanner instead.
const MAX_DEPTH: usize = 200;

/// An HTML body larger than any a person writes (a newsletter is ~100
/// KB). html2text is linear but heavy: 4.5 MB took 1.4 s and 430 MB in a
/// release build, against 0.2 s and 28 MB for mail-parser's scanner, so a
/// larger body is read by the scanner.
const MAX_BYTES: usize = 512 * 1024;

/// The text of an HTML body. Lines keep no trailing spaces (the renderer
/// pads table cells), runs of blank lines are one, and a link whose text is
/// its address is not written twice. Where html2text cannot be trusted
/// with the markup (larger than `MAX_BYTES`, nested deeper than
/// `MAX_DEPTH`, or it fails or panics)
/// the text is mail-parser's reading, the tags stripped: a ticket always
/// has its words.
pub(crate) fn to_text(html: &str) -> String {
    let fallback = || mail_parser::decoders::html::html_to_text(html);
    if html.len() > MAX_BYTES || depth(html) > MAX_DEPTH {
        return fallback();
    }
    // The last resort the brief allowed: html2text 0.17.4 panics on
    // hostile markup (`<td colspan=1000000000>`: an unwrap in its table
    // layout, lib.rs:688; `<ol start=9223372036854775807>`: an overflow in
    // a debug build), and a panic would make deliver exit 75 for the
    // message's own fault. This runs inside inbound's `guarded`, so the
    // panic hook stays quiet.
    let rendered = std::panic::catch_unwind(|| {
        html2text::config::with_decorator(Mail::default())
            .no_table_borders()
            .link_footnotes(false)
            .allow_width_overflow()
            .string_from_read(html.as_bytes(), width(html))
    });
    match rendered {
        Ok(Ok(text)) => tidy(&text),
        _ => fallback(),
    }
}

/// How deep the block elements that nest (`div`, `blockquote`, lists,
/// tables) open, counted from their tags alone: a linear scan, a little
/// over where html5ever closes some implicitly, which is the safe side.
fn depth(html: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let bytes = html.as_bytes();
    let mut at = 0;
    while let Some(i) = bytes[at..].iter().position(|&b| b == b'<') {
        let tag = &bytes[at + i + 1..];
        let (closing, name) = match tag.first() {
            Some(b'/') => (true, &tag[1..]),
            _ => (false, tag),
        };
        let nests = ["div", "blockquote", "ul", "ol", "table", "td"]
            .iter()
            .any(|t| {
                name.len() > t.len()
                    && name[..t.len()].eq_ignore_ascii_case(t.as_bytes())
                    && !name[t.len()].is_ascii_alphanumeric()
            });
        if nests {
            if closing {
                depth = depth.saturating_sub(1);
            } else {
                depth += 1;
                deepest = deepest.max(depth);
            }
        }
        at += i + 1;
    }
    deepest
}

/// Trailing spaces off every line (but the `-- ` that opens a signature,
/// RFC 3676 §4.3), blank lines at most one in a row, none at either end;
/// `https://x <https://x>` is `https://x`.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = match line.trim_end() {
            "--" if line.starts_with("-- ") => "-- ",
            trimmed => trimmed,
        };
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        push_unrepeated(&mut out, line);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// A line, with every `X <X>` and `X <mailto:X>` written once as `X`: the
/// address of a link whose text is that address already stands beside it.
fn push_unrepeated(out: &mut String, line: &str) {
    let mut rest = line;
    while let Some(open) = rest.find(" <") {
        let (before, after) = (&rest[..open], &rest[open + 2..]);
        let url = after.find('>').map(|close| &after[..close]);
        match url {
            Some(url) if !url.is_empty() && !url.contains([' ', '<']) => {
                let bare = url.strip_prefix("mailto:").unwrap_or(url);
                if before.ends_with(url) || before.ends_with(bare) {
                    out.push_str(before);
                } else {
                    out.push_str(&rest[..open + 2 + url.len() + 1]);
                }
                rest = &after[url.len() + 1..];
            }
            _ => {
                out.push_str(&rest[..open + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn issue_17_outlook_list_items_are_lines_of_their_own() {
        let html = "<p class=MsoNormal>Steps:</p><ul><li>restarting the laptop</li>\
                    <li>removing the credentials</li></ul><ol><li>one</li><li>two</li></ol>";
        assert_eq!(
            to_text(html),
            "Steps:\n- restarting the laptop\n- removing the credentials\n1. one\n2. two\n"
        );
    }

    #[test]
    fn issue_17_table_rows_are_lines_with_their_cells_apart() {
        let html = "<table><tr><td>Name</td><td>Value</td></tr>\
                    <tr><td>CPU</td><td>99%</td></tr></table>";
        let text = to_text(html);
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines, [vec!["Name", "Value"], vec!["CPU", "99%"]], "{text}");
    }

    #[test]
    fn a_link_whose_text_is_its_address_is_written_once() {
        let html = "<p>Desk &lt;<a href=\"mailto:a@example.org\">a@example.org</a>&gt; wrote, \
                    see <a href=\"https://x.example/\">https://x.example/</a> or \
                    <a href=\"https://y.example/\">this</a></p>";
        assert_eq!(
            to_text(html),
            "Desk <a@example.org> wrote, see https://x.example/ or this <https://y.example/>\n"
        );
    }

    #[test]
    fn links_quotes_breaks_and_no_script_or_style() {
        let html = "<html><head><title>T</title><style>p{color:red}</style></head><body>\
                    <script>alert('x')</script><p>See <a href=\"https://example.org/kb\">the article</a> \
                    or <a href=\"https://example.org\">https://example.org</a>.<br>Line two<br><br>After</p>\
                    <blockquote>quoted<br>more</blockquote></body></html>";
        assert_eq!(
            to_text(html),
            "See the article <https://example.org/kb> or https://example.org.\n\
             Line two\n\nAfter\n\n> quoted\n> more\n"
        );
    }

    /// A table's lines are padded to its width: one wide cell over many
    /// short rows made 39 KB of markup into 10 MB of text, and 512 KB
    /// could have asked for gigabytes (found by tests/properties/html.rs).
    #[test]
    fn a_wide_cell_over_many_rows_makes_text_linear_in_the_markup() {
        let html = format!(
            "<table><tr><td>{}</td><td>b</td></tr>{}</table>",
            "x".repeat(10_000),
            "<tr><td>a</td><td>b</td></tr>".repeat(1_000)
        );
        let text = to_text(&html);
        assert!(text.len() <= 64 * html.len(), "{} bytes", text.len());
        assert_eq!(text.lines().filter(|l| l.starts_with('a')).count(), 1_000);
    }

    /// Hostile markup is read without a panic and without work that grows
    /// as the square of its nesting.
    #[test]
    fn hostile_markup_never_panics() {
        for html in [
            "<table><tr><td colspan=1000000000>a<td rowspan=100000000>b</table>".to_string(),
            "<ol start=9223372036854775807><li>a<li>b</ol>".to_string(),
            "<div>".repeat(100_000) + "deep",
            "<blockquote>".repeat(50_000) + "deep",
            "<ul><li>".repeat(50_000) + "deep",
            "<table><tr><td>".repeat(20_000) + "deep",
        ] {
            let text = to_text(&html);
            assert!(
                !text.contains('<') && !text.trim().is_empty(),
                "{text:.100}"
            );
        }
        assert!(to_text(&("<div>".repeat(100_000) + "deep")).contains("deep"));
    }
}

//! The HTML reading (`inbound::html_to_text`, html2text under guards) on
//! generated markup: well-formed documents built from the elements mail
//! clients write, arbitrary tag soup, and the committed HTML seeds
//! (`fuzz/seeds/html/`: the fixtures of four mail clients and the hostile
//! markup found so far) cut, doubled and spliced. Always: no panic gets
//! out, and the text is within `html_text_bound` of the markup; for the
//! well-formed documents, every word between the tags is in the text.

use pipedesk::inbound::html_to_text;
use proptest::prelude::*;

use crate::fuzz_checks::html_text_bound;

/// Reads `markup`, failing the property on a panic or too much text.
fn read(markup: &str) -> Result<String, TestCaseError> {
    let text = std::panic::catch_unwind(|| html_to_text(markup))
        .map_err(|_| TestCaseError::fail(format!("a panic got out on {markup:?}")))?;
    prop_assert!(
        text.len() <= html_text_bound(markup.len()),
        "{} bytes of HTML made {} bytes of text",
        markup.len(),
        text.len()
    );
    Ok(text)
}

/// A piece of a document, with the words it holds.
#[derive(Debug, Clone)]
enum Node {
    Word(String),
    /// An element that holds any flow content.
    Flow(&'static str, Vec<Node>),
    /// A list: its items hold flow content.
    List(&'static str, Vec<Vec<Node>>),
    /// A table: rows of cells of flow content.
    Table(Vec<Vec<Vec<Node>>>),
    /// A link around words.
    Link(Vec<String>),
    Break,
}

impl Node {
    /// Does this hold text wider than html2text reckons (a link, whose
    /// address is written beside it; `pre`, whose spaces all count)?
    fn overflows(&self) -> bool {
        match self {
            Node::Link(_) | Node::Flow("pre", _) => true,
            Node::Word(_) | Node::Break => false,
            Node::Flow(_, children) => children.iter().any(Node::overflows),
            Node::List(_, items) => items.iter().flatten().any(Node::overflows),
            Node::Table(rows) => rows.iter().flatten().flatten().any(Node::overflows),
        }
    }

    fn write(&self, out: &mut String, words: &mut Vec<String>) {
        match self {
            Node::Word(w) => {
                out.push(' ');
                out.push_str(w);
                out.push(' ');
                words.push(w.clone());
            }
            Node::Flow(tag, children) => {
                out.push_str(&format!("<{tag}>"));
                for c in children {
                    c.write(out, words);
                }
                out.push_str(&format!("</{tag}>"));
            }
            Node::List(tag, items) => {
                out.push_str(&format!("<{tag}>"));
                for item in items {
                    out.push_str("<li>");
                    for c in item {
                        c.write(out, words);
                    }
                    out.push_str("</li>");
                }
                out.push_str(&format!("</{tag}>"));
            }
            Node::Table(rows) => {
                out.push_str("<table>");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in row {
                        out.push_str("<td>");
                        // Known, and html2text's (0.17.4): it sizes a
                        // column by its cells' text, counting 5 columns
                        // for a link and one for a run of spaces, so the
                        // address written beside a link (` <https://…>`)
                        // or the spaces of a `pre` overflow the column and
                        // the cell's text wraps, a word longer than what
                        // is left of the line cut in two. The words of
                        // such a cell are written but not held to.
                        let mut unheld = Vec::new();
                        let held = if cell.iter().any(Node::overflows) {
                            &mut unheld
                        } else {
                            &mut *words
                        };
                        for c in cell {
                            c.write(out, held);
                        }
                        out.push_str("</td>");
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</table>");
            }
            Node::Link(text) => {
                out.push_str("<a href=\"https://example.org/kb\">");
                for w in text {
                    out.push_str(w);
                    out.push(' ');
                    words.push(w.clone());
                }
                out.push_str("</a>");
            }
            Node::Break => out.push_str("<br>"),
        }
    }
}

fn word() -> impl Strategy<Value = String> {
    "[a-z]{1,9}"
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        4 => word().prop_map(Node::Word),
        1 => prop::collection::vec(word(), 1..3).prop_map(Node::Link),
        1 => Just(Node::Break),
    ];
    leaf.prop_recursive(5, 64, 4, |inner| {
        let flow = prop::collection::vec(inner, 0..4);
        prop_oneof![
            (
                prop::sample::select(vec![
                    "p",
                    "div",
                    "blockquote",
                    "b",
                    "i",
                    "span",
                    "strong",
                    "em",
                    "h2",
                    "pre"
                ]),
                flow.clone()
            )
                .prop_map(|(tag, children)| Node::Flow(tag, children)),
            (
                prop::sample::select(vec!["ul", "ol"]),
                prop::collection::vec(flow.clone(), 1..4)
            )
                .prop_map(|(tag, items)| Node::List(tag, items)),
            prop::collection::vec(prop::collection::vec(flow, 1..4), 1..4).prop_map(Node::Table),
        ]
    })
}

/// A seed of `fuzz/seeds/html/` changed by cuts, doublings and splices of
/// tag soup: what a mangling relay or a broken client makes of real mail.
fn mutated_seed() -> impl Strategy<Value = String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/html");
    let mut seeds: Vec<String> = std::fs::read_dir(&dir)
        .expect("fuzz/seeds/html")
        .map(|e| std::fs::read_to_string(e.expect("a seed").path()).expect("a UTF-8 seed"))
        .filter(|s| s.len() < 8192)
        .collect();
    seeds.sort();
    let edit = (
        0..3usize,
        any::<prop::sample::Index>(),
        0..64usize,
        "(<[/a-z]{0,6}[ =\"a-z0-9]{0,8}>|&[a-z#0-9]{0,6};?|[a-z <>\n]){0,6}",
    );
    (
        prop::sample::select(seeds),
        prop::collection::vec(edit, 1..8),
    )
        .prop_map(|(seed, edits)| {
            let mut s = seed;
            for (kind, at, len, soup) in edits {
                let mut at = at.index(s.len() + 1);
                while !s.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + len).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                match kind {
                    0 => s.replace_range(at..end, ""),
                    1 => {
                        let piece = s[at..end].to_string();
                        s.insert_str(at, &piece);
                    }
                    _ => s.insert_str(at, &soup),
                }
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn html_reading_keeps_every_word_between_the_tags(doc in prop::collection::vec(node(), 1..6)) {
        let (mut markup, mut words) = (String::from("<html><body>"), Vec::new());
        for n in &doc {
            n.write(&mut markup, &mut words);
        }
        markup.push_str("</body></html>");
        let text = read(&markup)?;
        for w in &words {
            prop_assert!(text.contains(w.as_str()), "{w:?} is lost from {markup:?}: {text:?}");
        }
    }

    #[test]
    fn html_reading_of_tag_soup_is_bounded_and_never_panics(
        markup in "(<[/!a-z]{0,8}( [a-z]{1,7}(=\"?[a-z0-9 ]{0,6}\"?)?)?/?>|&[a-z#0-9x]{0,8};?|[a-z0-9 <>/\n]{1,6}){0,80}"
    ) {
        read(&markup)?;
    }

    #[test]
    fn html_reading_of_mangled_mail_is_bounded_and_never_panics(markup in mutated_seed()) {
        read(&markup)?;
    }
}

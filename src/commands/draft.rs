//! The text of `reply`, `comment` and `create`: stdin, or `$VISUAL`/`$EDITOR`
//! on a private draft when stdin is a terminal. The draft opens under a
//! header naming the ticket, holding the canned answer or a quote of the
//! last message; lines starting with `#` are dropped, as git does with a
//! commit message.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::model::Upload;

/// What the editor's draft starts as.
pub struct Draft<'a> {
    /// The draft file's name starts with this (`pipedesk-reply-`).
    pub prefix: &'a str,
    /// What the text is for: `Reply to ticket #4: Printer on fire`.
    pub heading: String,
    /// The text to start from: a canned answer, or a quote.
    pub seed: String,
    /// Whether the seed may be sent as it is (a canned answer may; a quote
    /// alone is nobody's answer).
    pub seed_is_answer: bool,
}

/// Where the text came from.
pub enum Text {
    /// Read from stdin (a pipe, a file).
    Stdin(String),
    /// Written in the editor.
    Edited(String),
}

/// The text from stdin, or from the editor when stdin is a terminal; the
/// draft is only built (by `draft`) when the editor opens.
pub fn read(draft: impl FnOnce() -> Result<Draft<'static>>) -> Result<Text> {
    let mut stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut body = String::new();
        stdin
            .read_to_string(&mut body)
            .context("reading the text from stdin")?;
        return Ok(Text::Stdin(body));
    }
    let draft = draft()?;
    let written = edit(&draft)?;
    let text = without_comments(&written);
    if text.trim().is_empty() {
        bail!("empty text: nothing was sent");
    }
    if !draft.seed_is_answer && text.trim() == draft.seed.trim() {
        bail!("the draft was not changed: nothing was sent");
    }
    Ok(Text::Edited(text))
}

/// The draft as the editor opens it.
pub fn initial(draft: &Draft<'_>) -> String {
    let mut text = format!(
        "# {}\n# Lines starting with # are dropped; an empty text sends nothing.\n",
        one_line(&draft.heading)
    );
    if !draft.seed.is_empty() {
        text.push_str(&draft.seed);
        if !draft.seed.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

/// `text` without the lines that start with `#`.
pub fn without_comments(text: &str) -> String {
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let mut out = kept.join("\n");
    out.truncate(out.trim_end().len());
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// `body` quoted, `> ` before every line, under who wrote it.
pub fn quote(author: &str, body: &str) -> String {
    let mut q = format!("{} wrote:\n", one_line(author));
    for line in body.trim_end().lines() {
        if line.is_empty() {
            q.push_str(">\n");
        } else {
            q.push_str("> ");
            q.push_str(line);
            q.push('\n');
        }
    }
    q
}

fn one_line(s: &str) -> String {
    crate::term::one_line(s)
}

/// The files `--attach` names, read whole before anything is written; a
/// file that cannot be read is an error naming it.
pub fn files(paths: &[PathBuf]) -> Result<Vec<Upload>> {
    paths
        .iter()
        .map(|p| {
            let bytes =
                std::fs::read(p).with_context(|| format!("reading {} (--attach)", p.display()))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(Upload::new(&name, bytes))
        })
        .collect()
}

/// Runs the editor on a draft in a file only this user can open, under a
/// name nobody can guess: a predictable `/tmp` name let another local user
/// plant a symlink there and have root's editor session overwrite any file
/// (issue 10).
fn edit(draft: &Draft<'_>) -> Result<String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut file = tempfile::Builder::new()
        .prefix(draft.prefix)
        .suffix(".txt")
        .tempfile()
        .context("creating a draft file")?;
    use std::io::Write;
    file.write_all(initial(draft).as_bytes())
        .and_then(|()| file.flush())
        .context("writing the draft")?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .with_context(|| format!("running {editor}"))?;
    if !status.success() {
        bail!("{editor} exited with {status}: nothing was sent");
    }
    // Read by path: an editor may write a new file in place of the old one.
    std::fs::read_to_string(file.path()).context("reading the draft")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draft_names_the_ticket_and_its_comment_lines_are_dropped() {
        let d = Draft {
            prefix: "pipedesk-reply-",
            heading: "Reply to ticket #4: Printer\non fire".into(),
            seed: quote("maria@example.net", "It burns.\n\nHelp!"),
            seed_is_answer: false,
        };
        let text = initial(&d);
        assert_eq!(
            text,
            "# Reply to ticket #4: Printer on fire\n\
             # Lines starting with # are dropped; an empty text sends nothing.\n\
             maria@example.net wrote:\n> It burns.\n>\n> Help!\n"
        );
        let edited = format!("Water, now.\n\n{text}\n\n");
        assert_eq!(
            without_comments(&edited),
            "Water, now.\n\nmaria@example.net wrote:\n> It burns.\n>\n> Help!\n"
        );
        assert_eq!(without_comments("# only\n#this\n"), "");
    }
}

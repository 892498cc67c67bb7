//! pipedesk.toml(5), made from the commented configuration `pipedesk init`
//! writes (`config::SAMPLE`, `examples/pipedesk.toml`): each section and
//! key of that file with its comment as the description, so that the page
//! and the file's comments can never disagree (issue 18).

use crate::config::SAMPLE;

/// One `key = value` of the sample, with the comment that describes it.
#[derive(Debug, PartialEq, Eq)]
struct Key {
    name: String,
    value: String,
    /// The comment lines above it, then its own trailing comment.
    about: Vec<String>,
    /// Shown commented out in the file: an example, not a default.
    example: bool,
}

/// One `[section]` (or `[[array]]`) of the sample.
#[derive(Debug, Default, PartialEq, Eq)]
struct Section {
    header: String,
    /// The comment just above the header.
    about: Vec<String>,
    keys: Vec<Key>,
    example: bool,
}

/// The sample read as the page needs it: its opening comment, then each
/// section. A comment block belongs to what follows it at once (a key or a
/// section header); one ended by a blank line, or a bare `#`, is the
/// section's own.
fn read(sample: &str) -> (Vec<String>, Vec<Section>) {
    let mut intro = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for line in sample.lines().map(str::trim) {
        if line.is_empty() || line == "#" {
            let loose = std::mem::take(&mut pending);
            match sections.last_mut() {
                Some(s) => s.about.extend(loose),
                None => intro.extend(loose),
            }
            continue;
        }
        let (commented, text) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        if text.starts_with('[') && text.ends_with(']') {
            sections.push(Section {
                header: text.to_string(),
                about: std::mem::take(&mut pending),
                keys: Vec::new(),
                example: commented,
            });
        } else if let Some((name, value, trailing)) = key_line(text) {
            let Some(section) = sections.last_mut() else {
                pending.push(text.to_string());
                continue;
            };
            let mut about = std::mem::take(&mut pending);
            about.extend(trailing);
            section.keys.push(Key {
                name,
                value,
                about,
                example: commented,
            });
        } else if commented {
            pending.push(text.to_string());
        }
    }
    if let Some(s) = sections.last_mut() {
        s.about.extend(pending);
    }
    (intro, sections)
}

/// `name = value  # comment` → its parts; `None` for any other line.
fn key_line(text: &str) -> Option<(String, String, Option<String>)> {
    let (name, rest) = text.split_once('=')?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.'))
    {
        return None;
    }
    let (value, trailing) = split_trailing(rest.trim());
    Some((name.to_string(), value, trailing))
}

/// A value and its trailing `# comment`, a `#` inside a string kept.
fn split_trailing(rest: &str) -> (String, Option<String>) {
    let mut in_string = false;
    for (i, c) in rest.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => {
                let comment = rest[i + 1..].trim();
                return (
                    rest[..i].trim().to_string(),
                    (!comment.is_empty()).then(|| comment.to_string()),
                );
            }
            _ => {}
        }
    }
    (rest.to_string(), None)
}

/// Text for roff: backslashes and hyphens escaped, and no line that starts
/// with a control character.
fn esc(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Comment lines as one paragraph.
fn paragraph(lines: &[String]) -> String {
    esc(&lines.join(" "))
}

/// pipedesk.toml(5) in roff (man(7)).
pub fn page() -> String {
    render(SAMPLE)
}

fn render(sample: &str) -> String {
    let (intro, sections) = read(sample);
    let mut out = String::new();
    let version = env!("CARGO_PKG_VERSION");
    out.push_str(&format!(
        ".TH PIPEDESK.TOML 5 \"\" \"pipedesk {version}\" \"File Formats\"\n"
    ));
    out.push_str(".SH NAME\npipedesk.toml \\- the configuration of pipedesk\n");
    out.push_str(&format!(
        ".SH SYNOPSIS\n\\fI{}\\fR\n.br\n\\fBpipedesk \\-\\-config\\fR \\fIPATH\\fR \\fIcommand\\fR\n.br\n\\fBPIPEDESK_CONFIG\\fR=\\fIPATH\\fR \\fBpipedesk\\fR \\fIcommand\\fR\n",
        esc(crate::config::SYSTEM_CONFIG)
    ));
    out.push_str(".SH DESCRIPTION\n");
    out.push_str(&paragraph(&intro));
    out.push('\n');
    out.push_str(
        ".PP\npipedesk reads its configuration from \\fB\\-\\-config\\fR \\fIPATH\\fR, \
         else \\fB$PIPEDESK_CONFIG\\fR, else the system's file where it exists, else \
         the built\\-in defaults. It is TOML; an unknown key or a bad value is refused \
         with the file, line and key.\n\
         .PP\n\\fBpipedesk init\\fR writes this file with the comments this page is \
         made from; \\fBpipedesk check\\fR validates it. \\fBpipedesk serve\\fR \
         re\\-reads it at SIGHUP (\\fBsystemctl reload\\fR), but for \
         \\fBsite.database\\fR, \\fBweb.listen\\fR and \\fBweb.base_url\\fR, which \
         need a restart; every other command reads it when it starts.\n\
         .PP\nA key or section shown commented out in the file, marked \
         \\fI(example)\\fR here, is not set by default: the file shows how to set it.\n",
    );
    out.push_str(".SH KEYS\n");
    for section in &sections {
        let mark = if section.example { " (example)" } else { "" };
        out.push_str(&format!(".SS \"{}{mark}\"\n", esc(&section.header)));
        if !section.about.is_empty() {
            out.push_str(&paragraph(&section.about));
            out.push('\n');
        }
        for key in &section.keys {
            let mark = if key.example {
                " \\fI(example)\\fR"
            } else {
                ""
            };
            out.push_str(&format!(
                ".TP\n\\fB{}\\fR = {}{mark}\n",
                esc(&key.name),
                esc(&key.value)
            ));
            if !key.about.is_empty() {
                out.push_str(&paragraph(&key.about));
                out.push('\n');
            }
        }
    }
    out.push_str(&format!(
        ".SH FILES\n.TP\n\\fI{}\\fR\nThe system's configuration, read when neither \
         \\fB\\-\\-config\\fR nor \\fB$PIPEDESK_CONFIG\\fR names another.\n\
         .TP\n\\fI{}\\fR\nThe SQLite database of a system install: \\fBpipedesk init\\fR \
         puts it there for a configuration under \\fI/etc\\fR.\n",
        esc(crate::config::SYSTEM_CONFIG),
        esc(super::init::SYSTEM_DATABASE)
    ));
    out.push_str(
        ".SH SEE ALSO\n\\fBpipedesk\\fR(1), \\fBpipedesk\\-init\\fR(1), \
         \\fBpipedesk\\-check\\fR(1), \\fBpipedesk\\-serve\\fR(1), \
         \\fBpipedesk\\-deliver\\fR(1)\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `name = ` of the sample, commented or not, by section.
    fn keys_of(sample: &str) -> Vec<(String, String)> {
        let mut section = String::new();
        let mut found = Vec::new();
        for line in sample
            .lines()
            .map(|l| l.trim().trim_start_matches('#').trim())
        {
            if line.starts_with('[') {
                section = line.to_string();
            } else if let Some((name, _)) = line.split_once(" = ") {
                if !name.contains(' ') && !section.is_empty() {
                    found.push((section.clone(), name.to_string()));
                }
            }
        }
        found
    }

    #[test]
    fn every_section_and_key_of_the_sample_is_on_the_page_with_its_comment() {
        let page = page();
        let keys = keys_of(SAMPLE);
        assert!(keys.len() > 30, "{keys:?}");
        for (section, key) in &keys {
            let heading = format!(".SS \"{}", esc(section));
            let at = page
                .find(&heading)
                .unwrap_or_else(|| panic!("no {section} on the page"));
            let within = &page[at..];
            let end = within[1..].find(".SS ").map_or(within.len(), |e| e + 1);
            assert!(
                within[..end].contains(&format!(".TP\n\\fB{}\\fR = ", esc(key))),
                "{section} {key} is not on the page"
            );
        }
        let (_, sections) = read(SAMPLE);
        for s in &sections {
            for k in &s.keys {
                assert!(
                    !k.about.is_empty(),
                    "{} {} has no comment in examples/pipedesk.toml",
                    s.header,
                    k.name
                );
                assert!(page.contains(&paragraph(&k.about)), "{}", k.name);
            }
        }
    }

    #[test]
    fn the_page_has_the_sections_of_a_file_format_page() {
        let page = page();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "KEYS",
            "FILES",
            "SEE ALSO",
        ] {
            assert!(
                page.lines().any(|l| l == format!(".SH {section}")),
                "no {section}"
            );
        }
        assert!(page.starts_with(".TH PIPEDESK.TOML 5 "));
    }

    #[test]
    fn comments_attach_to_what_follows_them() {
        let sample = "# Intro.\n\n[a]\n# About x.\nx = 1  # more\ny = \"#no\"\n\n# About b.\n# [[b]]\n# z = 2   # zed\n";
        let (intro, sections) = read(sample);
        assert_eq!(intro, ["Intro."]);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].keys[0].about, ["About x.", "more"]);
        assert_eq!(sections[0].keys[1].value, "\"#no\"");
        assert!(sections[0].keys[1].about.is_empty());
        assert_eq!(sections[1].header, "[[b]]");
        assert_eq!(sections[1].about, ["About b."]);
        assert!(sections[1].example && sections[1].keys[0].example);
        assert_eq!(sections[1].keys[0].about, ["zed"]);
    }

    #[test]
    fn roff_control_characters_are_escaped() {
        assert_eq!(esc(".hidden"), "\\&.hidden");
        assert_eq!(esc("a-b \\n"), "a\\-b \\en");
    }
}

//! Canned answers (SPEC §5 `canned`): one file per answer in `canned.dir`,
//! `NAME.txt`, whose first line is `Title: …` and whose rest is the text, a
//! minijinja template that may name `requestor.name`, `requestor.address`,
//! `ticket.id`, `ticket.subject` and `staff.name`. Any other name is an
//! error that names it, never an empty gap in a mail to a customer: the
//! names are checked before rendering, and rendering is strict besides.

use std::path::Path;

use anyhow::{Context as _, Result};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::desk::Error;

/// The names a canned answer may use.
pub const VARIABLES: [&str; 5] = [
    "requestor.name",
    "requestor.address",
    "ticket.id",
    "ticket.subject",
    "staff.name",
];

/// One canned answer, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Canned {
    pub name: String,
    pub title: String,
}

/// What a canned answer is filled in with.
#[derive(Debug, Clone, Serialize)]
pub struct Fill<'a> {
    pub requestor: Person<'a>,
    pub ticket: TicketFill<'a>,
    pub staff: StaffFill<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Person<'a> {
    pub name: &'a str,
    pub address: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketFill<'a> {
    pub id: i64,
    pub subject: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffFill<'a> {
    pub name: &'a str,
}

/// Is `name` a name a canned answer may have? Letters, digits, `-`, `_`
/// and `.` inside: nothing that leaves the folder or hides.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Every canned answer in `dir`, by name; none when the folder is missing.
pub fn list(dir: &Path) -> Result<Vec<Canned>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let file = entry.file_name();
        let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".txt")) else {
            continue;
        };
        if !valid_name(name) {
            continue;
        }
        let text = read(dir, name)?;
        found.push(Canned {
            name: name.to_string(),
            title: split(&text).0.to_string(),
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The text of canned answer `name` filled in with `fill`.
pub fn render(dir: &Path, name: &str, fill: &Fill<'_>) -> Result<String> {
    let known = || {
        list(dir).map(|all| {
            if all.is_empty() {
                format!("there are none in {}", dir.display())
            } else {
                let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
                format!("known: {}", names.join(", "))
            }
        })
    };
    if !valid_name(name) || !dir.join(format!("{name}.txt")).is_file() {
        return Err(Error::BadInput(format!("no canned answer {name:?} ({})", known()?)).into());
    }
    let text = read(dir, name)?;
    fill_in(name, split(&text).1, fill)
}

/// What is wrong with the canned answers in `dir`, one line each (for
/// `pipedesk check`): each is filled in with sample values, so a name it
/// may not use shows before anyone picks it.
pub fn problems(dir: &Path) -> Result<Vec<String>> {
    let sample = Fill {
        requestor: Person {
            name: "Maria Keller",
            address: "maria@example.net",
        },
        ticket: TicketFill {
            id: 1,
            subject: "Printer on fire",
        },
        staff: StaffFill {
            name: "stef@example.org",
        },
    };
    let mut found = Vec::new();
    for c in list(dir)? {
        if let Err(e) = render(dir, &c.name, &sample) {
            found.push(format!("{e:#}"));
        }
    }
    Ok(found)
}

/// `template` (the text of canned answer `name`) filled in with `fill`.
pub fn fill_in(name: &str, template: &str, fill: &Fill<'_>) -> Result<String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // The text is mail, not HTML: nothing is escaped, and a trailing
    // newline stays.
    env.set_keep_trailing_newline(true);
    let bad = |why: String| -> anyhow::Error {
        Error::BadInput(format!("canned answer {name:?}: {why}")).into()
    };
    env.add_template("canned", template)
        .map_err(|e| bad(e.to_string()))?;
    let t = env.get_template("canned").map_err(|e| bad(e.to_string()))?;
    let mut unknown: Vec<String> = t
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| !VARIABLES.contains(&v.as_str()) && !is_group(v))
        .collect();
    unknown.sort();
    if !unknown.is_empty() {
        return Err(bad(format!(
            "unknown {} {} (it may use {})",
            if unknown.len() == 1 { "name" } else { "names" },
            unknown.join(", "),
            VARIABLES.join(", ")
        )));
    }
    t.render(fill).map_err(|e| bad(e.to_string()))
}

/// `requestor`, `ticket`, `staff`: a group whose members are the names.
fn is_group(v: &str) -> bool {
    VARIABLES
        .iter()
        .any(|k| k.split_once('.').is_some_and(|(g, _)| g == v))
}

fn read(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(format!("{name}.txt"));
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).replace("\r\n", "\n"))
}

/// (title, text): the first line's `Title: …`, and what follows it. A file
/// without a title line is all text, titled by nothing.
fn split(text: &str) -> (&str, &str) {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    match first.trim().strip_prefix("Title:") {
        Some(title) => (title.trim(), rest),
        None => ("", text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill() -> Fill<'static> {
        Fill {
            requestor: Person {
                name: "Maria Keller",
                address: "maria@example.net",
            },
            ticket: TicketFill {
                id: 7,
                subject: "Printer",
            },
            staff: StaffFill {
                name: "stef@example.org",
            },
        }
    }

    #[test]
    fn a_canned_answer_names_the_requestor_the_ticket_and_staff() {
        let text = fill_in(
            "thanks",
            "Hello {{ requestor.name }} <{{ requestor.address }}>,\n#{{ ticket.id }} {{ ticket.subject }}\n-- {{ staff.name }}\n",
            &fill(),
        )
        .unwrap();
        assert_eq!(
            text,
            "Hello Maria Keller <maria@example.net>,\n#7 Printer\n-- stef@example.org\n"
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_naming_it() {
        for (template, named) in [
            ("Dear {{ requestor.nmae }}", "requestor.nmae"),
            ("{{ customer }}", "customer"),
            ("{% if agent.name %}x{% endif %}", "agent.name"),
        ] {
            let e = fill_in("t", template, &fill()).unwrap_err();
            let msg = format!("{e:#}");
            assert!(msg.contains(named), "{template}: {msg}");
            assert!(matches!(Error::find(&e), Some(Error::BadInput(_))));
        }
        let e = fill_in("t", "{{ broken", &fill()).unwrap_err();
        assert!(matches!(Error::find(&e), Some(Error::BadInput(_))));
    }

    #[test]
    fn the_title_is_the_first_line() {
        assert_eq!(split("Title: Thanks\nHello\n"), ("Thanks", "Hello\n"));
        assert_eq!(split("Hello\n"), ("", "Hello\n"));
    }

    #[test]
    fn names_cannot_leave_the_folder() {
        assert!(valid_name("printer-toner_2"));
        assert!(!valid_name("../x"));
        assert!(!valid_name(".hidden"));
        assert!(!valid_name(""));
        assert!(!valid_name("a/b"));
    }
}

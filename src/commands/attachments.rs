//! `pipedesk attachments N [--save DIR]`: a ticket's attachments, listed or
//! saved. A filename comes from the sender, so it is treated as hostile: only
//! its last path component is kept, NUL and control characters, leading
//! dots, Windows device names and characters Windows forbids are removed,
//! it is cut to a length every filesystem takes, and the file is created
//! new (never overwriting, never through a planted symlink) inside DIR.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};

use crate::cli::AttachmentsArgs;
use crate::config::Config;
use crate::term::{human_date, one_line, size};
use crate::view::AttachmentView;

pub fn run(config: &Arc<Config>, args: AttachmentsArgs) -> Result<()> {
    let (ticket, found) = crate::commands::desk(config)?.attachments(args.id)?;
    let dir = match &args.save {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            Some(d.as_path())
        }
        None => None,
    };
    let mut listed = Vec::new();
    for f in found {
        let saved = match dir {
            Some(d) => Some(save(
                d,
                &safe_name(&f.attachment.filename, f.index),
                &f.bytes,
            )?),
            None => None,
        };
        listed.push(AttachmentView {
            index: f.index,
            message: f.message,
            author: f.author,
            date: f.date,
            filename: f.attachment.filename,
            content_type: f.attachment.content_type,
            size: f.attachment.size,
            saved,
        });
    }
    if args.json {
        return crate::term::json(&listed);
    }
    if listed.is_empty() {
        eprintln!("ticket #{} has no attachments", ticket.id);
        return Ok(());
    }
    let mut out = String::new();
    for l in &listed {
        let name = if l.filename.is_empty() {
            "(no name)".to_string()
        } else {
            one_line(&l.filename)
        };
        out += &format!(
            "{:>3}  {name}  ({}, {})  from {}, {}\n",
            l.index,
            one_line(&l.content_type),
            size(l.size),
            one_line(config.shown(&l.author)),
            human_date(l.date, &config.site.timezone)
        );
        if let Some(p) = &l.saved {
            out += &format!("     saved as {}\n", one_line(&p.display().to_string()));
        }
    }
    crate::term::out(&out)
}

/// The longest name written, in bytes: under the 255 of ext4, XFS, APFS
/// and NTFS, with room for a `-NN` made unique.
const MAX_NAME: usize = 200;

/// A file name that is safe to create inside a folder: one component, no
/// NUL or control characters, no leading dot (so never `.` or `..`, nor a
/// hidden file), no Windows device name (`CON`, `aux.txt`, `COM1`…), none of
/// `<>:"/\|?*`, no trailing dot or space, at most `MAX_NAME` bytes (the
/// extension kept). Falls back to `attachment-N`.
pub fn safe_name(name: &str, index: usize) -> String {
    // Only the last component of any path, Unix or Windows.
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_control()
                || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
        .to_string();
    if trimmed.is_empty() {
        return format!("attachment-{index}");
    }
    let stem_upper = trimmed
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    let device = matches!(
        stem_upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((stem_upper.starts_with("COM") || stem_upper.starts_with("LPT"))
        && stem_upper.len() == 4
        && stem_upper[3..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '¹' | '²' | '³')));
    let named = if device {
        format!("_{trimmed}")
    } else {
        trimmed
    };
    shorten(&named, MAX_NAME)
}

/// Cuts `name` to at most `max` bytes on a character boundary, keeping a
/// short extension.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= 16 => name.split_at(i),
        _ => (name, ""),
    };
    let mut cut = max - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// Creates `name` (or `stem-1.ext`, `stem-2.ext`, … when taken) inside
/// `dir` and writes `bytes`; returns the path. `create_new` fails on any
/// existing entry, a symlink included, so nothing outside `dir` is written
/// and nothing is overwritten.
fn save(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    for n in 0..10_000 {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            shorten(&format!("{stem}-{n}{ext}"), MAX_NAME + 8)
        };
        let path = dir.join(&candidate);
        // The name is one normal component: joined, it stays in dir.
        debug_assert_eq!(path.parent(), Some(dir));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(bytes)
                    .and_then(|()| f.flush())
                    .with_context(|| format!("writing {}", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    Err(anyhow!("no free name for {name} in {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_one_harmless_component() {
        assert_eq!(safe_name("../../etc/passwd", 1), "passwd");
        assert_eq!(safe_name("/etc/cron.d/evil", 1), "evil");
        assert_eq!(safe_name("C:\\Windows\\system32\\x.dll", 1), "x.dll");
        assert_eq!(safe_name("..", 2), "attachment-2");
        assert_eq!(safe_name("", 3), "attachment-3");
        assert_eq!(safe_name(".bashrc", 1), "bashrc");
        assert_eq!(safe_name("a\0b\x1b[31m.txt", 1), "a_b_[31m.txt");
        assert_eq!(safe_name("CON", 1), "_CON");
        assert_eq!(safe_name("aux.txt", 1), "_aux.txt");
        assert_eq!(safe_name("com1.log", 1), "_com1.log");
        assert_eq!(safe_name("console.txt", 1), "console.txt");
        assert_eq!(safe_name("report. ", 1), "report");
        assert_eq!(safe_name("what?.txt", 1), "what_.txt");
        let long = format!("{}.pdf", "é".repeat(300));
        let s = safe_name(&long, 1);
        assert!(s.len() <= MAX_NAME && s.ends_with(".pdf"), "{s}");
    }
}

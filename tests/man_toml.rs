//! pipedesk.toml(5) (issue 18): made from the commented config that
//! `pipedesk init` writes, so every key of that file is on the page with
//! its comment. Only SQLite: no store is involved.

mod common;

use common::*;

#[test]
fn every_key_init_writes_is_on_the_config_page() {
    let desk = Desk::new();
    let written = desk.path().join("fresh").join("pipedesk.toml");
    desk.run(&["init", written.to_str().expect("UTF-8")], b"")
        .ok();
    let config = std::fs::read_to_string(&written).expect("the config init wrote");
    let page = desk.run(&["man", "--file-formats"], b"").ok().stdout;
    assert!(page.starts_with(".TH PIPEDESK.TOML 5 "), "{page}");
    let mut keys = 0;
    for line in config.lines() {
        // `key = value`, set or shown commented out as an example.
        let line = line.trim_start_matches('#').trim();
        let Some((key, _)) = line.split_once(" = ") else {
            continue;
        };
        if key.contains(' ') || key.contains('"') {
            continue;
        }
        keys += 1;
        let tag = format!(".TP\n\\fB{}\\fR = ", key.replace('-', "\\-"));
        assert!(page.contains(&tag), "{key} is not on pipedesk.toml(5)");
    }
    assert!(keys > 30, "{keys} keys in {config}");
    // The comment above a key is its description, joined into one line.
    assert!(page.contains("Larger messages are refused (exit 65).",));

    // `man --dir` writes the same page beside pipedesk.1.
    let dir = desk.path().join("man");
    desk.run(&["man", "--dir", dir.to_str().expect("UTF-8")], b"")
        .ok();
    let file = std::fs::read_to_string(dir.join("pipedesk.toml.5")).expect("pipedesk.toml.5");
    assert_eq!(file, page);
    let main = std::fs::read_to_string(dir.join("pipedesk.1")).expect("pipedesk.1");
    assert!(
        main.contains("\\fBpipedesk.toml\\fR(5)"),
        "pipedesk(1) points at it"
    );
}

/// groff, where installed (Debian's man-db needs it), reads the page
/// without a warning.
#[test]
fn groff_reads_the_config_page_without_warnings() {
    let desk = Desk::new();
    let page = desk.run(&["man", "--file-formats"], b"").ok().stdout;
    let path = desk.path().join("pipedesk.toml.5");
    std::fs::write(&path, page).expect("the page");
    let Ok(out) = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&path)
        .output()
    else {
        assert!(
            !in_ci(),
            "groff is missing (CI=true): apt-get install groff-base"
        );
        eprintln!("SKIP: groff_reads_the_config_page_without_warnings: no groff");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "groff: {stderr}"
    );
}

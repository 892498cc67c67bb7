//! The README's rules (its "Rules, hooks, business hours and SLAs"
//! section) are a configuration that loads, and does what the text says
//! it does: an example that stopped working would fail here.

mod common;

use common::*;

/// The TOML blocks of the README's section on rules, in order.
fn readme_rules() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## Rules, hooks, business hours and SLAs")
        .expect("the section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut toml = String::new();
    for block in section[..end].split("```toml\n").skip(1) {
        toml.push_str(block.split("```").next().expect("a closed block"));
        toml.push('\n');
    }
    toml
}

#[test]
fn the_readme_s_rules_load_and_fire_as_it_says() {
    let rules = readme_rules();
    assert!(rules.contains("sms-after-hours") && rules.contains("[sla.standard]"));
    let desk = Desk::new();
    desk.add_config("[staff]\nadmins = [\"stef@example.org\", \"erin@example.org\"]\n");
    let now = std::fs::read_to_string(desk.config_path()).expect("the config");
    // The SMS program is an admin's own; here one that records its stdin.
    let log = desk.path().join("sms.log");
    let sms = desk.path().join("send-sms");
    std::fs::write(
        &sms,
        format!(
            "#!/bin/sh\ncat >> {}\necho >> {}\n",
            log.display(),
            log.display()
        ),
    )
    .expect("writing the program");
    std::fs::set_permissions(&sms, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("making it runnable");
    let rules = rules.replace("/usr/local/bin/send-sms", &sms.display().to_string());
    desk.write_config(&format!("{now}\n{rules}"));
    desk.run(&["check"], b"").ok();

    // A big customer's mail on a Saturday night: urgent, Erin's, and the
    // person on call is texted (the first rule with `stop` ends the
    // event for the rules after it; the SMS rule comes first).
    let msg = mail("Boss <boss@bigcustomer.com>", "Everything is down").bytes();
    let path = desk.path().join("msg.eml");
    std::fs::write(&path, &msg).expect("writing the message");
    // What would fire for it at `at`, changing nothing.
    let fired_at = |at: &str| -> Vec<String> {
        let test = desk
            .run(
                &[
                    "rules",
                    "test",
                    path.to_str().expect("a path"),
                    "--recipient",
                    SUBMIT,
                    "--at",
                    at,
                    "--json",
                ],
                b"",
            )
            .ok()
            .json();
        test["fired"]
            .as_array()
            .expect("fired")
            .iter()
            .map(|f| f["rule"].as_str().expect("a rule").to_string())
            .collect()
    };
    assert_eq!(
        fired_at("2026-12-05T23:00:00+01:00"),
        ["sms-after-hours", "big-customer"]
    );
    // On a Monday at 11:00 the office is open: no text.
    assert_eq!(fired_at("2026-12-07T11:00:00+01:00"), ["big-customer"]);
    let shown = desk.run(&["show", "1"], b"");
    assert_ne!(shown.code, 0, "rules test stored nothing: {}", shown.stdout);
}

//! The texts of outgoing mail: built-in English defaults, each overridable by
//! a file named in `[templates]` (minijinja syntax). A template that does not
//! parse or render is a configuration error, reported by `pipedesk check`.

use anyhow::{Context as _, Result};
use minijinja::Environment;
use serde::Serialize;

use crate::config::Config;
use crate::model::Ticket;

const AUTOREPLY: &str = "\
Hello{% if requestor_name %} {{ requestor_name }}{% endif %},

This is an automatic reply: your message has been received and filed as
ticket #{{ ticket.id }}, \"{{ ticket.subject }}\".

A member of our staff will answer you soon. To add anything, just reply to
this mail and keep [{{ site }} #{{ ticket.id }}] in the subject.

-- 
{{ from_name }}
";

const NEW_TICKET: &str = "\
New ticket #{{ ticket.id }} in queue {{ ticket.queue }}, from {% if author_name %}{{ author_name }} <{{ author }}>{% else %}{{ author }}{% endif %}:

    {{ ticket.subject }}

{{ body }}

-- 
Reply to this mail to answer {{ ticket.requestor }}.
Write to {{ comment_address }} for a comment only staff see.
";

const CORRESPONDENCE: &str = "\
{% if author_name %}{{ author_name }} <{{ author }}>{% else %}{{ author }}{% endif %} wrote on ticket #{{ ticket.id }}, \"{{ ticket.subject }}\":

{{ body }}

-- 
Reply to this mail to answer {{ ticket.requestor }}.
Write to {{ comment_address }} for a comment only staff see.
";

const COMMENT: &str = "\
{{ author_name or author }} commented on ticket #{{ ticket.id }}, \"{{ ticket.subject }}\"
(staff only, not sent to {{ ticket.requestor }}):

{{ body }}
";

const RESOLVED: &str = "\
Hello,

Your ticket #{{ ticket.id }}, \"{{ ticket.subject }}\", has been resolved
by {{ author_name or author }}.
{% if body %}
{{ body }}
{% endif %}
If anything is left to do, reply to this mail and the ticket opens again.

-- 
{{ from_name }}
";

const STAFF_REPLY: &str = "{{ body }}";

const ASSIGNED: &str = "\
{{ author_name or author }} gave you ticket #{{ ticket.id }} in queue {{ ticket.queue }}:

    {{ ticket.subject }}

Requestor: {{ ticket.requestor }}
Status:    {{ ticket.status }}

-- 
Reply to this mail to answer {{ ticket.requestor }}.
Write to {{ comment_address }} for a comment only staff see.
";

const REQUESTOR_CLOSED: &str = "\
{% if author_name %}{{ author_name }} <{{ author }}>{% else %}{{ author }}{% endif %} resolved ticket #{{ ticket.id }}, \"{{ ticket.subject }}\", by mail.
{% if body %}
{{ body }}
{% endif %}
-- 
Reply to this mail to answer {{ ticket.requestor }} (the ticket opens again).
Write to {{ comment_address }} for a comment only staff see.
";

const NOT_STAFF: &str = "\
Your mail to ticket #{{ ticket.id }}, \"{{ ticket.subject }}\", came from
{{ author }} but did not count as mail from staff: this desk's mail server
could not show that it was really sent by you (no DMARC or aligned DKIM pass
in its Authentication-Results; see policy.staff_mail). It is kept on the
ticket as correspondence from outside, was not passed on to
{{ ticket.requestor }}, and changed nothing.

If you wrote it, answer on the web instead, or ask the desk's admin to check
the mail server's DMARC set-up. If you did not, someone is writing in your
name; nothing was sent on their behalf.

You get this notice once a day at most.

-- 
{{ from_name }}
";

/// A rule's mail (SPEC §8): its text is made by the rule (a canned answer
/// filled in, a template, or the standard notice) and passed in as `body`.
const RULE_MAIL: &str = "{{ body }}";

const BUILT_IN: [(&str, &str); 11] = [
    ("autoreply", AUTOREPLY),
    ("new_ticket", NEW_TICKET),
    ("correspondence", CORRESPONDENCE),
    ("comment", COMMENT),
    ("resolved", RESOLVED),
    ("staff_reply", STAFF_REPLY),
    ("assigned", ASSIGNED),
    ("requestor_closed", REQUESTOR_CLOSED),
    ("not_staff", NOT_STAFF),
    ("rule_reply", RULE_MAIL),
    ("rule_notice", RULE_MAIL),
];

/// What a template knows of the ticket: `{{ ticket.id }}` and friends.
#[derive(Debug, Serialize)]
pub struct TicketFields<'a> {
    pub id: i64,
    pub queue: &'a str,
    pub subject: &'a str,
    pub status: &'a str,
    pub requestor: &'a str,
    pub owner: Option<&'a str>,
}

impl<'a> From<&'a Ticket> for TicketFields<'a> {
    fn from(t: &'a Ticket) -> Self {
        TicketFields {
            id: t.id,
            queue: &t.queue,
            subject: &t.subject,
            status: t.status.as_str(),
            requestor: &t.requestor,
            owner: t.owner.as_deref(),
        }
    }
}

/// What every template can use.
#[derive(Debug, Serialize)]
pub struct Context<'a> {
    pub site: &'a str,
    pub from_name: &'a str,
    pub ticket: TicketFields<'a>,
    pub author: &'a str,
    pub author_name: Option<&'a str>,
    pub requestor_name: Option<&'a str>,
    pub body: &'a str,
    pub reply_address: String,
    pub comment_address: String,
}

/// The loaded templates.
pub struct Texts {
    env: Environment<'static>,
}

impl Texts {
    /// The built-in texts with the configured overrides, each parsed when
    /// it is first used: a delivery renders two of the six at most, and
    /// parsing all of them was a tenth of its instructions.
    pub fn load(config: &Config) -> Result<Texts> {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        let overrides: Vec<(&'static str, std::path::PathBuf)> = config
            .templates
            .overrides()
            .map(|(name, path)| (name, path.to_path_buf()))
            .collect();
        env.set_loader(move |name| {
            if let Some((_, path)) = overrides.iter().find(|(n, _)| *n == name) {
                return std::fs::read_to_string(path).map(Some).map_err(|e| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("template {name}: reading {}: {e}", path.display()),
                    )
                });
            }
            Ok(BUILT_IN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| text.to_string()))
        });
        Ok(Texts { env })
    }

    pub fn render(&self, name: &str, ctx: &Context<'_>) -> Result<String> {
        let template = self
            .env
            .get_template(name)
            .with_context(|| format!("template {name}"))?;
        template
            .render(ctx)
            .with_context(|| format!("rendering template {name}"))
    }

    /// Renders every template once with sample values: what `check` runs.
    pub fn check(&self, config: &Config) -> Result<()> {
        let ticket = Ticket {
            subject: "Sample".into(),
            requestor: "someone@example.com".into(),
            ..Ticket::example(1)
        };
        let ctx = Context {
            site: &config.site.name,
            from_name: &config.mail.from_name,
            ticket: (&ticket).into(),
            author: "someone@example.com",
            author_name: Some("Someone"),
            requestor_name: Some("Someone"),
            body: "Text",
            reply_address: config.ticket_address(1, ""),
            comment_address: config.ticket_address(1, &config.addresses.comment_suffix),
        };
        for (name, _) in BUILT_IN {
            self.render(name, &ctx)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_texts_render_with_the_ticket() {
        let config = Config::parse("[site]\nname = \"myisp\"").unwrap();
        let texts = Texts::load(&config).unwrap();
        texts.check(&config).unwrap();
        let ticket = Ticket::example(42);
        let ctx = Context {
            site: "myisp",
            from_name: "Support",
            ticket: (&ticket).into(),
            author: "john@example.com",
            author_name: None,
            requestor_name: Some("John"),
            body: "It broke <again>",
            reply_address: "ticket-42@x".into(),
            comment_address: "ticket-42-comment@x".into(),
        };
        let text = texts.render("autoreply", &ctx).unwrap();
        assert!(text.starts_with("Hello John,"), "{text}");
        assert!(
            text.contains("ticket #42, \"Email doesn't work\""),
            "{text}"
        );
        assert!(text.contains("[myisp #42]"), "{text}");
        let notice = texts.render("new_ticket", &ctx).unwrap();
        assert!(
            notice.contains("It broke <again>"),
            "no HTML escaping in mail text: {notice}"
        );
    }

    #[test]
    fn a_broken_override_is_an_error_naming_the_template() {
        let dir = std::env::temp_dir().join(format!("pipedesk-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("auto.txt");
        std::fs::write(&file, "Hello {{ ticket.id ").unwrap();
        let mut config = Config::default();
        config.templates.autoreply = Some(file);
        let err = Texts::load(&config)
            .and_then(|t| t.check(&config))
            .expect_err("a broken template is refused");
        assert!(format!("{err:#}").contains("template autoreply"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

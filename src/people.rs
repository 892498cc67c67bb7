//! Staff as people (SPEC §1, §2): an entry of `staff.admins`,
//! `staff.members` or a queue's `members` is `"Carol Jones
//! <carol@example.org>"` or a bare address, read once when the config
//! loads into a `Person`; and the one lookup every front end and every
//! mail uses to show someone: their name where the config gives one, else
//! their address.

use std::fmt;

use serde::Deserialize;

use crate::address::Address;
use crate::config::Config;

/// A member of staff as the config names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The name from the entry, one line, never empty.
    pub name: Option<String>,
    pub address: Address,
}

impl Person {
    /// Reads one entry: `Name <addr>`, `"Name" <addr>`, `<addr>` or
    /// `addr`. The error says what is wrong with it, for the config's
    /// message (which adds the file, the line and the key).
    pub fn parse(entry: &str) -> Result<Person, String> {
        let text = entry.trim();
        let (name, address) = match (text.rfind('<'), text.strip_suffix('>')) {
            (Some(open), Some(_)) => (&text[..open], &text[open + 1..text.len() - 1]),
            _ => ("", text),
        };
        if name.contains(char::is_control) {
            return Err(format!("{entry:?}: a name must be one line"));
        }
        let name = name.trim();
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .map(|n| n.replace("\\\"", "\"").replace("\\\\", "\\"))
            .unwrap_or_else(|| name.to_string());
        let name = name.trim();
        if address.trim().is_empty() || address.contains(['<', '>']) {
            return Err(format!("{entry:?} is not an address or \"Name <address>\""));
        }
        let address = Address::parse(address).map_err(|e| format!("{entry:?}: {e}"))?;
        Ok(Person {
            name: (!name.is_empty()).then(|| name.to_string()),
            address,
        })
    }

    /// How they appear to people: the name, else the address.
    pub fn shown(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.address)
    }
}

/// `Carol Jones <carol@example.org>`, or the bare address.
impl fmt::Display for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address),
            None => f.write_str(&self.address),
        }
    }
}

impl<'de> Deserialize<'de> for Person {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Person::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// Every entry of staff the config holds, admins first, then members,
    /// then each queue's members; one person may appear more than once.
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.staff
            .admins
            .iter()
            .chain(&self.staff.members)
            .chain(self.queues.iter().flat_map(|q| &q.members))
    }

    /// The name the config gives `addr`, if it names them anywhere (a bare
    /// entry in one list and a named one in another is one person, named).
    pub fn name_of(&self, addr: &str) -> Option<&str> {
        let addr = addr.trim();
        self.people()
            .filter(|p| p.address.eq_ignore_ascii_case(addr))
            .find_map(|p| p.name.as_deref())
    }

    /// How `addr` appears to people — in mail, on pages, in `show`: their
    /// name where the config gives one, else the address as it is.
    pub fn shown<'a>(&'a self, addr: &'a str) -> &'a str {
        self.name_of(addr).unwrap_or(addr)
    }

    /// `addr` with its name, `Carol Jones <carol@example.org>`, where the
    /// config gives one; else the address alone.
    pub fn person(&self, addr: &str) -> Person {
        Person {
            name: self.name_of(addr).map(String::from),
            address: Address::new(addr),
        }
    }

    /// The members of `queue` (none for `general`, `spam` or a queue the
    /// config does not know).
    pub fn queue_members(&self, queue: &str) -> &[Person] {
        self.queues
            .iter()
            .find(|q| q.name == queue)
            .map_or(&[][..], |q| &q.members)
    }

    /// The name mail about a ticket of `queue` goes out under: the queue's
    /// `from_name`, else `mail.from_name` (SPEC §2, §4).
    pub fn from_name_for(&self, queue: &str) -> &str {
        self.queues
            .iter()
            .find(|q| q.name == queue)
            .and_then(|q| q.from_name.as_deref())
            .unwrap_or(&self.mail.from_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_a_name_and_an_address_or_an_address() {
        let p = Person::parse("Carol Jones <Carol@Example.org>").unwrap();
        assert_eq!(p.name.as_deref(), Some("Carol Jones"));
        assert_eq!(p.address.as_str(), "carol@example.org");
        assert_eq!(p.to_string(), "Carol Jones <carol@example.org>");
        let p = Person::parse("\"Jones, \\\"CJ\\\" Carol\" <carol@example.org>").unwrap();
        assert_eq!(p.name.as_deref(), Some("Jones, \"CJ\" Carol"));
        for bare in [
            "carol@example.org",
            " <carol@example.org> ",
            "\"\" <carol@example.org>",
        ] {
            let p = Person::parse(bare).unwrap();
            assert_eq!(
                (p.name, p.address.as_str()),
                (None, "carol@example.org"),
                "{bare}"
            );
        }
        assert_eq!(
            Person::parse("carol@example.org").unwrap().shown(),
            "carol@example.org"
        );
    }

    #[test]
    fn a_bad_entry_says_why() {
        for bad in [
            "",
            "Carol Jones",
            "carol",
            "Carol <>",
            "Carol <carol@example.org",
            "carol @example.org",
            "Carol <<carol@example.org>>",
        ] {
            assert!(Person::parse(bad).is_err(), "{bad:?}");
        }
        let e = Person::parse("Carol\r\nBcc: x <carol@example.org>").unwrap_err();
        assert!(e.contains("one line"), "{e}");
    }

    fn config() -> Config {
        Config::parse(
            "[mail]\nfrom_name = \"Support\"\n\
             [[queues]]\nname = \"billing\"\naddress = \"billing\"\nfrom_name = \"Billing\"\n\
             members = [\"Dave Hill <dave@example.org>\", \"stef@example.org\"]\n\
             [[queues]]\nname = \"web\"\naddress = \"webmaster\"\n\
             [staff]\nadmins = [\"stef@example.org\"]\n\
             members = [\"Carol Jones <carol@example.org>\", \"Stef Admin <stef@example.org>\"]\n",
        )
        .unwrap()
    }

    #[test]
    fn a_person_is_shown_by_the_name_any_entry_gives() {
        let c = config();
        assert_eq!(c.shown("carol@example.org"), "Carol Jones");
        assert_eq!(c.shown("Carol@Example.org"), "Carol Jones");
        assert_eq!(c.shown("stef@example.org"), "Stef Admin");
        assert_eq!(c.shown("dave@example.org"), "Dave Hill");
        assert_eq!(c.shown("john@example.com"), "john@example.com");
        assert_eq!(
            c.person("dave@example.org").to_string(),
            "Dave Hill <dave@example.org>"
        );
        assert_eq!(c.person("john@example.com").to_string(), "john@example.com");
    }

    #[test]
    fn queue_members_are_staff() {
        let c = config();
        assert!(c.is_staff_address(&Address::new("dave@example.org")));
        assert_eq!(
            c.staff_addresses(),
            ["stef@example.org", "carol@example.org", "dave@example.org"]
        );
        let members: Vec<&str> = c
            .queue_members("billing")
            .iter()
            .map(|p| p.address.as_str())
            .collect();
        assert_eq!(members, ["dave@example.org", "stef@example.org"]);
        assert!(c.queue_members("web").is_empty());
        assert!(c.queue_members("general").is_empty());
    }

    #[test]
    fn a_queue_may_have_its_own_from_name() {
        let c = config();
        assert_eq!(c.from_name_for("billing"), "Billing");
        assert_eq!(c.from_name_for("web"), "Support");
        assert_eq!(c.from_name_for("general"), "Support");
    }
}

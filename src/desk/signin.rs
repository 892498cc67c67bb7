//! Who may enter the web (SPEC §6): staff passwords as Argon2id hashes,
//! session and API-token secrets that are random and kept only as their
//! SHA-256. A secret is shown once, to the browser or to the admin who
//! asked for a token; the database never holds one a thief could use. (The
//! throttle on repeated failed sign-ins is the web's: `web::throttle`.)

use anyhow::{anyhow, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use super::{Desk, Error};
use crate::address::Address;
use crate::model::{Credential, CredentialKind, Time};

/// What `revoke` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Revoked {
    pub sessions: u64,
    pub tokens: u64,
}

/// A password is at least this long.
pub const MIN_PASSWORD: usize = 10;

/// How long a browser session lasts.
pub const SESSION_DAYS: i64 = 30;

/// The Argon2id hash of `password`, in the PHC string format (algorithm,
/// parameters and salt included), with the crate's defaults: OWASP's
/// recommended m=19 MiB, t=2, p=1.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("hashing the password: {e}"))
}

/// Does `password` match `hash`? A hash that does not parse matches
/// nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of no password, to verify against when the address has none,
/// so that an unknown address takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("pipedesk decoy, never a password").unwrap_or_default())
}

/// A new secret: 32 random bytes, base64url, with a prefix saying what it
/// is (`pds_` a session, `pdt_` an API token) so that one found in a log
/// can be recognised.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What the database keeps of a secret.
pub fn secret_hash(secret: &str) -> String {
    crate::inbound::hex(&Sha256::digest(secret.as_bytes()))
}

impl Desk {
    /// Sets a member of staff's web password, and ends their sessions in
    /// the same transaction (SPEC §6: whoever knew the old one is signed
    /// out); their API tokens stay, `revoke` ends those. How many sessions
    /// ended.
    pub fn set_password(&mut self, address: &Address, password: &str, now: Time) -> Result<u64> {
        self.require_staff(address)?;
        if password.chars().count() < MIN_PASSWORD {
            return Err(Error::BadInput(format!(
                "a password has at least {} characters",
                MIN_PASSWORD
            ))
            .into());
        }
        let hash = hash_password(password)?;
        self.store.write(|tx| {
            tx.set_password(address, &hash, now)?;
            tx.remove_credentials_of(address, CredentialKind::Session)
        })
    }

    /// Ends every session and API token `address` holds (SPEC §5
    /// `revoke`); their password stays. Anyone's, on staff or not: a
    /// person taken off staff may still hold some. How many of each ended.
    pub fn revoke(&mut self, address: &Address) -> Result<Revoked> {
        self.store.write(|tx| {
            Ok(Revoked {
                sessions: tx.remove_credentials_of(address, CredentialKind::Session)?,
                tokens: tx.remove_credentials_of(address, CredentialKind::Token)?,
            })
        })
    }

    /// Ends the sessions and tokens of everyone who holds some and is not
    /// on staff now; who they were. `serve` runs it whenever it loads its
    /// config, so that someone taken off staff and put back later signs
    /// in again (SPEC §6), even if they sent no request in between.
    pub fn revoke_off_staff(&mut self) -> Result<Vec<Address>> {
        let holders = self.store.read(|tx| tx.credential_holders())?;
        let gone: Vec<Address> = holders
            .iter()
            .map(|h| Address::new(h))
            .filter(|a| !self.config.is_staff_address(a))
            .collect();
        for who in &gone {
            self.revoke(who)?;
        }
        Ok(gone)
    }

    /// Signs a member of staff in: the new session's secret, for the
    /// browser's cookie, or None for a wrong address or password.
    pub fn sign_in(
        &mut self,
        address: &Address,
        password: &str,
        now: Time,
    ) -> Result<Option<String>> {
        let hash = if self.config.is_staff_address(address) {
            self.store.read(|tx| tx.password(address))?
        } else {
            None
        };
        // The same work for an unknown address as for a wrong password.
        let ok =
            verify_password(password, hash.as_deref().unwrap_or(decoy_hash())) && hash.is_some();
        if !ok {
            return Ok(None);
        }
        let expires = now + chrono::Duration::days(SESSION_DAYS);
        self.issue(CredentialKind::Session, address, now, Some(expires))
            .map(Some)
    }

    /// A new API token for a member of staff (shown once).
    pub fn new_token(&mut self, address: &Address, now: Time) -> Result<String> {
        self.require_staff(address)?;
        self.issue(CredentialKind::Token, address, now, None)
    }

    /// A new secret of `kind` for `address`: the secret itself, shown
    /// once; the store keeps only its hash.
    fn issue(
        &mut self,
        kind: CredentialKind,
        address: &Address,
        now: Time,
        expires: Option<Time>,
    ) -> Result<String> {
        let secret = new_secret(match kind {
            CredentialKind::Session => "pds_",
            CredentialKind::Token => "pdt_",
        });
        let credential = Credential {
            kind,
            secret_hash: secret_hash(&secret),
            address: address.to_string(),
            created: now,
            expires,
        };
        self.store.write(|tx| tx.add_credential(&credential))?;
        Ok(secret)
    }

    /// The member of staff a session or token secret belongs to, if it is
    /// valid and they are on staff still. One found off staff has every
    /// session and token of theirs ended there and then, so that putting
    /// them back does not bring them back to life (SPEC §6).
    pub fn signed_in(
        &mut self,
        kind: CredentialKind,
        secret: &str,
        now: Time,
    ) -> Result<Option<Address>> {
        let hash = secret_hash(secret);
        let Some(who) = self.store.read(|tx| tx.credential(kind, &hash, now))? else {
            return Ok(None);
        };
        let who = Address::new(&who);
        if !self.config.is_staff_address(&who) {
            self.revoke(&who)?;
            return Ok(None);
        }
        Ok(Some(who))
    }

    /// Ends a session.
    pub fn sign_out(&mut self, secret: &str) -> Result<()> {
        let hash = secret_hash(secret);
        self.store.write(|tx| tx.remove_credential(&hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("anything", "not a hash"));
        assert!(!verify_password("", decoy_hash()));
    }

    #[test]
    fn secrets_are_fresh_and_kept_as_hashes() {
        let a = new_secret("pds_");
        let b = new_secret("pds_");
        assert!(a.starts_with("pds_") && a.len() > 40, "{a}");
        assert_ne!(a, b);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), secret_hash(&b));
        assert!(!secret_hash(&a).contains(&a[4..]));
    }
}

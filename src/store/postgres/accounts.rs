//! What signing in to the web keeps (SPEC §6): password hashes, and the
//! hashes of session and API-token secrets.

use anyhow::Result;

use super::{get, text, PgTx};
use crate::model::*;
use crate::store::Accounts;

impl Accounts for PgTx<'_> {
    fn set_password(&mut self, address: &str, hash: &str, now: Time) -> Result<()> {
        let tx = self;
        tx.exec(
            "INSERT INTO staff_passwords (address, hash, updated) VALUES ($1, $2, $3)
             ON CONFLICT (address) DO UPDATE SET hash = excluded.hash, updated = excluded.updated",
            &[&text(address), &text(hash), &to_second(now)],
        )?;
        Ok(())
    }

    fn password(&mut self, address: &str) -> Result<Option<String>> {
        let tx = self;
        match tx.opt(
            "SELECT hash FROM staff_passwords WHERE address = $1",
            &[&text(address)],
        )? {
            Some(r) => Ok(Some(get(&r, 0)?)),
            None => Ok(None),
        }
    }

    fn add_credential(&mut self, c: &Credential) -> Result<()> {
        let tx = self;
        tx.exec(
            "INSERT INTO credentials (secret_hash, kind, address, created, expires) VALUES ($1, $2, $3, $4, $5)",
            &[
                &text(&c.secret_hash),
                &c.kind.as_str(),
                &text(&c.address),
                &to_second(c.created),
                &c.expires.map(to_second),
            ],
        )?;
        Ok(())
    }

    fn credential(
        &mut self,
        kind: CredentialKind,
        secret_hash: &str,
        now: Time,
    ) -> Result<Option<String>> {
        let tx = self;
        match tx.opt(
            "SELECT address FROM credentials WHERE secret_hash = $1 AND kind = $2
               AND (expires IS NULL OR expires > $3)",
            &[&text(secret_hash), &kind.as_str(), &to_second(now)],
        )? {
            Some(r) => Ok(Some(get(&r, 0)?)),
            None => Ok(None),
        }
    }

    fn remove_credential(&mut self, secret_hash: &str) -> Result<()> {
        let tx = self;
        tx.exec(
            "DELETE FROM credentials WHERE secret_hash = $1",
            &[&text(secret_hash)],
        )?;
        Ok(())
    }
}

//! What signing in to the web keeps (SPEC §6): password hashes, and the
//! hashes of session and API-token secrets; the one INSERT of each, which
//! the copy uses too.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{opt_time, time_at, word, SqliteTx};
use crate::address::Address;
use crate::model::*;
use crate::store::copy::PasswordRow;
use crate::store::Accounts;

/// Sets a staff member's password hash; false when it was so already.
pub(super) fn put_password(conn: &Connection, p: &PasswordRow) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO staff_passwords (address, hash, updated) VALUES (?1, ?2, ?3)
             ON CONFLICT (address) DO UPDATE SET hash = excluded.hash, updated = excluded.updated
             WHERE (hash, updated) IS NOT (excluded.hash, excluded.updated)",
        )?
        .execute(params![p.address, p.hash, stamp(p.updated)])?
        == 1)
}

pub(super) const PASSWORD_COLUMNS: &str = "address, hash, updated";

pub(super) fn password_from_row(r: &Row<'_>) -> rusqlite::Result<PasswordRow> {
    Ok(PasswordRow {
        address: r.get(0)?,
        hash: r.get(1)?,
        updated: time_at(r, 2)?,
    })
}

/// Keeps credential `c`; false when one with its secret is kept already.
pub(super) fn put_credential(conn: &Connection, c: &Credential) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO credentials (secret_hash, kind, address, created, expires)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            c.secret_hash,
            c.kind.as_str(),
            c.address,
            stamp(c.created),
            c.expires.map(stamp)
        ])?
        == 1)
}

pub(super) const CREDENTIAL_COLUMNS: &str = "kind, secret_hash, address, created, expires";

pub(super) fn credential_from_row(r: &Row<'_>) -> rusqlite::Result<Credential> {
    Ok(Credential {
        kind: word(r, 0)?,
        secret_hash: r.get(1)?,
        address: r.get(2)?,
        created: time_at(r, 3)?,
        expires: opt_time(r, 4)?,
    })
}

impl Accounts for SqliteTx<'_> {
    fn set_password(&mut self, address: &Address, hash: &str, now: Time) -> Result<()> {
        put_password(self.conn, &PasswordRow::set(address, hash, now))?;
        Ok(())
    }

    fn password(&mut self, address: &Address) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT hash FROM staff_passwords WHERE address = ?1")?
            .query_row([address.as_str()], |r| r.get(0))
            .optional()?)
    }

    fn add_credential(&mut self, c: &Credential) -> Result<()> {
        if !put_credential(self.conn, c)? {
            anyhow::bail!("a credential with this secret is kept already");
        }
        Ok(())
    }

    fn credential(
        &mut self,
        kind: CredentialKind,
        secret_hash: &str,
        now: Time,
    ) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT address FROM credentials WHERE secret_hash = ?1 AND kind = ?2
                   AND (expires IS NULL OR expires > ?3)",
            )?
            .query_row(params![secret_hash, kind.as_str(), stamp(now)], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn remove_credential(&mut self, secret_hash: &str) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM credentials WHERE secret_hash = ?1")?
            .execute([secret_hash])?;
        Ok(())
    }

    fn remove_credentials_of(&mut self, address: &Address, kind: CredentialKind) -> Result<u64> {
        // A scan: the table has no index on address, and this runs when
        // access is taken away, not on every request.
        Ok(self
            .conn
            .prepare_cached("DELETE FROM credentials WHERE address = ?1 AND kind = ?2")?
            .execute(params![address.as_str(), kind.as_str()])? as u64)
    }

    fn credential_holders(&mut self) -> Result<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT DISTINCT address FROM credentials ORDER BY address")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }
}

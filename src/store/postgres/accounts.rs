//! What signing in to the web keeps (SPEC §6): password hashes, and the
//! hashes of session and API-token secrets; the one INSERT and row reader
//! of each, which the copy uses too.

use anyhow::Result;
use postgres::Row;

use super::{get, pg_columns, pg_columns_but_id, pg_unnest, text, word, PgTx};
use crate::address::Address;
use crate::model::*;
use crate::store::copy::PasswordRow;
use crate::store::Accounts;

/// The columns of `staff_passwords`, in the order `password_from_row`
/// reads them (the address is the key).
macro_rules! password_table {
    ($then:ident, $pre:literal) => {
        $then!($pre; address text, hash text, updated timestamptz)
    };
}
pub(super) use password_table;

pub(super) fn password_from_row(r: &Row) -> Result<PasswordRow> {
    Ok(PasswordRow {
        address: get(r, 0)?,
        hash: get(r, 1)?,
        updated: get(r, 2)?,
    })
}

/// Sets staff passwords; returns how many rows changed (one that was so
/// already is left alone).
pub(super) fn put_passwords<'p>(
    tx: &mut PgTx<'_>,
    rows: impl IntoIterator<Item = &'p PasswordRow>,
) -> Result<u64> {
    let (mut address, mut hash, mut updated) = (Vec::new(), Vec::new(), Vec::new());
    for p in rows {
        address.push(text(&p.address));
        hash.push(text(&p.hash));
        updated.push(to_second(p.updated));
    }
    tx.exec(
        concat!(
            "INSERT INTO staff_passwords (",
            password_table!(pg_columns, ""),
            ") SELECT ",
            password_table!(pg_columns, ""),
            " FROM ",
            password_table!(pg_unnest, ""),
            " ON CONFLICT (address) DO UPDATE SET (",
            password_table!(pg_columns_but_id, ""),
            ") = (",
            password_table!(pg_columns_but_id, "excluded."),
            ") WHERE (",
            password_table!(pg_columns_but_id, "staff_passwords."),
            ") IS DISTINCT FROM (",
            password_table!(pg_columns_but_id, "excluded."),
            ")"
        ),
        &[&address, &hash, &updated],
    )
}

/// The columns of `credentials`, in the order `credential_from_row` reads
/// them.
macro_rules! credential_table {
    ($then:ident, $pre:literal) => {
        $then!($pre; secret_hash text, kind text, address text, created timestamptz,
               expires timestamptz)
    };
}
pub(super) use credential_table;

pub(super) fn credential_from_row(r: &Row) -> Result<Credential> {
    Ok(Credential {
        secret_hash: get(r, 0)?,
        kind: word(r, 1)?,
        address: get(r, 2)?,
        created: get(r, 3)?,
        expires: get(r, 4)?,
    })
}

const NEW_CREDENTIAL: &str = concat!(
    "INSERT INTO credentials (",
    credential_table!(pg_columns, ""),
    ") SELECT ",
    credential_table!(pg_columns, ""),
    " FROM ",
    credential_table!(pg_unnest, "")
);

/// The copy's: a credential kept already stays.
pub(super) const PUT_CREDENTIALS: &str = concat!(
    "INSERT INTO credentials (",
    credential_table!(pg_columns, ""),
    ") SELECT ",
    credential_table!(pg_columns, ""),
    " FROM ",
    credential_table!(pg_unnest, ""),
    " ON CONFLICT DO NOTHING"
);

/// Keeps credentials by `sql`, one of the two above; returns how many.
pub(super) fn put_credentials<'c>(
    tx: &mut PgTx<'_>,
    sql: &'static str,
    rows: impl IntoIterator<Item = &'c Credential>,
) -> Result<u64> {
    let (mut secret_hash, mut kind, mut address, mut created, mut expires) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in rows {
        secret_hash.push(text(&c.secret_hash));
        kind.push(c.kind.as_str());
        address.push(text(&c.address));
        created.push(to_second(c.created));
        expires.push(c.expires.map(to_second));
    }
    tx.exec(sql, &[&secret_hash, &kind, &address, &created, &expires])
}

impl Accounts for PgTx<'_> {
    fn set_password(&mut self, address: &Address, hash: &str, now: Time) -> Result<()> {
        put_passwords(self, [&PasswordRow::set(address, hash, now)])?;
        Ok(())
    }

    fn password(&mut self, address: &Address) -> Result<Option<String>> {
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
        put_credentials(self, NEW_CREDENTIAL, [c])?;
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

    fn remove_credentials_of(&mut self, address: &Address, kind: CredentialKind) -> Result<u64> {
        // A scan: the table has no index on address, and this runs when
        // access is taken away, not on every request.
        self.exec(
            "DELETE FROM credentials WHERE address = $1 AND kind = $2",
            &[&text(address), &kind.as_str()],
        )
    }

    fn credential_holders(&mut self) -> Result<Vec<String>> {
        self.rows(
            "SELECT DISTINCT address FROM credentials ORDER BY address",
            &[],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }
}

//! Key notes: the user's own note on a key of an account ("used by Cursor on the
//! laptop"), which the site does not keep. Stored by site URL, account identity and the
//! key's id on the site, so that multi-device sync can carry them; a cleared note stays
//! as an empty row (clearing is an edit that syncs too).

use std::collections::BTreeMap;

use rusqlite::params;

use super::{Store, StoreError};
use crate::domain::AccountId;

/// A key note row: site URL (as stored here), identity, key id, note.
pub type KeyNoteRow = (String, String, i64, String);

impl Store {
    fn site_and_identity(&self, account: AccountId) -> Result<(String, String), StoreError> {
        Ok(self.conn.query_row(
            "SELECT s.url, a.identity FROM accounts a JOIN sites s ON s.id = a.site_id WHERE a.id = ?1",
            [account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// The notes on an account's keys (key id → note; empty ones left out).
    pub fn key_notes(&self, account: AccountId) -> Result<BTreeMap<i64, String>, StoreError> {
        let (url, identity) = self.site_and_identity(account)?;
        let mut stmt = self
            .conn
            .prepare("SELECT key_id, note FROM key_notes WHERE site_url = ?1 AND identity = ?2 AND note <> ''")?;
        let rows = stmt.query_map(params![url, identity], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets (an empty `note`: clears) the note on one of an account's keys.
    pub fn set_key_note(&mut self, account: AccountId, key_id: i64, note: &str) -> Result<(), StoreError> {
        let (url, identity) = self.site_and_identity(account)?;
        self.conn.execute(
            "INSERT INTO key_notes(site_url, identity, key_id, note) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(site_url, identity, key_id) DO UPDATE SET note = excluded.note",
            params![url, identity, key_id, note.trim()],
        )?;
        Ok(())
    }

    /// Every key note row of an existing account, cleared ones included (what sync reads).
    pub fn all_key_notes(&self) -> Result<Vec<KeyNoteRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT n.site_url, n.identity, n.key_id, n.note FROM key_notes n
             WHERE EXISTS (SELECT 1 FROM accounts a JOIN sites s ON s.id = a.site_id
                           WHERE s.url = n.site_url AND a.identity = n.identity)
             ORDER BY n.site_url, n.identity, n.key_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Writes key note rows inside a transaction (a sync's commit).
pub(super) fn write_key_notes(tx: &rusqlite::Transaction<'_>, rows: &[KeyNoteRow]) -> Result<(), StoreError> {
    for (url, identity, key_id, note) in rows {
        tx.execute(
            "INSERT INTO key_notes(site_url, identity, key_id, note) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(site_url, identity, key_id) DO UPDATE SET note = excluded.note",
            params![url, identity, key_id, note],
        )?;
    }
    Ok(())
}

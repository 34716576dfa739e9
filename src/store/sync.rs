//! What multi-device sync keeps on this device: its id, the merged document of the last
//! sync (the common base of the next three-way merge; sealed, it holds credentials), the
//! generation it came from, and the conflicts the user has not settled. A sync's result
//! lands in one transaction ([`Store::commit_sync`]): rows, deletions, settings, the new
//! base and the new conflicts together, or nothing.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::backup_meta::{RestoreRows, write_rows};
use super::{Store, StoreError};
use crate::domain::account::site_key_url;
use crate::domain::gateway::text_of;
use crate::domain::time::{EditClock, now_unix};

/// The SQL function the journal's triggers read the time from (the store's [`EditClock`]).
const NOW_FN: &str = "apihub_now_ms";

/// The SQL function that turns a site URL into its key URL (`site_key_url`).
const KEY_FN: &str = "apihub_site_key";

/// `(column, field)` of an account row that sync versions (the field names of
/// `sync::local::read_local`).
const ACCOUNT_FIELDS: &[(&str, &str)] = &[
    ("name", "name"),
    ("user_id", "user_id"),
    ("username", "username"),
    ("auth_method", "auth"),
    ("group_name", "group"),
    ("notes", "notes"),
    ("paid_per_usd", "paid_per_usd"),
    ("disabled", "disabled"),
    ("low_balance_threshold", "low_balance_threshold"),
    ("refresh_interval_mins", "refresh_interval_mins"),
    ("sort_order", "sort_order"),
    ("secret", "credentials"),
];
/// The same for a site row.
const SITE_FIELDS: &[(&str, &str)] = &[("name", "name"), ("kind", "kind"), ("net_user_agent", "user_agent")];

/// `SELECT 'f1' AS f WHERE OLD.c1 IS NOT NEW.c1 UNION ALL …`: the fields an UPDATE changed.
fn changed_fields(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(col, f)| format!("SELECT '{f}' AS f WHERE OLD.{col} IS NOT NEW.{col}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The journal's triggers: TEMP (this connection's only, where [`NOW_FN`] exists), so
/// every write through the store (accounts add/edit/delete/order, sites, settings,
/// restores) stamps the fields it changed with the time it happened. (A trigger's
/// `INSERT OR REPLACE` would take the outer statement's conflict policy: delete, then
/// insert.)
fn journal_triggers() -> String {
    let acc = |row: &str| {
        format!(
            "'account' || char(31) || {KEY_FN}((SELECT url FROM sites WHERE id = {row}.site_id)) || char(31) || {row}.identity"
        )
    };
    let put = |key: String, fields: &str| {
        format!(
            "DELETE FROM sync_journal WHERE record = {key} AND field IN (SELECT f FROM ({fields}));
             INSERT INTO sync_journal(record, field, ms) SELECT {key}, f, {NOW_FN}() FROM ({fields}) WHERE {key} IS NOT NULL;"
        )
    };
    let whole = "SELECT '*' AS f";
    let value = "SELECT 'value' AS f";
    let synced = |row: &str| {
        use crate::domain::settings::{SYNCED_KEYS, SYNCED_SECTIONS};
        let sections = SYNCED_SECTIONS.iter().map(|s| format!("{row}.key GLOB '{s}.*'"));
        sections.chain(SYNCED_KEYS.iter().map(|k| format!("{row}.key = '{k}'"))).collect::<Vec<_>>().join(" OR ")
    };
    let setting = |row: &str| format!("'setting' || char(31) || {row}.key");
    let key = |row: &str| {
        format!(
            "'key' || char(31) || {KEY_FN}({row}.site_url) || char(31) || {row}.identity || char(31) || {row}.key_id"
        )
    };
    let note = "SELECT 'note' AS f";
    let site = format!("'site' || char(31) || {KEY_FN}(NEW.url)");
    [
        ("acc_ins", "AFTER INSERT ON main.accounts", String::new(), put(acc("NEW"), whole)),
        ("acc_upd", "AFTER UPDATE ON main.accounts", String::new(), put(acc("NEW"), &changed_fields(ACCOUNT_FIELDS))),
        ("acc_del", "AFTER DELETE ON main.accounts", String::new(), put(acc("OLD"), "SELECT '_alive' AS f")),
        ("site_ins", "AFTER INSERT ON main.sites", String::new(), put(site.clone(), whole)),
        ("site_upd", "AFTER UPDATE ON main.sites", String::new(), put(site, &changed_fields(SITE_FIELDS))),
        ("set_ins", "AFTER INSERT ON main.settings", format!("WHEN {}", synced("NEW")), put(setting("NEW"), value)),
        (
            "set_upd",
            "AFTER UPDATE ON main.settings",
            format!("WHEN OLD.value IS NOT NEW.value AND ({})", synced("NEW")),
            put(setting("NEW"), value),
        ),
        ("set_del", "AFTER DELETE ON main.settings", format!("WHEN {}", synced("OLD")), put(setting("OLD"), value)),
        ("note_ins", "AFTER INSERT ON main.key_notes", String::new(), put(key("NEW"), note)),
        ("note_upd", "AFTER UPDATE ON main.key_notes", "WHEN OLD.note IS NOT NEW.note".into(), put(key("NEW"), note)),
    ]
    .iter()
    .map(|(name, on, when, body)| {
        format!("CREATE TEMP TRIGGER IF NOT EXISTS sync_journal_{name} {on} {when} BEGIN {body} END;")
    })
    .collect::<Vec<_>>()
    .join("\n")
}

/// Installs the journal on a migrated connection: the time function and the triggers.
pub(super) fn install_journal(conn: &rusqlite::Connection, clock: &EditClock) -> rusqlite::Result<()> {
    let clock = clock.clone();
    conn.create_scalar_function(NOW_FN, 0, rusqlite::functions::FunctionFlags::SQLITE_UTF8, move |_| {
        Ok(clock.now_ms() as i64)
    })?;
    conn.create_scalar_function(KEY_FN, 1, rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|u| site_key_url(&u)))
    })?;
    conn.execute_batch(&journal_triggers())
}

/// When each synced field was last written here since the last sync: record key →
/// field (`*`: the whole record) → unix milliseconds.
pub type Journal = BTreeMap<String, BTreeMap<String, u64>>;

/// This device's sync state.
#[derive(Clone, PartialEq)]
pub struct SyncState {
    /// The device id (`None` before the first sync; made and saved by the first commit).
    pub device_id: Option<String>,
    /// The merged document of the last sync (plain JSON).
    pub base: Option<Vec<u8>>,
    /// The server generation the base was written as (or read from).
    pub generation: u64,
    /// When the last sync finished (unix seconds).
    pub synced_at_unix: Option<i64>,
}

impl std::fmt::Debug for SyncState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncState")
            .field("device_id", &self.device_id)
            .field("base_bytes", &self.base.as_ref().map(Vec::len))
            .field("generation", &self.generation)
            .field("synced_at_unix", &self.synced_at_unix)
            .finish()
    }
}

/// A conflict as stored: both values as JSON text (opened).
#[derive(Clone, PartialEq)]
pub struct ConflictRow {
    /// Row id (what `apihub sync resolve ID` takes).
    pub id: i64,
    /// The record key in the sync document.
    pub record: String,
    /// The field (`""`: the whole record, deleted on one side and edited on the other).
    pub field: String,
    /// What the user sees (site and account).
    pub label: String,
    /// This device's value (JSON; `null` for a deleted record).
    pub local: String,
    /// The other device's value (JSON; `null` for a deleted record).
    pub remote: String,
    /// `local` or `remote`: the value the merge applied.
    pub applied: String,
    /// Name (or id) of the device the remote value came from.
    pub remote_device: String,
    /// When it was found (unix seconds).
    pub created_at_unix: i64,
    /// Its id in the sync document (`None`: found by an older build, listed here only).
    pub uid: Option<String>,
    /// Name (or id) of the device whose sync found it (`""`: this one, by an older build).
    pub found_by: String,
}

impl std::fmt::Debug for ConflictRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be credentials: never printed by Debug.
        f.debug_struct("ConflictRow")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("field", &self.field)
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

/// What one sync (or one resolved conflict) writes, in one transaction.
#[derive(Debug, Default)]
pub struct SyncCommit {
    /// Sites and accounts to insert or update (credentials `None`: keep the stored ones).
    pub rows: RestoreRows,
    /// Each updated account's place in the order: (site URL, identity, sort order).
    pub sort_orders: Vec<(String, String, i64)>,
    /// Accounts to delete: (site URL, identity). Sites left without accounts go too.
    pub delete_accounts: Vec<(String, String)>,
    /// Setting rows to write (`None`: remove the row, i.e. the default).
    pub settings: Vec<(String, Option<String>)>,
    /// The new base and its generation (`None`: keep the current one).
    pub base: Option<(Vec<u8>, u64)>,
    /// The device id to save (the first sync makes it).
    pub device_id: Option<String>,
    /// A sync: the open conflicts of the merged document (rows of other documented
    /// conflicts go, settlements made here included: the document has them now; new
    /// ones are added, each kept until settled, even several on one field).
    pub conflicts: Vec<NewConflict>,
    /// Key notes to write (site URL as stored here, identity, key id, note).
    pub key_notes: Vec<super::KeyNoteRow>,
    /// Settings whose values name accounts (`gateway::settings::ACCOUNT_REF_KEYS`), as
    /// the sync document has them: turned into this device's ids once this write's
    /// accounts exist, inside the transaction.
    pub account_ref_settings: Vec<(String, serde_json::Value)>,
    /// Conflicts settled by this write (row ids): marked settled until the next sync
    /// takes the settlement to every device (removed if not in the document).
    pub resolved: Vec<i64>,
}

/// A conflict found by a merge.
#[derive(Clone, Default)]
pub struct NewConflict {
    /// Record key.
    pub record: String,
    /// Field (`""`: the whole record).
    pub field: String,
    /// What the user sees.
    pub label: String,
    /// This device's value (JSON).
    pub local: String,
    /// The other device's value (JSON).
    pub remote: String,
    /// `local` or `remote`.
    pub applied: String,
    /// The other device.
    pub remote_device: String,
    /// Its id in the sync document.
    pub uid: String,
    /// The device whose sync found it.
    pub found_by: String,
}

impl std::fmt::Debug for NewConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConflict").field("label", &self.label).field("field", &self.field).finish_non_exhaustive()
    }
}

fn account_refs(conn: &rusqlite::Connection) -> Result<Vec<(i64, String, String)>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT a.id, s.url, a.identity FROM accounts a JOIN sites s ON s.id = a.site_id ORDER BY a.id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Store {
    /// This device's sync state (nothing is written: a device id is made by the caller
    /// and saved with the first commit).
    pub fn sync_state(&self) -> Result<SyncState, StoreError> {
        let row = self
            .conn
            .query_row("SELECT device_id, base_sealed, generation, synced_at FROM sync_state WHERE id = 1", [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, i64>(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((device_id, sealed, generation, synced_at_unix)) = row else {
            return Ok(SyncState { device_id: None, base: None, generation: 0, synced_at_unix: None });
        };
        let base = match sealed {
            Some(s) => Some(self.secrets.open_sealed(&s)?),
            None => None,
        };
        Ok(SyncState { device_id: Some(device_id), base, generation: generation.max(0) as u64, synced_at_unix })
    }

    /// Every account as (id, site URL, identity).
    pub fn account_refs(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        account_refs(&self.conn)
    }

    /// Conflicts of the sync document settled here since the last sync: uid → when
    /// (unix ms).
    pub fn sync_settled(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT uid, settled_ms FROM sync_conflicts WHERE uid IS NOT NULL AND settled_ms IS NOT NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The change journal: when each synced field was last written here since the last
    /// sync.
    pub fn sync_journal(&self) -> Result<Journal, StoreError> {
        let mut stmt = self.conn.prepare("SELECT record, field, ms FROM sync_journal")?;
        let mut out = Journal::new();
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
        for row in rows {
            let (record, field, ms) = row?;
            out.entry(record).or_default().insert(field, ms.max(0) as u64);
        }
        Ok(out)
    }

    /// The clock edits are stamped with (a test sets it).
    pub fn edit_clock(&self) -> EditClock {
        self.clock.clone()
    }

    /// The conflicts not settled yet, oldest first.
    pub fn sync_conflicts(&self) -> Result<Vec<ConflictRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, record, field, label, local_sealed, remote_sealed, applied, remote_device, created_at, uid,
                    found_by
             FROM sync_conflicts WHERE settled_ms IS NULL ORDER BY created_at, id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, String>(10)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let open = |s: &str| -> Result<String, StoreError> {
            String::from_utf8(self.secrets.open_sealed(s)?).map_err(|_| StoreError::Secret("not UTF-8".into()))
        };
        rows.into_iter()
            .map(|(id, record, field, label, l, r, applied, remote_device, created_at_unix, uid, found_by)| {
                Ok(ConflictRow {
                    id,
                    record,
                    field,
                    label,
                    local: open(&l)?,
                    remote: open(&r)?,
                    applied,
                    remote_device,
                    created_at_unix,
                    uid,
                    found_by,
                })
            })
            .collect()
    }

    /// Writes a sync's result in one transaction.
    pub fn commit_sync(&mut self, c: &SyncCommit) -> Result<(), StoreError> {
        let sealed_rows = self.seal_rows(&c.rows)?;
        let base = match &c.base {
            Some((bytes, generation)) => Some((self.secrets.seal(bytes)?, *generation)),
            None => None,
        };
        let mut conflicts = Vec::with_capacity(c.conflicts.len());
        for k in &c.conflicts {
            conflicts.push((k, self.secrets.seal(k.local.as_bytes())?, self.secrets.seal(k.remote.as_bytes())?));
        }
        let now = now_unix();
        let tx = self.conn.transaction()?;
        write_rows(&tx, &c.rows, sealed_rows)?;
        for (url, identity, order) in &c.sort_orders {
            tx.execute(
                "UPDATE accounts SET sort_order = ?3
                 WHERE identity = ?2 AND site_id = (SELECT id FROM sites WHERE url = ?1)",
                params![url, identity, order],
            )?;
        }
        for (url, identity) in &c.delete_accounts {
            tx.execute(
                "DELETE FROM accounts WHERE identity = ?2 AND site_id = (SELECT id FROM sites WHERE url = ?1)",
                params![url, identity],
            )?;
        }
        if !c.delete_accounts.is_empty() {
            tx.execute("DELETE FROM sites WHERE id NOT IN (SELECT site_id FROM accounts)", [])?;
        }
        super::key_notes::write_key_notes(&tx, &c.key_notes)?;
        let mut settings = c.settings.clone();
        if !c.account_ref_settings.is_empty() {
            let refs = account_refs(&tx)?;
            let id_of = |url: &str, identity: &str| {
                refs.iter().find(|(_, u, i)| i == identity && site_key_url(u) == url).map(|r| r.0)
            };
            for (key, value) in &c.account_ref_settings {
                match text_of(key, value, id_of) {
                    Some(text) => settings.push((key.clone(), Some(text))),
                    None => log::warn!("sync: setting {key} not applied: not a value it takes"),
                }
            }
        }
        for (key, value) in &settings {
            match value {
                Some(v) => tx.execute(
                    "INSERT INTO settings(key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, v],
                )?,
                None => tx.execute("DELETE FROM settings WHERE key = ?1", [key])?,
            };
        }
        if let Some(device) = &c.device_id {
            tx.execute("INSERT OR IGNORE INTO sync_state(id, device_id) VALUES (1, ?1)", [device])?;
        }
        if let Some((sealed, generation)) = base {
            tx.execute(
                "UPDATE sync_state SET base_sealed = ?1, generation = ?2, synced_at = ?3 WHERE id = 1",
                params![sealed, generation as i64, now],
            )?;
            // Every edit journaled so far is in the new base, with its time: none is
            // pending any more (this sync's own writes included).
            tx.execute("DELETE FROM sync_journal", [])?;
        }
        let settled_ms = self.clock.now_ms() as i64;
        for id in &c.resolved {
            tx.execute("DELETE FROM sync_conflicts WHERE id = ?1 AND uid IS NULL", [id])?;
            tx.execute("UPDATE sync_conflicts SET settled_ms = ?2 WHERE id = ?1", params![id, settled_ms])?;
        }
        if c.base.is_some() {
            let open: Vec<&str> = c.conflicts.iter().map(|k| k.uid.as_str()).collect();
            let open = serde_json::to_string(&open).map_err(|e| StoreError::Unavailable(e.to_string()))?;
            tx.execute(
                "DELETE FROM sync_conflicts WHERE uid IS NOT NULL AND uid NOT IN (SELECT value FROM json_each(?1))",
                [open],
            )?;
        }
        for (k, local, remote) in conflicts {
            tx.execute(
                "INSERT INTO sync_conflicts(record, field, label, local_sealed, remote_sealed, applied, remote_device,
                                            created_at, uid, found_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(uid) DO NOTHING",
                params![k.record, k.field, k.label, local, remote, k.applied, k.remote_device, now, k.uid, k.found_by],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
    use crate::store::{AccountMeta, Store};

    #[test]
    fn the_journal_stamps_each_synced_write_with_the_edit_clock_and_a_sync_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let clock = s.edit_clock();
        clock.set_ms(Some(1_000));
        let id = s
            .upsert_account(&NewAccount {
                site_url: "https://X.example/".into(),
                site_name: "X".into(),
                kind: SiteKind::NewApi,
                user_id: "1".into(),
                username: "u".into(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
            })
            .unwrap();
        let acc = "account\u{1f}https://x.example\u{1f}uid:1";
        assert_eq!(s.sync_journal().unwrap()[acc]["*"], 1_000, "keyed by the site key URL");
        clock.set_ms(Some(2_000));
        let mut meta = AccountMeta::of(&s.account(id).unwrap());
        meta.notes = "n".into();
        s.update_account_meta(id, &meta).unwrap();
        s.set_setting("refresh.auto", "off").unwrap();
        s.set_setting("ui.lang", "en").unwrap();
        s.set_key_note(id, 7, "k").unwrap();
        let j = s.sync_journal().unwrap();
        assert_eq!(j[acc].get("notes"), Some(&2_000));
        assert_eq!(j[acc].get("group"), None, "unchanged fields are not journaled");
        assert_eq!(j["setting\u{1f}refresh.auto"]["value"], 2_000);
        assert!(!j.contains_key("setting\u{1f}ui.lang"), "a device's own setting is not synced");
        assert_eq!(j["key\u{1f}https://x.example\u{1f}uid:1\u{1f}7"]["note"], 2_000);
        s.commit_sync(&super::SyncCommit { base: Some((b"{}".to_vec(), 1)), ..Default::default() }).unwrap();
        assert!(s.sync_journal().unwrap().is_empty());
        clock.set_ms(Some(3_000));
        s.remove_account(id).unwrap();
        assert_eq!(s.sync_journal().unwrap()[acc]["_alive"], 3_000);
    }
}

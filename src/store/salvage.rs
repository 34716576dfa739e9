//! Salvage: copy what can still be read from a damaged data file into a new one.
//!
//! The sqlite3 shell's `.recover` (the `sqlite3_recover` API and the `sqlite_dbdata`
//! table) is built only into the shell, not into the SQLite that rusqlite bundles, so
//! this salvages table by table: each table of the new schema that the damaged file
//! also has is read in rowid order; when a page cannot be read, reading resumes past it
//! (seeking ever further ahead) so rows on readable pages after a bad one are still
//! copied. Rows whose parent was lost (an account without its site) are dropped, and
//! every figure says how many rows were recovered of how many there were, where that
//! count could still be read. The usage rollup is not copied: it is rebuilt from the
//! usage log on first use.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, params_from_iter};

use super::{Store, StoreError};

/// Tables rebuilt from others instead of copied.
const REBUILT: [&str; 2] = ["usage_daily", "usage_daily_zone"];

/// What was recovered of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSalvage {
    /// Table name.
    pub table: String,
    /// Rows copied into the new file.
    pub recovered: u64,
    /// Rows the damaged file held, when it could still count them.
    pub expected: Option<u64>,
    /// Rows dropped after copying because the row they belong to was lost.
    pub orphans_dropped: u64,
    /// Places where reading failed and was resumed further on.
    pub read_errors: u32,
}

impl TableSalvage {
    /// True when every row the file held was recovered.
    pub fn complete(&self) -> bool {
        self.read_errors == 0 && self.orphans_dropped == 0 && self.expected.is_none_or(|e| e == self.recovered)
    }
}

/// What a salvage recovered, table by table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SalvageReport {
    /// One entry per table copied.
    pub tables: Vec<TableSalvage>,
    /// The schema could not be read at all: nothing was recovered.
    pub schema_unreadable: Option<String>,
}

impl SalvageReport {
    /// The figures for one table.
    pub fn table(&self, name: &str) -> Option<&TableSalvage> {
        self.tables.iter().find(|t| t.table == name)
    }

    /// Accounts recovered and (when known) how many there were.
    pub fn accounts(&self) -> (u64, Option<u64>) {
        self.table("accounts").map(|t| (t.recovered - t.orphans_dropped, t.expected)).unwrap_or((0, None))
    }

    /// One line: "accounts 28 of 30, sites 12 of 12, usage_logs 5230 of ?, …".
    pub fn summary(&self) -> String {
        if let Some(why) = &self.schema_unreadable {
            return format!("its list of tables is unreadable: {why}");
        }
        self.tables
            .iter()
            .filter(|t| t.recovered > 0 || t.expected.is_some_and(|e| e > 0) || t.read_errors > 0)
            .map(|t| {
                let got = t.recovered - t.orphans_dropped;
                match t.expected {
                    Some(e) => format!("{} {got} of {e}", t.table),
                    None => format!("{} {got} (how many there were is unreadable)", t.table),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?
        .query_map([], |r| r.get(0))?
        .collect()
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?.query_map([], |r| r.get::<_, String>(1))?.collect()
}

/// Copies readable rows of `src` (a damaged data file, opened read-only and never
/// changed) into `dest` (a new store with the current schema).
pub fn salvage_into(src: &Path, dest: &mut Store) -> Result<SalvageReport, StoreError> {
    let mut report = SalvageReport::default();
    let from =
        match Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX) {
            Ok(c) => c,
            Err(e) => {
                report.schema_unreadable = Some(e.to_string());
                return Ok(report);
            }
        };
    // Tolerates schema entries that do not parse; reading only.
    let _ = from.execute_batch("PRAGMA writable_schema = ON;");
    let src_tables = match tables(&from) {
        Ok(t) => t,
        Err(e) => {
            report.schema_unreadable = Some(e.to_string());
            return Ok(report);
        }
    };
    let conn = &mut dest.conn;
    conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
    let mut order = tables(conn)?;
    // Parents first, then the rest in a stable order.
    order.sort_by_key(|t| {
        let rank = match t.as_str() {
            "sites" => 0,
            "accounts" => 1,
            _ => 2,
        };
        (rank, t.clone())
    });
    for table in order.into_iter().filter(|t| !REBUILT.contains(&t.as_str()) && src_tables.contains(t)) {
        let dest_cols = columns(conn, &table)?;
        let cols: Vec<String> = match columns(&from, &table) {
            Ok(c) => c.into_iter().filter(|c| dest_cols.contains(c)).collect(),
            Err(_) => dest_cols.clone(),
        };
        if cols.is_empty() {
            continue;
        }
        let t = copy_table(&from, conn, &table, &cols)?;
        report.tables.push(t);
    }
    // The copies above went through the sync journal's triggers, as if every salvaged
    // field had just been edited here: the damaged file's own journal (when it was
    // written) replaces that.
    if src_tables.iter().any(|t| t == "sync_journal") {
        conn.execute("DELETE FROM sync_journal", [])?;
        let cols = columns(conn, "sync_journal")?;
        if let Some(t) = report.tables.iter_mut().find(|t| t.table == "sync_journal") {
            *t = copy_table(&from, conn, "sync_journal", &cols)?;
        }
    }
    // Rows whose parent row was lost cannot stay (foreign keys are on in normal use).
    let orphans: Vec<(String, i64)> = conn
        .prepare("PRAGMA foreign_key_check")?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(-1))))?
        .collect::<Result<_, _>>()?;
    for (table, rowid) in orphans {
        conn.execute(&format!("DELETE FROM \"{table}\" WHERE rowid = ?1"), [rowid])?;
        if let Some(t) = report.tables.iter_mut().find(|t| t.table == table) {
            t.orphans_dropped += 1;
        }
    }
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    log::warn!("salvage: {}", report.summary());
    Ok(report)
}

/// Copies one table in rowid order, resuming past pages that cannot be read.
fn copy_table(from: &Connection, to: &Connection, table: &str, cols: &[String]) -> Result<TableSalvage, StoreError> {
    let list = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let marks = vec!["?"; cols.len()].join(", ");
    let mut insert = to.prepare(&format!("INSERT OR IGNORE INTO \"{table}\" ({list}) VALUES ({marks})"))?;
    let expected = from.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |r| r.get::<_, i64>(0)).ok();
    let max_rowid: Option<i64> =
        from.query_row(&format!("SELECT MAX(rowid) FROM \"{table}\""), [], |r| r.get(0)).ok().flatten();
    let mut out = TableSalvage {
        table: table.to_string(),
        recovered: 0,
        expected: expected.map(|e| e.max(0) as u64),
        orphans_dropped: 0,
        read_errors: 0,
    };
    let select = format!("SELECT rowid, {list} FROM \"{table}\" WHERE rowid > ?1 ORDER BY rowid");
    let mut after = i64::MIN;
    'reading: loop {
        let mut stmt = match from.prepare(&select) {
            Ok(s) => s,
            Err(_) => {
                // No rowid (WITHOUT ROWID) or an unreadable table: one plain pass.
                out.recovered += copy_plain(from, &mut insert, table, &list, cols.len(), &mut out.read_errors)?;
                break;
            }
        };
        let mut rows = stmt.query([after])?;
        loop {
            match rows.next() {
                Ok(Some(row)) => {
                    let rowid: i64 = row.get(0)?;
                    let values: Vec<Value> = (1..=cols.len()).map(|i| row.get(i)).collect::<Result<_, _>>()?;
                    out.recovered += insert.execute(params_from_iter(values))? as u64;
                    after = rowid;
                }
                Ok(None) => break 'reading,
                Err(_) => {
                    out.read_errors += 1;
                    match next_readable(from, table, after, max_rowid) {
                        Some(next) => {
                            after = next;
                            continue 'reading;
                        }
                        None => break 'reading,
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The rowid just before the next row that can be read after `after`: probes further
/// and further ahead (1, 2, 4, … rows) up to the table's largest rowid.
fn next_readable(from: &Connection, table: &str, after: i64, max_rowid: Option<i64>) -> Option<i64> {
    let max = max_rowid?;
    let probe = format!("SELECT rowid FROM \"{table}\" WHERE rowid > ?1 ORDER BY rowid LIMIT 1");
    let mut gap: i64 = 1;
    let start = if after == i64::MIN { 0 } else { after };
    while start.saturating_add(gap) <= max {
        match from.query_row(&probe, [start.saturating_add(gap)], |r| r.get::<_, i64>(0)) {
            // A row there can be read: reading resumes just before it (always past `after`).
            Ok(found) => return Some(found - 1),
            Err(rusqlite::Error::QueryReturnedNoRows) => return None,
            Err(_) => gap = gap.saturating_mul(2),
        }
    }
    None
}

fn copy_plain(
    from: &Connection,
    insert: &mut rusqlite::Statement<'_>,
    table: &str,
    list: &str,
    n: usize,
    errors: &mut u32,
) -> Result<u64, StoreError> {
    let Ok(mut stmt) = from.prepare(&format!("SELECT {list} FROM \"{table}\"")) else {
        *errors += 1;
        return Ok(0);
    };
    let Ok(mut rows) = stmt.query([]) else {
        *errors += 1;
        return Ok(0);
    };
    let mut copied = 0;
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let values: Vec<Value> = (0..n).map(|i| row.get(i)).collect::<Result<_, _>>()?;
                copied += insert.execute(params_from_iter(values))? as u64;
            }
            Ok(None) => return Ok(copied),
            Err(_) => {
                *errors += 1;
                return Ok(copied);
            }
        }
    }
}

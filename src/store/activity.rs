//! The app's own activity log, persisted (already redacted by the logger).

use rusqlite::params;
use serde::Serialize;

use super::{Store, StoreError};

/// Severity of an activity entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Detail.
    Debug,
    /// Normal events (the activity log's default filter).
    #[default]
    Info,
    /// Something failed but the app goes on.
    Warn,
    /// A failure.
    Error,
}

impl Level {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    fn rank(self) -> i64 {
        self as i64
    }

    fn parse(s: &str) -> Level {
        match s {
            "error" => Level::Error,
            "warn" => Level::Warn,
            "debug" => Level::Debug,
            _ => Level::Info,
        }
    }
}

/// One line of the activity log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityEntry {
    /// Unix seconds.
    pub ts: i64,
    /// Severity.
    pub level: Level,
    /// Module that wrote it.
    pub target: String,
    /// The (redacted) message.
    pub message: String,
}

/// Entries kept; older ones are trimmed on insert.
const KEEP_ROWS: i64 = 20_000;

impl Store {
    /// Appends entries in one transaction and trims the oldest past the cap.
    pub fn append_activity(&mut self, entries: &[ActivityEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT INTO activity_log(ts, level, target, message) VALUES (?1, ?2, ?3, ?4)")?;
            for e in entries {
                stmt.execute(params![e.ts, e.level.as_str(), e.target, e.message])?;
            }
        }
        tx.execute("DELETE FROM activity_log WHERE id <= (SELECT MAX(id) FROM activity_log) - ?1", [KEEP_ROWS])?;
        tx.commit()?;
        Ok(())
    }

    /// Newest entries first, at most `limit`, at or above `min_level`.
    pub fn recent_activity(&self, limit: usize, min_level: Level) -> Result<Vec<ActivityEntry>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT ts, level, target, message FROM activity_log
             WHERE (CASE level WHEN 'debug' THEN 0 WHEN 'info' THEN 1 WHEN 'warn' THEN 2 ELSE 3 END) >= ?1
             ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![min_level.rank(), limit as i64], |r| {
            Ok(ActivityEntry {
                ts: r.get(0)?,
                level: Level::parse(&r.get::<_, String>(1)?),
                target: r.get(2)?,
                message: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

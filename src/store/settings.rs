//! The settings struct at rest: one row per dotted key in the `settings` table, secret
//! keys sealed with the store's key. Loaded whole ([`Store::load_settings`]) and saved
//! through one path ([`Store::save_settings`], one transaction). Rows written by older
//! versions (including renamed keys, see `LEGACY_KEYS`) are read as they are; an
//! unreadable value falls back to its default with a warning in the log.

use std::collections::{BTreeMap, BTreeSet};

use super::{Store, StoreError};
use crate::domain::settings::{LEGACY_KEYS, Settings};

/// Settings as loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadedSettings {
    /// The settings (defaults where nothing or nothing usable was stored).
    pub settings: Settings,
    /// Keys that had a stored row (under their current name), e.g. to tell whether the
    /// user ever saved network settings.
    pub stored: BTreeSet<String>,
    /// One line per stored value that was not usable (already logged).
    pub warnings: Vec<String>,
}

impl LoadedSettings {
    /// Whether any key of a section (`"network"`) was stored.
    pub fn section_stored(&self, section: &str) -> bool {
        let prefix = format!("{section}.");
        self.stored.iter().any(|k| k.starts_with(&prefix))
    }
}

fn legacy_of(key: &str) -> impl Iterator<Item = &'static str> + '_ {
    LEGACY_KEYS.iter().filter(move |(_, new)| *new == key).map(|(old, _)| *old)
}

impl Store {
    /// Reads every setting. Never fails on a bad value (it falls back to its default and
    /// is logged); only a database error is an error.
    pub fn load_settings(&self) -> Result<LoadedSettings, StoreError> {
        let known: BTreeSet<String> = Settings::keys().into_iter().collect();
        let mut stmt = self.conn.prepare("SELECT key, value FROM settings")?;
        let all = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut rows = BTreeMap::new();
        let mut warnings = Vec::new();
        for (key, value) in all {
            let current = LEGACY_KEYS.iter().find(|(old, _)| *old == key).map_or(key.as_str(), |(_, new)| *new);
            if !known.contains(current) {
                continue; // bookkeeping rows and settings of newer versions
            }
            if Settings::is_secret(current) {
                match self.secrets.open_sealed(&value).ok().and_then(|b| String::from_utf8(b).ok()) {
                    Some(plain) => {
                        rows.insert(key, plain);
                    }
                    None => warnings.push(format!("setting {current} could not be unsealed; using the default")),
                }
            } else {
                rows.insert(key, value);
            }
        }
        let stored = rows
            .keys()
            .map(|k| LEGACY_KEYS.iter().find(|(old, _)| old == k).map_or(k.clone(), |(_, new)| new.to_string()))
            .collect();
        let (settings, more) = Settings::from_rows(&rows);
        warnings.extend(more);
        for w in &warnings {
            log::warn!("{w}");
        }
        Ok(LoadedSettings { settings, stored, warnings })
    }

    /// Writes changed settings rows in one transaction: a value is stored (sealed for a
    /// secret key), `None` removes the row; rows of a key's older name go either way.
    pub fn save_settings(&mut self, changes: &[(String, Option<String>)]) -> Result<(), StoreError> {
        let mut sealed = Vec::with_capacity(changes.len());
        for (key, value) in changes {
            let v = match value {
                Some(v) if Settings::is_secret(key) => Some(self.secrets.seal(v.as_bytes())?),
                other => other.clone(),
            };
            sealed.push((key, v));
        }
        let tx = self.conn.transaction()?;
        for (key, value) in sealed {
            for old in legacy_of(key) {
                tx.execute("DELETE FROM settings WHERE key = ?1", [old])?;
            }
            match value {
                Some(v) => tx.execute(
                    "INSERT INTO settings(key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key.as_str(), v.as_str()],
                )?,
                None => tx.execute("DELETE FROM settings WHERE key = ?1", [key.as_str()])?,
            };
        }
        tx.commit()?;
        Ok(())
    }

    /// Loads the settings, lets `change` edit them and saves what changed (the CLI's
    /// `settings set`, one-off engine saves). Returns the new settings.
    pub fn update_settings<E: From<StoreError>>(
        &mut self,
        change: impl FnOnce(&mut Settings) -> Result<(), E>,
    ) -> Result<Settings, E> {
        let before = self.load_settings()?.settings;
        let mut after = before.clone();
        change(&mut after)?;
        self.save_settings(&after.changed_rows(&before))?;
        Ok(after)
    }

    /// Removes a setting's row (and its older names): it reads as its default again.
    pub fn unset_setting(&mut self, key: &str) -> Result<(), StoreError> {
        self.save_settings(&[(key.to_string(), None)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::network::ProxySetting;

    #[test]
    fn settings_survive_a_reopen_secrets_sealed_and_old_rows_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        // Rows as an older version wrote them.
        s.set_secret_setting("net.proxy", "http://bob:s3cret@proxy:3128").unwrap();
        s.set_setting("refresh.interval_mins", "45").unwrap();
        s.set_setting("refresh.auto", "off").unwrap();
        s.set_setting("ui.theme", "purple").unwrap();
        s.set_setting("alerts.notified", "[]").unwrap();
        let loaded = s.load_settings().unwrap();
        assert_eq!(loaded.settings.network.proxy, ProxySetting::Url("http://bob:s3cret@proxy:3128".into()));
        assert_eq!(loaded.settings.refresh.interval_mins, 45);
        assert!(!loaded.settings.refresh.enabled);
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.section_stored("network") && !loaded.section_stored("backup"));

        let after = s
            .update_settings(|st| -> Result<(), StoreError> {
                st.set("refresh.interval_minutes", "60").ok();
                st.set("network.proxy", "http://bob:n3w@proxy:3128").ok();
                Ok(())
            })
            .unwrap();
        assert_eq!(after.refresh.interval_mins, 60);
        assert_eq!(s.setting("refresh.interval_mins").unwrap(), None, "the old name is gone once saved");
        assert_eq!(s.setting("net.proxy").unwrap(), None);
        let sealed = s.setting("network.proxy").unwrap().unwrap();
        assert!(!sealed.contains("n3w"), "the proxy is sealed at rest");
        drop(s);
        let s = Store::open(dir.path()).unwrap().store;
        let again = s.load_settings().unwrap().settings;
        assert_eq!(again, after);
        assert_eq!(s.setting("alerts.notified").unwrap().as_deref(), Some("[]"), "bookkeeping rows untouched");
    }
}

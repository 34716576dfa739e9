//! Multi-device sync through the WebDAV server of the backup settings: one encrypted
//! document per generation on the server, merged per field with the store of each
//! device (`model`: document and merge; `local`: store ↔ records; `remote`: envelope and
//! generations on the server).
//!
//! One sync: read the store and the base (this device's last merged document); download
//! the newest generation; merge three-way; upload the result as the next generation
//! (412: another device was first → download, merge, retry, at most
//! [`SyncOptions::max_attempts`] times); only then write the store, the new base and the
//! conflicts in one transaction. Any failure before that write (network, HTTP status,
//! a damaged or foreign document, a wrong passphrase) leaves local data as it was.

pub mod local;
pub mod model;
pub mod remote;

use serde::Serialize;
use serde_json::Value;

use crate::backup::BackupError;
use crate::store::{ConflictRow, NewConflict, SharedStore, StoreError};
use model::{Changes, Clock, DeviceInfo, Doc, Side, Values};

/// Errors of a sync; each is one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No WebDAV server configured.
    #[error("sync needs a WebDAV server: set it up first (apihub webdav config, or the Backup panel)")]
    NotConfigured,
    /// No passphrase given or saved.
    #[error("the sync passphrase is needed: give it (--passphrase-env VAR) or save it on this device")]
    PassphraseRequired,
    /// The passphrase does not open the server's document.
    #[error("wrong sync passphrase: the sync document on the server does not open with it; nothing changed")]
    WrongPassphrase,
    /// The server's document is damaged.
    #[error("the sync document on the server is damaged ({0}); nothing changed")]
    Damaged(String),
    /// A file that is not ours sits where the document should be.
    #[error("the file on the server is not an API Hub Desk sync document ({0}); nothing changed")]
    Foreign(String),
    /// A newer app wrote the document.
    #[error("the sync document has format version {0}, newer than this build reads: update the app")]
    TooNew(u64),
    /// Other devices kept taking the next generation.
    #[error("other devices kept writing the sync document; gave up after {0} tries (nothing changed here)")]
    Busy(usize),
    /// No such generation in the history.
    #[error("generation {0} is not on the server (see apihub sync history)")]
    NoGeneration(u64),
    /// No such conflict.
    #[error("no sync conflict with id {0} (see apihub sync conflicts)")]
    NoConflict(i64),
    /// The record a conflict names is gone.
    #[error("{0} no longer exists on this device; sync first")]
    Gone(String),
    /// WebDAV.
    #[error(transparent)]
    Remote(#[from] BackupError),
    /// The local store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How to sync.
#[derive(Clone)]
pub struct SyncOptions {
    /// The passphrase (`None`: the one saved on this device).
    pub passphrase: Option<String>,
    /// Only say what would change.
    pub dry_run: bool,
    /// PBKDF2 iterations when this device writes the first document.
    pub new_key_iterations: u32,
    /// Tries when other devices upload at the same time.
    pub max_attempts: usize,
    /// Restore the state of this generation of the history: its records and values come
    /// back as new edits (merged with everything since, shared by the upload); records
    /// made after it stay.
    pub restore: Option<u64>,
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("dry_run", &self.dry_run)
            .field("restore", &self.restore)
            .finish_non_exhaustive()
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            passphrase: None,
            dry_run: false,
            new_key_iterations: crate::backup::crypto::WRITE_ITERATIONS,
            max_attempts: 5,
            restore: None,
        }
    }
}

/// Changes as lines for people.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChangeLines {
    /// Records added.
    pub added: Vec<String>,
    /// Records changed, with the fields (`alice on https://x: notes, group`).
    pub changed: Vec<String>,
    /// Records deleted.
    pub deleted: Vec<String>,
}

impl ChangeLines {
    fn of(c: &Changes, labels: impl Fn(&str) -> String) -> ChangeLines {
        ChangeLines {
            added: c.added.iter().map(|k| labels(k)).collect(),
            changed: c.changed.iter().map(|(k, f)| format!("{}: {}", labels(k), f.join(", "))).collect(),
            deleted: c.deleted.iter().map(|k| labels(k)).collect(),
        }
    }

    /// Nothing changes.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.deleted.is_empty()
    }
}

/// A conflict found by this sync.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictLine {
    /// The record.
    pub label: String,
    /// The field (`""`: deleted on one side, edited on the other).
    pub field: String,
    /// `local` or `remote`: the value applied.
    pub applied: &'static str,
}

/// What a sync did (or, dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// Nothing was written.
    pub dry_run: bool,
    /// The server's generation after the sync.
    pub generation: u64,
    /// A new generation was uploaded.
    pub uploaded: bool,
    /// Tries (more than one: another device uploaded at the same time).
    pub attempts: usize,
    /// Changes on this device.
    pub local: ChangeLines,
    /// Changes on the server.
    pub remote: ChangeLines,
    /// Conflicts found by this sync (kept in the conflicts list).
    pub conflicts: Vec<ConflictLine>,
    /// Conflicts open after it, found here or on another device.
    pub open_conflicts: usize,
    /// Old documents deleted on the server.
    pub pruned: Vec<String>,
    /// The generation whose state this sync restored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<u64>,
}

/// This device's sync status, for the app and the CLI.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncStatus {
    /// This device's id (empty before the first sync).
    pub device_id: String,
    /// When the last sync finished (unix seconds).
    pub last_sync_unix: Option<i64>,
    /// The generation of the last sync.
    pub generation: u64,
    /// Conflicts not settled.
    pub conflicts: Vec<ConflictRow>,
}

/// Reads the status (blocking; inside a store job).
pub fn status(store: &crate::store::Store) -> Result<SyncStatus, StoreError> {
    let st = store.sync_state()?;
    Ok(SyncStatus {
        device_id: st.device_id.unwrap_or_default(),
        last_sync_unix: st.synced_at_unix,
        generation: st.generation,
        conflicts: store.sync_conflicts()?,
    })
}

/// A conflict's value (JSON text) for showing: credentials replaced by `"(hidden)"`,
/// unreadable text as `null`.
pub fn redacted(field: &str, value: &str) -> Value {
    let hidden = Value::String("(hidden)".into());
    match serde_json::from_str::<Value>(value) {
        _ if field == "credentials" => hidden,
        Ok(Value::Object(mut m)) => {
            if m.contains_key("credentials") {
                m.insert("credentials".into(), hidden);
            }
            Value::Object(m)
        }
        Ok(v) => v,
        Err(_) => Value::Null,
    }
}

/// This machine's name (the default device name).
pub fn host_name() -> String {
    ["HOSTNAME", "COMPUTERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|s| s.trim().to_string()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this device".into())
}

fn new_device_id() -> String {
    crate::backup::crypto::random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect()
}

fn device_number(id: &str) -> u64 {
    u64::from_str_radix(id, 16).unwrap_or_default()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SyncError::Store(StoreError::Unavailable(e.to_string())))
}

/// What a sync or a look at the history starts from: the settings, this device's sync
/// state, the passphrase (given or saved) and the server's sync folder.
async fn prepare(
    store: &SharedStore,
    passphrase: Option<&str>,
) -> Result<(crate::domain::settings::Settings, crate::store::SyncState, String, remote::Remote), SyncError> {
    let (settings, state) = store.run(|s| Ok((s.load_settings()?.settings, s.sync_state()?))).await?;
    let passphrase = passphrase
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .or_else(|| Some(settings.sync.passphrase.clone()).filter(|p| !p.is_empty()))
        .ok_or(SyncError::PassphraseRequired)?;
    let remote = remote::Remote::new(&settings.backup.webdav)?;
    Ok((settings, state, passphrase, remote))
}

/// One sync document kept on the server (the history).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// Its generation (what `apihub sync restore N` takes).
    pub generation: u64,
    /// When it was written (RFC 3339, UTC).
    pub written_at: String,
    /// The device that wrote it (name, else id).
    pub device: String,
    /// Sites, accounts and synced settings in it (existing ones).
    pub sites: usize,
    /// Accounts.
    pub accounts: usize,
    /// Settings.
    pub settings: usize,
    /// Open conflicts in it.
    pub conflicts: usize,
}

/// The sync documents on the server, newest first.
pub async fn history(store: &SharedStore, passphrase: Option<&str>) -> Result<Vec<HistoryEntry>, SyncError> {
    let (_, _, passphrase, remote) = prepare(store, passphrase).await?;
    let mut key = None;
    let mut out = Vec::new();
    for (generation, _) in remote.generations().await? {
        let bytes = remote.fetch(generation).await?;
        let (written_by, written_at) = remote::written(&bytes);
        let (pass, known) = (passphrase.clone(), key.clone());
        let (doc, k) = blocking(move || remote::open(&bytes, generation, &pass, known.as_ref())).await??;
        key = Some(k);
        let live = model::live(&doc);
        let count = |kind: &str| live.keys().filter(|k| k.split(model::SEP).next() == Some(kind)).count();
        out.push(HistoryEntry {
            generation,
            written_at,
            device: doc.devices.get(&written_by).map(|d| d.name.clone()).unwrap_or(written_by),
            sites: count("site"),
            accounts: count("account"),
            settings: count("setting"),
            conflicts: doc.conflicts.values().filter(|c| c.settled.is_none()).count(),
        });
    }
    Ok(out)
}

/// Syncs this device's store with the server (or, [`SyncOptions::restore`], restores
/// a state of the history as a sync).
pub async fn run(store: &SharedStore, opts: &SyncOptions) -> Result<SyncReport, SyncError> {
    let (settings, state, passphrase, remote) = prepare(store, opts.passphrase.as_deref()).await?;
    let base: Doc = match &state.base {
        Some(bytes) => serde_json::from_slice(bytes).unwrap_or_else(|e| {
            log::warn!("sync: the saved base does not read ({e}); merging as a first sync");
            Doc::default()
        }),
        None => Doc::default(),
    };
    let device_id = state.device_id.clone().unwrap_or_else(new_device_id);
    let dev = device_number(&device_id);
    let device_name =
        Some(settings.sync.device_name.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(host_name);
    let mut key: Option<remote::Key> = None;
    let restored = match opts.restore {
        Some(generation) => {
            let doc = fetch_open(&remote, generation, &passphrase, &mut key).await?;
            Some(model::live(&doc))
        }
        None => None,
    };
    for attempt in 1..=opts.max_attempts.max(1) {
        let (local, edits, now_ms) = store
            .run(|s| {
                let local = local::read_local(s)?;
                let edits = model::Edits {
                    journal: s.sync_journal()?,
                    defaults: local::defaults(&local),
                    settled: s.sync_settled()?,
                };
                Ok((local, edits, s.edit_clock().now_ms()))
            })
            .await?;
        let (current, remote_doc) = match remote.generations().await?.first() {
            None => (0, Doc::default()),
            Some((generation, _)) => (*generation, fetch_open(&remote, *generation, &passphrase, &mut key).await?),
        };
        // Local edits come after what this device had seen (the base), stamped when made.
        let mut edit_clock = Clock::new(dev, now_ms);
        edit_clock.observe_doc(&base);
        let mine = model::local_doc(&base, &local, &edits, &mut edit_clock);
        let mut clock = Clock::new(dev, now_ms);
        for doc in [&base, &remote_doc, &mine] {
            clock.observe_doc(doc);
        }
        let gc_before = now_ms.saturating_sub(u64::from(settings.sync.tombstone_days) * 86_400_000);
        let mut merged = model::merge(&base, &mine, &remote_doc, &mut clock, gc_before);
        if let Some(restored) = &restored {
            merged.doc = model::restore_over(&merged.doc, restored, &mut clock);
        }
        let target = model::live(&merged.doc);
        let remote_live = model::live(&remote_doc);
        let label = |k: &str| local::label(k, target.get(k).or(local.get(k)).or(remote_live.get(k)));
        let needs_upload = current == 0
            || merged.doc.records != remote_doc.records
            || merged.doc.gc_ms != remote_doc.gc_ms
            || merged.doc.conflicts != remote_doc.conflicts;
        let device_label = |d: u64| {
            let id = format!("{d:016x}");
            match merged.doc.devices.get(&id) {
                Some(info) => info.name.clone(),
                None if d == dev => device_name.clone(),
                None => id,
            }
        };
        let conflicts: Vec<NewConflict> = merged
            .doc
            .conflicts
            .iter()
            .filter(|(_, c)| c.settled.is_none())
            .map(|(uid, c)| {
                let (mine, theirs, applied, other) = c.for_device(dev);
                NewConflict {
                    record: c.record.clone(),
                    field: c.field.clone(),
                    label: label(&c.record),
                    local: mine.to_string(),
                    remote: theirs.to_string(),
                    applied: applied.as_str().into(),
                    remote_device: device_label(other),
                    uid: uid.clone(),
                    found_by: device_label(c.found_by),
                }
            })
            .collect();
        let mut report = SyncReport {
            dry_run: opts.dry_run,
            generation: current,
            uploaded: false,
            attempts: attempt,
            local: ChangeLines::of(&model::diff(&local, &target), label),
            remote: ChangeLines::of(&model::diff(&remote_live, &target), label),
            conflicts: merged
                .conflicts
                .iter()
                .map(|c| ConflictLine { label: label(&c.record), field: c.field.clone(), applied: c.applied.as_str() })
                .collect(),
            open_conflicts: conflicts.len(),
            pruned: Vec::new(),
            restored: opts.restore,
        };
        if opts.dry_run {
            if current == 0 {
                report.remote = ChangeLines::of(&model::diff(&Values::new(), &target), label);
            }
            return Ok(report);
        }
        if needs_upload {
            merged.doc.devices.insert(
                device_id.clone(),
                DeviceInfo { name: device_name.clone(), last_sync_unix: crate::domain::time::now_unix() },
            );
            let k = match &key {
                Some(k) => k.clone(),
                None => {
                    let (pass, iterations) = (passphrase.clone(), opts.new_key_iterations);
                    blocking(move || remote::Key::new(&pass, iterations)).await?
                }
            };
            key = Some(k.clone());
            let (doc, id) = (merged.doc.clone(), device_id.clone());
            let bytes = blocking(move || remote::seal(&doc, current + 1, &id, &k)).await??;
            if !remote.publish(current + 1, &bytes).await? {
                log::info!("sync: generation {} was taken by another device; merging again", current + 1);
                continue;
            }
            report.uploaded = true;
            report.generation = current + 1;
            report.pruned = remote.prune(settings.sync.keep).await.unwrap_or_else(|e| {
                log::warn!("sync: old documents not pruned: {e}");
                Vec::new()
            });
        }
        let base_bytes = serde_json::to_vec(&merged.doc).map_err(|e| SyncError::Damaged(e.to_string()))?;
        let (generation, id) = (report.generation, device_id.clone());
        let committed = store
            .run(move |s| {
                if local::read_local(s)? != local {
                    return Ok(false); // changed while syncing: merge again with the new data
                }
                let mut c = local::commit_for(s, &local, &target)?;
                c.base = Some((base_bytes, generation));
                c.device_id = Some(id);
                c.conflicts = conflicts;
                s.commit_sync(&c)?;
                Ok(true)
            })
            .await?;
        if committed {
            log::info!(
                "sync: generation {} ({} here, {} conflicts)",
                report.generation,
                report.local.added.len() + report.local.changed.len() + report.local.deleted.len(),
                report.conflicts.len()
            );
            return Ok(report);
        }
    }
    Err(SyncError::Busy(opts.max_attempts.max(1)))
}

/// Downloads and opens one generation (`key`: the key derived so far, reused and kept).
async fn fetch_open(
    remote: &remote::Remote,
    generation: u64,
    passphrase: &str,
    key: &mut Option<remote::Key>,
) -> Result<Doc, SyncError> {
    let bytes = remote.fetch(generation).await.map_err(|e| match e {
        SyncError::Remote(BackupError::NotFound(_)) => SyncError::NoGeneration(generation),
        other => other,
    })?;
    let (pass, known) = (passphrase.to_string(), key.clone());
    let (doc, k) = blocking(move || remote::open(&bytes, generation, &pass, known.as_ref())).await??;
    *key = Some(k);
    Ok(doc)
}

/// Settles a conflict: `take` the side to keep. Taking the value the merge did not
/// apply writes it into the store (the next sync shares it, as a newer edit).
pub async fn resolve(store: &SharedStore, id: i64, take: Side) -> Result<(), SyncError> {
    let found = store.run(move |s| Ok(s.sync_conflicts()?.into_iter().find(|c| c.id == id))).await?;
    let conflict = found.ok_or(SyncError::NoConflict(id))?;
    let chosen = match take {
        Side::Local => &conflict.local,
        Side::Remote => &conflict.remote,
    };
    let value: Value = serde_json::from_str(chosen).map_err(|e| SyncError::Damaged(format!("conflict {id}: {e}")))?;
    let applied_already = conflict.applied == take.as_str();
    store
        .run(move |s| {
            let local = local::read_local(s)?;
            let mut target = local.clone();
            if !applied_already {
                if conflict.field.is_empty() {
                    match value {
                        Value::Object(fields) => {
                            let mut rec: std::collections::BTreeMap<String, Value> = fields.into_iter().collect();
                            rec.insert(model::ALIVE.into(), Value::Bool(true));
                            target.insert(conflict.record.clone(), rec);
                        }
                        _ => {
                            target.remove(&conflict.record);
                        }
                    }
                } else {
                    match target.get_mut(&conflict.record) {
                        Some(rec) => {
                            rec.insert(conflict.field.clone(), value);
                        }
                        None => return Ok(Err(SyncError::Gone(conflict.label.clone()))),
                    }
                }
            }
            let mut c = local::commit_for(s, &local, &target)?;
            c.resolved = vec![id];
            s.commit_sync(&c)?;
            Ok(Ok(()))
        })
        .await?
}

//! The sync document and the merge (pure: no I/O).
//!
//! - A **record** is a site, an account, a key's note or a synced setting; its key
//!   names it by natural key (`site␟<url>`, `account␟<site url>␟<identity>`,
//!   `key␟<site url>␟<identity>␟<key id>`, `setting␟<key>`; the URL as
//!   `site_key_url`). A record is a
//!   map of fields, each with its value and a [`Stamp`]: a hybrid logical clock
//!   (wall-clock milliseconds, a counter) and the device that wrote it.
//! - An account's `_alive` field is its existence: a deletion sets it to `false` (a
//!   tombstone, kept [`Doc::gc_ms`]-wise for a set number of days, then dropped).
//! - **Merge** is three-way against the base (the document of this device's last sync):
//!   per field, the side that changed since the base wins; when both changed it to
//!   different values the later stamp wins and the other value is a [`Conflict`]
//!   (unless one of them was never knowingly written, [`UNKNOWN_MS`]: it just yields).
//!   Conflicts are kept in the document, so every device lists them until one settles
//!   them. An
//!   account deleted on one side and edited on the other is a whole-record conflict:
//!   the later of the deletion and the newest edit wins.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Field that says whether an account exists.
pub const ALIVE: &str = "_alive";
/// Fields that merge silently (later wins, never a conflict): each device's own order.
const QUIET_FIELDS: &[&str] = &["sort_order"];
/// The time of a default value nobody is known to have written (a setting never set on
/// a device that never synced, an empty note): it yields to a written value without a
/// conflict.
pub const UNKNOWN_MS: u64 = 0;
/// Separator inside record keys (never in a URL, identity or setting key).
pub const SEP: char = '\u{1f}';

/// A version: hybrid logical clock time and the device that wrote it. Ordered by time,
/// then counter, then device (so two devices never tie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Stamp {
    /// Wall-clock milliseconds (never behind any stamp the device has seen).
    pub ms: u64,
    /// Counter within one millisecond.
    pub c: u32,
    /// Device id.
    pub dev: u64,
}

/// A field's value and version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The value.
    pub v: Value,
    /// Its version.
    pub s: Stamp,
}

/// A record: field name → field.
pub type Record = BTreeMap<String, Field>;

/// Plain values of records: record key → field → value (what the store holds).
pub type Values = BTreeMap<String, BTreeMap<String, Value>>;

/// A device in the document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Its name.
    pub name: String,
    /// When it last synced (unix seconds).
    pub last_sync_unix: i64,
}

/// The sync document (what the server holds, encrypted, and what each device keeps as
/// its base).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Doc {
    /// Every record.
    pub records: BTreeMap<String, Record>,
    /// Devices that synced (id in hex → name, last sync).
    #[serde(default)]
    pub devices: BTreeMap<String, DeviceInfo>,
    /// Tombstones whose newest stamp is older than this were dropped: a record this old
    /// missing from the document was deleted.
    #[serde(default)]
    pub gc_ms: u64,
    /// Conflicts found by any device (by [`Conflict::uid`]): open ones are listed on
    /// every device; a settled one stays, with the settlement's stamp, until tombstones
    /// of its age are dropped.
    #[serde(default)]
    pub conflicts: BTreeMap<String, DocConflict>,
}

/// A conflict as the document keeps it (for every device).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocConflict {
    /// Record key.
    pub record: String,
    /// Field (`""`: the whole record, deleted on one side and edited on the other).
    pub field: String,
    /// The value the merge applied (`null`: the deletion).
    pub applied: Value,
    /// Its version (and so the device that wrote it).
    pub applied_s: Stamp,
    /// The value kept aside.
    pub other: Value,
    /// Its version.
    pub other_s: Stamp,
    /// The device whose sync found it, and when (unix ms).
    pub found_by: u64,
    /// When it was found (unix ms).
    pub found_ms: u64,
    /// Settled: the settlement's stamp (the device that settled it, when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<Stamp>,
}

impl DocConflict {
    /// The conflict as this device (`me`) lists it: (this device's value, the other
    /// device's, which was applied, the other device). A device that wrote neither value
    /// holds the applied one.
    pub fn for_device(&self, me: u64) -> (&Value, &Value, Side, u64) {
        if self.other_s.dev == me && self.applied_s.dev != me {
            (&self.other, &self.applied, Side::Remote, self.applied_s.dev)
        } else {
            (&self.applied, &self.other, Side::Local, self.other_s.dev)
        }
    }
}

/// What kind of record a key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// A site, by URL.
    Site(String),
    /// An account, by site URL and identity.
    Account(String, String),
    /// A synced setting, by dotted key.
    Setting(String),
    /// A key's note, by site URL, account identity and the key's id on the site.
    Key(String, String, i64),
}

impl RecordKey {
    /// The key text.
    pub fn text(&self) -> String {
        match self {
            RecordKey::Site(u) => format!("site{SEP}{u}"),
            RecordKey::Account(u, i) => format!("account{SEP}{u}{SEP}{i}"),
            RecordKey::Setting(k) => format!("setting{SEP}{k}"),
            RecordKey::Key(u, i, k) => format!("key{SEP}{u}{SEP}{i}{SEP}{k}"),
        }
    }

    /// Parses a key text (`None`: a kind this build does not know).
    pub fn parse(text: &str) -> Option<RecordKey> {
        if let Some(rest) = text.strip_prefix("key\u{1f}") {
            let mut parts = rest.rsplitn(2, SEP);
            let (id, account) = (parts.next()?.parse().ok()?, parts.next()?);
            let (u, i) = account.split_once(SEP)?;
            return Some(RecordKey::Key(u.to_string(), i.to_string(), id));
        }
        let mut parts = text.splitn(3, SEP);
        match (parts.next()?, parts.next()?, parts.next()) {
            ("site", u, None) => Some(RecordKey::Site(u.to_string())),
            ("account", u, Some(i)) => Some(RecordKey::Account(u.to_string(), i.to_string())),
            ("setting", k, None) => Some(RecordKey::Setting(k.to_string())),
            _ => None,
        }
    }
}

/// The hybrid logical clock of one device.
#[derive(Debug, Clone)]
pub struct Clock {
    /// The latest stamp seen in a document.
    seen: Stamp,
    /// The latest stamp seen or made.
    top: Stamp,
    now_ms: u64,
}

impl Clock {
    /// A clock for `dev` at wall time `now_ms`.
    pub fn new(dev: u64, now_ms: u64) -> Clock {
        let zero = Stamp { ms: 0, c: 0, dev };
        Clock { seen: zero, top: zero, now_ms }
    }

    fn dev(&self) -> u64 {
        self.top.dev
    }

    /// Moves past a stamp seen in a document.
    pub fn observe(&mut self, s: Stamp) {
        for mine in [&mut self.seen, &mut self.top] {
            if (s.ms, s.c) > (mine.ms, mine.c) {
                mine.ms = s.ms;
                mine.c = s.c;
            }
        }
    }

    /// Moves past every stamp of a document.
    pub fn observe_doc(&mut self, doc: &Doc) {
        for f in doc.records.values().flat_map(|r| r.values()) {
            self.observe(f.s);
        }
    }

    /// The wall time this clock was made with.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// A new stamp, later than every stamp seen or made.
    pub fn tick(&mut self) -> Stamp {
        if self.now_ms > self.top.ms {
            self.top.ms = self.now_ms;
            self.top.c = 0;
        } else {
            self.top.c = self.top.c.saturating_add(1);
        }
        self.top
    }

    /// The stamp of an edit made at wall time `ms` after everything seen: `ms`, or just
    /// after the latest stamp seen when the wall clock was behind it (an edit always
    /// comes after what it replaced).
    pub fn at(&mut self, ms: u64) -> Stamp {
        let s = if ms > self.seen.ms {
            Stamp { ms, c: 0, dev: self.dev() }
        } else {
            Stamp { ms: self.seen.ms, c: self.seen.c.saturating_add(1), dev: self.dev() }
        };
        if (s.ms, s.c) > (self.top.ms, self.top.c) {
            self.top = s;
        }
        s
    }
}

fn is_account(key: &str) -> bool {
    key.starts_with("account\u{1f}")
}

fn alive(rec: &Record) -> bool {
    rec.get(ALIVE).is_none_or(|f| f.v != Value::Bool(false))
}

fn newest(rec: &Record) -> Stamp {
    rec.values().map(|f| f.s).max().unwrap_or_default()
}

/// What this device knows of its local values besides the values: when each was written
/// (the journal), which values are defaults, and the conflicts settled here.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    /// Record → field (`*`: the whole record, inserted) → unix ms of the last write.
    pub journal: Journal,
    /// Record → field → its default value (what a field nobody set holds).
    pub defaults: Values,
    /// Conflicts settled here since the last sync: uid → unix ms.
    pub settled: BTreeMap<String, u64>,
}

/// This device's document: the base with every local difference stamped with the time
/// it was made. The time of a field is its journal time; else the record's (`*`, an
/// insert) unless the field just holds its default; else, for a field the base has,
/// now (changed before the journal existed); else, for a default, [`UNKNOWN_MS`] (it
/// yields to any written value); else now. `clock` must have observed the base only:
/// an edit comes after what this device had seen, not after what the server holds now.
/// A local account missing from the store is a deletion; a credential that could not
/// be read here (`null`) never replaces a known one.
pub fn local_doc(base: &Doc, local: &Values, edits: &Edits, clock: &mut Clock) -> Doc {
    let mut out = base.clone();
    for (uid, ms) in &edits.settled {
        if let Some(c) = out.conflicts.get_mut(uid).filter(|c| c.settled.is_none()) {
            c.settled = Some(clock.at(*ms));
        }
    }
    let stamp = |clock: &mut Clock, key: &str, name: &str, v: &Value| {
        let times = edits.journal.get(key);
        let default = edits.defaults.get(key).and_then(|d| d.get(name)) == Some(v);
        let in_base = base.records.get(key).is_some_and(|r| r.contains_key(name));
        match (times.and_then(|t| t.get(name)), times.and_then(|t| t.get("*"))) {
            (Some(ms), _) => clock.at(*ms),
            (None, Some(ms)) if !default || in_base => clock.at(*ms),
            _ if !in_base && default => Stamp { ms: UNKNOWN_MS, c: 0, dev: clock.dev() },
            _ => clock.tick(),
        }
    };
    for (key, values) in local {
        let rec = out.records.entry(key.clone()).or_default();
        for (name, v) in values {
            match rec.get(name) {
                Some(f) if &f.v == v => {}
                Some(f) if name == "credentials" && v.is_null() && !f.v.is_null() => {}
                _ => {
                    rec.insert(name.clone(), Field { v: v.clone(), s: stamp(clock, key, name, v) });
                }
            }
        }
    }
    for (key, rec) in out.records.iter_mut() {
        if is_account(key) && alive(rec) && !local.contains_key(key) {
            rec.insert(ALIVE.into(), Field { v: Value::Bool(false), s: stamp(clock, key, ALIVE, &Value::Bool(false)) });
        }
    }
    out
}

/// When fields were written on a device: record → field (`*`: all) → unix ms.
pub use crate::store::Journal;

/// Which side's value a merge applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// This device's.
    Local,
    /// The server's (another device's).
    Remote,
}

impl Side {
    /// `local` / `remote`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Local => "local",
            Side::Remote => "remote",
        }
    }
}

/// Both sides changed the same thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Record key.
    pub record: String,
    /// Field; `""` for a whole record deleted on one side and edited on the other.
    pub field: String,
    /// This device's value (`null`: deleted here).
    pub local: Value,
    /// The other side's value (`null`: deleted there).
    pub remote: Value,
    /// The value the merge applied.
    pub applied: Side,
    /// The local value's version.
    pub local_s: Stamp,
    /// The remote value's version (`.dev`: the device it came from).
    pub remote_s: Stamp,
    /// Its id in the document: the same conflict found again has the same id.
    pub uid: String,
}

impl Conflict {
    fn new(
        record: &str,
        field: &str,
        (local, ls): (Value, Stamp),
        (remote, rs): (Value, Stamp),
        applied: Side,
    ) -> Self {
        let uid = format!("{:016x}", fnv1a(format!("{record}{SEP}{field}{SEP}{ls:?}{SEP}{rs:?}").as_bytes()));
        Conflict {
            record: record.to_string(),
            field: field.to_string(),
            local,
            remote,
            applied,
            local_s: ls,
            remote_s: rs,
            uid,
        }
    }

    fn in_doc(&self, clock: &Clock) -> DocConflict {
        let (applied, applied_s, other, other_s) = match self.applied {
            Side::Local => (&self.local, self.local_s, &self.remote, self.remote_s),
            Side::Remote => (&self.remote, self.remote_s, &self.local, self.local_s),
        };
        DocConflict {
            record: self.record.clone(),
            field: self.field.clone(),
            applied: applied.clone(),
            applied_s,
            other: other.clone(),
            other_s,
            found_by: clock.dev(),
            found_ms: clock.now_ms,
            settled: None,
        }
    }
}

/// FNV-1a, 64 bits (a stable id; std's hasher may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A merge's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The merged document.
    pub doc: Doc,
    /// Conflicts found.
    pub conflicts: Vec<Conflict>,
}

/// A record's values without the existence field (what a whole-record conflict keeps).
fn plain(rec: &Record) -> Value {
    Value::Object(rec.iter().filter(|(k, _)| k.as_str() != ALIVE).map(|(k, f)| (k.clone(), f.v.clone())).collect())
}

/// Three-way merge of this device's document (`local`, from [`local_doc`]) and the
/// server's (`remote`) against the base. `gc_before_ms`: tombstones older than this are
/// dropped from the result.
pub fn merge(base: &Doc, local: &Doc, remote: &Doc, clock: &mut Clock, gc_before_ms: u64) -> Merged {
    let mut doc = Doc {
        records: BTreeMap::new(),
        devices: remote.devices.clone(),
        gc_ms: local.gc_ms.max(remote.gc_ms),
        conflicts: BTreeMap::new(),
    };
    for (id, d) in &local.devices {
        doc.devices.entry(id.clone()).or_insert_with(|| d.clone());
    }
    let mut conflicts = Vec::new();
    let keys: BTreeSet<&String> = local.records.keys().chain(remote.records.keys()).collect();
    for key in keys {
        let b = base.records.get(key);
        let merged = match (local.records.get(key), remote.records.get(key)) {
            (Some(l), None) => {
                // Dropped from the server's document after its deletion was old enough:
                // deleted there, unless edited here since.
                let collected = b.is_some_and(|b| newest(b).ms < remote.gc_ms && b == l);
                if collected {
                    continue;
                }
                l.clone()
            }
            (None, Some(r)) => r.clone(),
            (Some(l), Some(r)) => merge_record(key, b, l, r, clock, &mut conflicts),
            (None, None) => continue,
        };
        doc.records.insert(key.clone(), merged);
    }
    // Conflicts: every one either side knows (settled if settled on either), and the
    // new ones.
    doc.conflicts = remote.conflicts.clone();
    for (uid, c) in &local.conflicts {
        let entry = doc.conflicts.entry(uid.clone()).or_insert_with(|| c.clone());
        entry.settled = entry.settled.max(c.settled);
    }
    for c in &conflicts {
        doc.conflicts.entry(c.uid.clone()).or_insert_with(|| c.in_doc(clock));
    }
    // An open conflict of a field written again after both its values is settled by
    // that write: the newer edit is the user's decision. Every device computes the same
    // from the same merged records. (A whole-record conflict, deletion against edit,
    // stays until someone picks a side.)
    for c in doc.conflicts.values_mut().filter(|c| c.settled.is_none() && !c.field.is_empty()) {
        let now = doc.records.get(&c.record).and_then(|rec| rec.get(&c.field)).map(|f| f.s);
        if let Some(s) = now.filter(|s| *s > c.applied_s && *s > c.other_s) {
            c.settled = Some(s);
        }
    }
    let before = doc.records.len();
    doc.records.retain(|key, rec| !(is_account(key) && !alive(rec) && newest(rec).ms < gc_before_ms));
    if doc.records.len() < before {
        doc.gc_ms = doc.gc_ms.max(gc_before_ms);
    }
    doc.conflicts.retain(|_, c| c.settled.is_none_or(|s| s.ms >= gc_before_ms));
    Merged { doc, conflicts }
}

fn merge_record(
    key: &str,
    b: Option<&Record>,
    l: &Record,
    r: &Record,
    clock: &mut Clock,
    conflicts: &mut Vec<Conflict>,
) -> Record {
    let base_stamp = |f: &str| b.and_then(|b| b.get(f)).map(|x| x.s);
    let changed = |rec: &Record, f: &str| rec.get(f).is_some_and(|x| Some(x.s) != base_stamp(f));
    let mut out = Record::new();
    let mut found = Vec::new();
    let names: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
    for name in names {
        let field = match (l.get(name), r.get(name)) {
            (Some(lf), None) => lf.clone(),
            (None, Some(rf)) => rf.clone(),
            (None, None) => continue,
            (Some(lf), Some(rf)) => {
                let (lch, rch) = (changed(l, name), changed(r, name));
                if lf.s == rf.s || !rch {
                    lf.clone()
                } else if !lch {
                    rf.clone()
                } else if lf.v == rf.v {
                    // The same value on both sides: the server's, so that a device that
                    // only agreed has nothing to upload.
                    rf.clone()
                } else {
                    let winner = if lf.s > rf.s { lf } else { rf };
                    let one_unknown = (lf.s.ms == UNKNOWN_MS) != (rf.s.ms == UNKNOWN_MS);
                    if !QUIET_FIELDS.contains(&name.as_str()) && !one_unknown {
                        let applied = if winner.s == lf.s { Side::Local } else { Side::Remote };
                        found.push(Conflict::new(key, name, (lf.v.clone(), lf.s), (rf.v.clone(), rf.s), applied));
                    }
                    winner.clone()
                }
            }
        };
        out.insert(name.clone(), field);
    }
    // Deleted on one side, edited on the other: the later of the deletion and the
    // newest edit wins; the other is one whole-record conflict.
    if is_account(key) {
        let edits =
            |rec: &Record| rec.iter().filter(|(n, _)| n.as_str() != ALIVE && changed(rec, n)).map(|(_, f)| f.s).max();
        let deletion = |rec: &Record| rec.get(ALIVE).filter(|_| !alive(rec) && changed(rec, ALIVE)).map(|f| f.s);
        let case = match (deletion(l), deletion(r)) {
            (Some(del), None) if alive(r) => edits(r).map(|edit| (Side::Local, del, edit)),
            (None, Some(del)) if alive(l) => edits(l).map(|edit| (Side::Remote, del, edit)),
            _ => None,
        };
        if let Some((deleted_on, del, edit)) = case {
            found.retain(|c| c.field != ALIVE);
            let deletion_wins = del > edit;
            let (local, remote) = match deleted_on {
                Side::Local => (Value::Null, plain(r)),
                Side::Remote => (plain(l), Value::Null),
            };
            let applied = match (deletion_wins, deleted_on) {
                (true, side) => side,
                (false, Side::Local) => Side::Remote,
                (false, Side::Remote) => Side::Local,
            };
            if deletion_wins {
                out.insert(ALIVE.into(), Field { v: Value::Bool(false), s: del });
            } else {
                out.insert(ALIVE.into(), Field { v: Value::Bool(true), s: clock.tick() });
            }
            let (ls, rs) = if deleted_on == Side::Remote { (edit, del) } else { (del, edit) };
            found.push(Conflict::new(key, "", (local, ls), (remote, rs), applied));
        }
    }
    conflicts.extend(found);
    out
}

/// The records that exist in a document, as plain values: live accounts, the sites
/// they use, the settings.
pub fn live(doc: &Doc) -> Values {
    let mut out = Values::new();
    let mut used_sites = BTreeSet::new();
    for (key, rec) in &doc.records {
        match RecordKey::parse(key) {
            Some(RecordKey::Account(url, _)) if alive(rec) => {
                used_sites.insert(RecordKey::Site(url).text());
            }
            Some(RecordKey::Key(url, identity, _))
                if doc.records.get(&RecordKey::Account(url.clone(), identity.clone()).text()).is_some_and(alive) => {}
            Some(RecordKey::Account(..)) | Some(RecordKey::Site(_)) | Some(RecordKey::Key(..)) | None => continue,
            Some(RecordKey::Setting(_)) => {}
        }
        out.insert(key.clone(), rec.iter().map(|(k, f)| (k.clone(), f.v.clone())).collect());
    }
    for key in used_sites {
        if let Some(rec) = doc.records.get(&key) {
            out.insert(key, rec.iter().map(|(k, f)| (k.clone(), f.v.clone())).collect());
        }
    }
    out
}

/// A merged document with the values of an older state (`restored`, [`live`] of a
/// document of the history) made new edits: every record and field that differs takes
/// the restored value, stamped after everything `clock` saw, so it wins on every device;
/// a deleted record comes back; records `restored` does not have stay as they are.
pub fn restore_over(doc: &Doc, restored: &Values, clock: &mut Clock) -> Doc {
    let mut want = live(doc);
    let mut now = Edits::default();
    for (key, values) in restored {
        want.entry(key.clone()).or_default().extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
        now.journal.insert(key.clone(), values.keys().map(|f| (f.clone(), clock.now_ms)).collect());
    }
    local_doc(doc, &want, &now, clock)
}

/// What changes from one set of values to another.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    /// Records added (keys).
    pub added: Vec<String>,
    /// Records changed: key and the fields that change.
    pub changed: Vec<(String, Vec<String>)>,
    /// Records deleted (keys).
    pub deleted: Vec<String>,
}

impl Changes {
    /// Nothing changes.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.deleted.is_empty()
    }
}

/// The changes from `before` to `after`.
pub fn diff(before: &Values, after: &Values) -> Changes {
    let mut c = Changes::default();
    for (key, a) in after {
        match before.get(key) {
            None => c.added.push(key.clone()),
            Some(b) if b != a => {
                let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                let fields = names.into_iter().filter(|n| a.get(*n) != b.get(*n)).cloned().collect();
                c.changed.push((key.clone(), fields));
            }
            Some(_) => {}
        }
    }
    c.deleted = before.keys().filter(|k| !after.contains_key(*k)).cloned().collect();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acc(k: &str) -> String {
        RecordKey::Account("https://x".into(), k.into()).text()
    }

    fn values(entries: &[(&str, &[(&str, Value)])]) -> Values {
        entries
            .iter()
            .map(|(k, fs)| (k.to_string(), fs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()))
            .collect()
    }

    /// One device's sync against a shared remote document (no server).
    fn sync(base: &mut Doc, local: &mut Values, remote: &mut Doc, dev: u64, ms: u64) -> Vec<Conflict> {
        let mut clock = Clock::new(dev, ms);
        clock.observe_doc(base);
        clock.observe_doc(remote);
        let mut edits = Clock::new(dev, ms);
        edits.observe_doc(base);
        let l = local_doc(base, local, &Edits::default(), &mut edits);
        clock.observe_doc(&l);
        let m = merge(base, &l, remote, &mut clock, 0);
        *remote = m.doc.clone();
        *base = m.doc.clone();
        *local = live(&m.doc);
        m.conflicts
    }

    #[test]
    fn different_fields_both_survive_and_the_same_field_conflicts_once() {
        let a = acc("uid:1");
        let start = values(&[(&a, &[(ALIVE, json!(true)), ("notes", json!("n")), ("group", json!("g"))])]);
        let (mut remote, mut b1, mut b2) = (Doc::default(), Doc::default(), Doc::default());
        let (mut l1, mut l2) = (start.clone(), Values::new());
        assert!(sync(&mut b1, &mut l1, &mut remote, 1, 100).is_empty());
        assert!(sync(&mut b2, &mut l2, &mut remote, 2, 110).is_empty());
        assert_eq!(l2, start);
        l1.get_mut(&a).unwrap().insert("notes".into(), json!("one"));
        l2.get_mut(&a).unwrap().insert("group".into(), json!("two"));
        assert!(sync(&mut b1, &mut l1, &mut remote, 1, 200).is_empty());
        assert!(sync(&mut b2, &mut l2, &mut remote, 2, 210).is_empty());
        sync(&mut b1, &mut l1, &mut remote, 1, 220);
        assert_eq!(l1, l2);
        assert_eq!(l1[&a]["notes"], json!("one"));
        assert_eq!(l1[&a]["group"], json!("two"));
        // Same field on both: one conflict, the later wins, both values kept.
        l1.get_mut(&a).unwrap().insert("notes".into(), json!("mine"));
        l2.get_mut(&a).unwrap().insert("notes".into(), json!("theirs"));
        assert!(sync(&mut b1, &mut l1, &mut remote, 1, 300).is_empty());
        let c = sync(&mut b2, &mut l2, &mut remote, 2, 310);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!((c[0].local.clone(), c[0].remote.clone()), (json!("theirs"), json!("mine")));
        assert_eq!(c[0].applied, Side::Local);
        assert_eq!(l2[&a]["notes"], json!("theirs"));
    }

    #[test]
    fn a_later_edit_of_the_field_settles_its_open_conflict_everywhere() {
        let a = acc("uid:1");
        let start = values(&[(&a, &[(ALIVE, json!(true)), ("notes", json!("n")), ("group", json!("g"))])]);
        let (mut remote, mut b1, mut b2) = (Doc::default(), Doc::default(), Doc::default());
        let (mut l1, mut l2) = (start.clone(), Values::new());
        sync(&mut b1, &mut l1, &mut remote, 1, 100);
        sync(&mut b2, &mut l2, &mut remote, 2, 110);
        l1.get_mut(&a).unwrap().insert("notes".into(), json!("mine"));
        l2.get_mut(&a).unwrap().insert("notes".into(), json!("theirs"));
        sync(&mut b1, &mut l1, &mut remote, 1, 200);
        assert_eq!(sync(&mut b2, &mut l2, &mut remote, 2, 210).len(), 1);
        let open = |d: &Doc| d.conflicts.values().filter(|c| c.settled.is_none()).count();
        assert_eq!(open(&remote), 1);
        // Another field's edit leaves it open.
        l1.get_mut(&a).unwrap().insert("group".into(), json!("g2"));
        sync(&mut b1, &mut l1, &mut remote, 1, 300);
        assert_eq!(open(&remote), 1, "an edit of another field settles nothing");
        // Device 1 writes the field again, after both values: that settles it, and
        // device 2 sees it settled at its next sync.
        l1.get_mut(&a).unwrap().insert("notes".into(), json!("final"));
        assert!(sync(&mut b1, &mut l1, &mut remote, 1, 400).is_empty());
        assert_eq!(open(&remote), 0);
        sync(&mut b2, &mut l2, &mut remote, 2, 410);
        assert_eq!(open(&b2), 0);
        assert_eq!(l2[&a]["notes"], json!("final"));
    }

    #[test]
    fn delete_against_edit_is_one_record_conflict_and_the_later_wins() {
        let a = acc("uid:1");
        let start = values(&[(&a, &[(ALIVE, json!(true)), ("notes", json!("n"))])]);
        let (mut remote, mut b1, mut b2) = (Doc::default(), Doc::default(), Doc::default());
        let (mut l1, mut l2) = (start.clone(), Values::new());
        sync(&mut b1, &mut l1, &mut remote, 1, 100);
        sync(&mut b2, &mut l2, &mut remote, 2, 110);
        // Device 1 deletes, device 2 edits later: the edit wins, the record lives.
        l1.remove(&a);
        l2.get_mut(&a).unwrap().insert("notes".into(), json!("edited"));
        assert!(sync(&mut b1, &mut l1, &mut remote, 1, 200).is_empty());
        let c = sync(&mut b2, &mut l2, &mut remote, 2, 300);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].field.as_str(), c[0].applied, c[0].remote.clone()), ("", Side::Local, Value::Null));
        assert_eq!(l2[&a]["notes"], json!("edited"));
        sync(&mut b1, &mut l1, &mut remote, 1, 310);
        assert_eq!(l1[&a]["notes"], json!("edited"), "resurrected with the edit on device 1 too");
    }

    #[test]
    fn old_tombstones_are_dropped_and_still_delete_on_a_late_device() {
        let a = acc("uid:1");
        let start = values(&[(&a, &[(ALIVE, json!(true))])]);
        let (mut remote, mut b1, mut b2) = (Doc::default(), Doc::default(), Doc::default());
        let (mut l1, mut l2) = (start.clone(), Values::new());
        sync(&mut b1, &mut l1, &mut remote, 1, 100);
        sync(&mut b2, &mut l2, &mut remote, 2, 110);
        l1.remove(&a);
        sync(&mut b1, &mut l1, &mut remote, 1, 200);
        // Much later, device 1 collects the tombstone.
        let mut clock = Clock::new(1, 10_000);
        let l = local_doc(&b1, &l1, &Edits::default(), &mut clock);
        let m = merge(&b1, &l, &remote, &mut clock, 5_000);
        assert!(!m.doc.records.contains_key(&a));
        remote = m.doc;
        sync(&mut b2, &mut l2, &mut remote, 2, 10_010);
        assert!(!l2.contains_key(&a), "not resurrected by the device that missed the deletion");
    }

    #[test]
    fn an_edit_keeps_the_time_it_was_made_not_the_time_it_synced() {
        let a = acc("uid:1");
        let start = values(&[(&a, &[(ALIVE, json!(true)), ("notes", json!("n"))])]);
        let mut remote = Doc::default();
        let mut clock = Clock::new(1, 100);
        let base = local_doc(&Doc::default(), &start, &Edits::default(), &mut clock);
        remote.clone_from(&base);
        // Device 1 edits at 200, device 2 at 300; device 2 syncs first (at 310), device 1
        // late (at 900): device 2's newer edit wins and device 1's is the conflict.
        let journal = |ms| Edits {
            journal: Journal::from([(a.clone(), [("notes".to_string(), ms)].into())]),
            ..Default::default()
        };
        let edit = |v: &str| values(&[(&a, &[(ALIVE, json!(true)), ("notes", json!(v))])]);
        let mut c2 = Clock::new(2, 310);
        c2.observe_doc(&base);
        let mine2 = local_doc(&base, &edit("two"), &journal(300), &mut c2);
        assert_eq!(mine2.records[&a]["notes"].s, Stamp { ms: 300, c: 0, dev: 2 });
        let m2 = merge(&base, &mine2, &remote, &mut c2, 0);
        remote = m2.doc;
        let mut c1 = Clock::new(1, 900);
        c1.observe_doc(&base);
        let mine1 = local_doc(&base, &edit("one"), &journal(200), &mut c1);
        c1.observe_doc(&remote);
        let m1 = merge(&base, &mine1, &remote, &mut c1, 0);
        assert_eq!(m1.doc.records[&a]["notes"].v, json!("two"));
        assert_eq!(m1.conflicts.len(), 1);
        assert_eq!((m1.conflicts[0].local.clone(), m1.conflicts[0].applied), (json!("one"), Side::Remote));
        // A wall clock behind what the device had seen still stamps after it.
        let mut behind = Clock::new(3, 50);
        behind.observe_doc(&remote);
        let s = behind.at(40);
        assert!(s > remote.records[&a]["notes"].s && s.dev == 3, "{s:?}");
        assert!(behind.tick() > s);
    }

    #[test]
    fn a_default_nobody_set_yields_and_differing_written_values_conflict() {
        let a = acc("uid:1");
        let set = values(&[(&a, &[(ALIVE, json!(true)), ("notes", json!("set")), ("group", json!("g1"))])]);
        let default = values(&[(&a, &[(ALIVE, json!(true)), ("notes", json!("")), ("group", json!("g2"))])]);
        // Device 1 wrote its notes (journaled); device 2 inserted the account (its notes
        // left at the default) and neither group value has a known time.
        let j1 = Journal::from([(a.clone(), [("notes".to_string(), 500)].into())]);
        let mut c1 = Clock::new(1, 600);
        let remote = local_doc(&Doc::default(), &set, &Edits { journal: j1, ..Default::default() }, &mut c1);
        let mut c2 = Clock::new(2, 700);
        let defaults = values(&[(&a, &[("notes", json!("")), ("group", json!(""))])]);
        let j2 = Journal::from([(a.clone(), [("*".to_string(), 650)].into())]);
        let mine =
            local_doc(&Doc::default(), &default, &Edits { journal: j2, defaults, ..Default::default() }, &mut c2);
        assert_eq!(mine.records[&a]["notes"].s.ms, UNKNOWN_MS, "a default is not an edit");
        assert_eq!(mine.records[&a]["group"].s.ms, 650, "a value given when inserted is");
        let m = merge(&Doc::default(), &mine, &remote, &mut c2, 0);
        assert_eq!(m.doc.records[&a]["notes"].v, json!("set"));
        let fields: Vec<&str> = m.conflicts.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["group"], "differing written values conflict");
        assert_eq!(m.doc.conflicts.len(), 1, "kept in the document for every device");
    }

    #[test]
    fn clock_ticks_past_what_it_saw() {
        let mut c = Clock::new(7, 100);
        c.observe(Stamp { ms: 500, c: 3, dev: 1 });
        let s = c.tick();
        assert!(s > Stamp { ms: 500, c: 3, dev: 1 });
        assert_eq!(s.dev, 7);
        assert!(c.tick() > s);
        assert_eq!(
            RecordKey::parse(&acc("user:a\u{1f}b")),
            Some(RecordKey::Account("https://x".into(), "user:a\u{1f}b".into()))
        );
        let key = RecordKey::Key("https://x".into(), "uid:1".into(), 42);
        assert_eq!(RecordKey::parse(&key.text()), Some(key));
    }
}

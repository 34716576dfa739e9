//! The one safe writer every file target shares.
//!
//! A target plans a [`Preview`]: for each file, its bytes now (read once, after the symlink
//! check) and the bytes it should hold. [`apply`] then, for the whole preview:
//! 1. refuses when a path holds a symbolic link (between the file and its anchor folder)
//!    or a file no longer hashes to what the preview read;
//! 2. per file: saves `<file>.bak.<epoch-ms>` (mode 0600) first, writes a temp file in the
//!    same folder, gives it the old file's permissions (new files: 0600), fsyncs, renames
//!    it over the file (retrying a busy rename, as Windows locks files);
//! 3. when a later file fails, restores the ones already written;
//! 4. records the write in the journal so [`plan_undo`] can put the earlier bytes back.
//!
//! Undo is itself a preview (current → earlier bytes, or removal of a file the write
//! created) applied by the same writer, and refused when the file changed after our write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ExportError;

/// Largest file a target will read (config files are small; anything bigger is not one).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The journal of a data dir: `<data dir>/exports/journal.json` (the CLI and the window share it).
pub fn journal_in(data_dir: &Path) -> PathBuf {
    data_dir.join("exports").join("journal.json")
}

/// How many writes the journal remembers.
pub const JOURNAL_MAX_ENTRIES: usize = 100;

/// One file of a preview.
#[derive(Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The file.
    pub path: PathBuf,
    /// Where the symlink check stops: the user's home, the project folder, or a folder an
    /// environment variable names (the user's explicit choice).
    pub anchor: PathBuf,
    /// The bytes now (None: the file does not exist).
    pub before: Option<Vec<u8>>,
    /// The bytes to write (None: remove the file — only undo of a file a write created).
    pub after: Option<Vec<u8>>,
}

impl std::fmt::Debug for FileChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileChange")
            .field("path", &self.path)
            .field("before_bytes", &self.before.as_ref().map(Vec::len))
            .field("after_bytes", &self.after.as_ref().map(Vec::len))
            .finish()
    }
}

impl FileChange {
    /// Whether writing it would change anything.
    pub fn is_change(&self) -> bool {
        self.before != self.after
    }
}

/// What a target would do: the files, notes for the user, and the secrets to mask in
/// anything shown.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// The target's name (`claude-code`), or `undo <target>`.
    pub target: String,
    /// The files, in write order.
    pub changes: Vec<FileChange>,
    /// Warnings and remarks (stale variables kept, model not available…).
    pub notes: Vec<String>,
    /// Values to mask in diffs (the new key, old keys replaced).
    pub secrets: Vec<String>,
    /// The journal entry this preview undoes.
    pub(crate) undo_of: Option<String>,
}

impl Preview {
    /// A preview of `target` with no files yet.
    pub fn new(target: &str) -> Preview {
        Preview { target: target.to_string(), ..Preview::default() }
    }

    /// Whether applying would change no file.
    pub fn is_noop(&self) -> bool {
        !self.changes.iter().any(FileChange::is_change)
    }

    /// A unified diff of every changed file (`/dev/null` for created or removed files),
    /// secrets masked.
    pub fn unified_diff(&self) -> String {
        let mut out = String::new();
        for c in self.changes.iter().filter(|c| c.is_change()) {
            let old = String::from_utf8_lossy(c.before.as_deref().unwrap_or_default()).into_owned();
            let new = String::from_utf8_lossy(c.after.as_deref().unwrap_or_default()).into_owned();
            let shown = c.path.display().to_string();
            let a = if c.before.is_some() { shown.clone() } else { "/dev/null".into() };
            let b = if c.after.is_some() { shown } else { "/dev/null".into() };
            let (input, diff) = line_diff(&old, &new);
            out.push_str(&format!("--- {a}\n+++ {b}\n"));
            unified_hunks(&mut out, &input, &diff, 3);
        }
        self.mask(&out)
    }

    /// One file's change as side-by-side rows (the GUI's diff dialog), secrets masked: equal
    /// lines on both sides, a removed run beside the added run that replaces it.
    pub fn side_by_side(&self, change: &FileChange) -> Vec<DiffRow> {
        let old = self.mask(&String::from_utf8_lossy(change.before.as_deref().unwrap_or_default()));
        let new = self.mask(&String::from_utf8_lossy(change.after.as_deref().unwrap_or_default()));
        let (input, diff) = line_diff(&old, &new);
        let line = |t: imara_diff::Token| input.interner[t].trim_end_matches(['\n', '\r']).to_string();
        let mut rows = Vec::new();
        // Equal lines, from `old` line `i` and `new` line `j` (0-based), up to `old` line `to`.
        let equal = |rows: &mut Vec<DiffRow>, i: &mut u32, j: &mut u32, to: u32| {
            while *i < to {
                let text = line(input.before[*i as usize]);
                rows.push(DiffRow { old: Some((*i as usize + 1, text.clone())), new: Some((*j as usize + 1, text)) });
                (*i, *j) = (*i + 1, *j + 1);
            }
        };
        let (mut i, mut j) = (0, 0);
        for hunk in diff.hunks() {
            equal(&mut rows, &mut i, &mut j, hunk.before.start);
            // A removed run beside the added run that replaces it.
            let (mut r, mut a) = (hunk.before.clone(), hunk.after.clone());
            for _ in 0..r.len().max(a.len()) {
                rows.push(DiffRow {
                    old: r.next().map(|k| (k as usize + 1, line(input.before[k as usize]))),
                    new: a.next().map(|k| (k as usize + 1, line(input.after[k as usize]))),
                });
            }
            (i, j) = (hunk.before.end, hunk.after.end);
        }
        equal(&mut rows, &mut i, &mut j, input.before.len() as u32);
        rows
    }

    /// `text` with every secret of this preview masked (`sk-abc…xyz`).
    pub fn mask(&self, text: &str) -> String {
        let mut secrets: Vec<&String> = self.secrets.iter().filter(|s| s.len() >= 8).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = text.to_string();
        for s in secrets {
            out = out.replace(s.as_str(), &crate::logging::mask_secret(s));
        }
        out
    }
}

/// The line diff of `old` → `new` (lines keep their endings): histogram, with the slider
/// heuristic that puts a changed run where a reader expects it (imara-diff: one algorithm
/// instantiated, about a twentieth of the code `similar`'s `TextDiff` brought in).
fn line_diff<'a>(old: &'a str, new: &'a str) -> (imara_diff::InternedInput<&'a str>, imara_diff::Diff) {
    let input = imara_diff::InternedInput::new(old, new);
    let mut diff = imara_diff::Diff::compute(imara_diff::Algorithm::Histogram, &input);
    diff.postprocess_lines(&input);
    (input, diff)
}

/// Appends the unified-diff hunks of a line diff to `out`, as GNU `diff -u` writes them:
/// `context` equal lines around each change, changes closer than twice that in one hunk,
/// "@@ -start,len +start,len @@" (1-based; an empty range starts at the line before it; a
/// length of 1 left out), and "\ No newline at end of file" after a last line without one.
/// Not imara-diff's own printer: 0.2.0 starts a first hunk's context at line 1 when the
/// change is near the top, below a header that says it starts later.
fn unified_hunks(out: &mut String, input: &imara_diff::InternedInput<&str>, diff: &imara_diff::Diff, context: u32) {
    let hunks: Vec<imara_diff::Hunk> = diff.hunks().collect();
    let range = |start: u32, len: u32| match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    };
    let line = |out: &mut String, mark: char, token: imara_diff::Token| {
        let text = input.interner[token];
        out.push(mark);
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    };
    let mut k = 0;
    while k < hunks.len() {
        let mut last = k;
        while last + 1 < hunks.len() && hunks[last + 1].before.start - hunks[last].before.end <= 2 * context {
            last += 1;
        }
        let (first, end) = (&hunks[k], &hunks[last]);
        // The lines around a group are equal on both sides: as many on the new side.
        let lead = first.before.start.min(context);
        let trail = (input.before.len() as u32 - end.before.end).min(context);
        let (b0, a0) = (first.before.start - lead, first.after.start - lead);
        let (b1, a1) = (end.before.end + trail, end.after.end + trail);
        out.push_str(&format!("@@ -{} +{} @@\n", range(b0, b1 - b0), range(a0, a1 - a0)));
        let mut at = b0;
        for h in &hunks[k..=last] {
            for i in at..h.before.start {
                line(out, ' ', input.before[i as usize]);
            }
            for i in h.before.clone() {
                line(out, '-', input.before[i as usize]);
            }
            for i in h.after.clone() {
                line(out, '+', input.after[i as usize]);
            }
            at = h.before.end;
        }
        for i in at..b1 {
            line(out, ' ', input.before[i as usize]);
        }
        k = last + 1;
    }
}

/// A line with its 1-based number.
pub type NumberedLine = (usize, String);

/// One row of a side-by-side diff: `(line number, text)` on each side; a side is None
/// where the other side's line was added or removed. Equal rows have the same text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow {
    /// The line before (1-based number, text).
    pub old: Option<NumberedLine>,
    /// The line after.
    pub new: Option<NumberedLine>,
}

impl DiffRow {
    /// Whether both sides hold the same line.
    pub fn is_equal(&self) -> bool {
        matches!((&self.old, &self.new), (Some((_, a)), Some((_, b))) if a == b)
    }
}

/// Reads a file for a preview: None when missing; symlinks between it and `anchor`,
/// folders and oversized files refused.
pub fn read_file(path: &Path, anchor: &Path) -> Result<Option<Vec<u8>>, ExportError> {
    check_symlinks(path, anchor)?;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        // A file where a folder should be: the file does not exist (writing it will fail
        // with a clear "cannot create the folder").
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
            return Ok(None);
        }
        Err(e) => return Err(ExportError::io("read", path, e)),
    };
    if !meta.is_file() {
        return Err(ExportError::NotAFile { path: path.to_path_buf() });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ExportError::Shape {
            path: path.to_path_buf(),
            message: format!("over {} MiB: not a config file", MAX_FILE_BYTES / (1024 * 1024)),
        });
    }
    std::fs::read(path).map(Some).map_err(|e| ExportError::io("read", path, e))
}

/// Refuses a symbolic link at `path` or at any folder between it and `anchor` (the
/// anchor itself and its parents are not checked).
pub fn check_symlinks(path: &Path, anchor: &Path) -> Result<(), ExportError> {
    let mut cur = Some(path);
    while let Some(p) = cur {
        if p != path && (p == anchor || !p.starts_with(anchor)) {
            break;
        }
        if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(ExportError::Symlink { path: p.to_path_buf() });
        }
        cur = p.parent();
    }
    Ok(())
}

/// Hex SHA-256 of the bytes (None for a missing file).
fn digest(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| format!("{:x}", Sha256::digest(b)))
}

/// One file a write touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// Its earlier content (None: the file did not exist before).
    pub backup: Option<PathBuf>,
    /// Whether the file was removed (undo of a created file).
    pub removed: bool,
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// The files written, in order.
    pub files: Vec<Written>,
    /// Set when the files were written but the journal could not be (undo unavailable).
    pub journal_warning: Option<String>,
}

/// Writes a preview (see the module docs). `journal`: where writes are recorded for undo
/// (None: not recorded). Every error leaves every file as it was.
pub fn apply(preview: &Preview, journal: Option<&Path>) -> Result<Applied, ExportError> {
    for c in &preview.changes {
        let now = read_file(&c.path, &c.anchor)?;
        if digest(now.as_deref()) != digest(c.before.as_deref()) {
            return Err(ExportError::Changed { path: c.path.clone() });
        }
    }
    let stamp = crate::domain::time::utc_now().timestamp_millis();
    let mut done: Vec<(Written, &FileChange)> = Vec::new();
    for c in preview.changes.iter().filter(|c| c.is_change()) {
        match write_one(c, stamp) {
            Ok(w) => done.push((w, c)),
            Err(e) => {
                roll_back(&done);
                return Err(e);
            }
        }
    }
    let files: Vec<Written> = done.into_iter().map(|(w, _)| w).collect();
    for w in &files {
        log::info!("{}: wrote {}", preview.target, w.path.display());
    }
    let mut applied = Applied { files, journal_warning: None };
    if let Some(j) = journal
        && !applied.files.is_empty()
        && let Err(e) = record(j, preview, &applied.files)
    {
        applied.journal_warning = Some(format!("the files were written, but undo is unavailable: {e}"));
    }
    Ok(applied)
}

fn write_one(c: &FileChange, stamp: i64) -> Result<Written, ExportError> {
    check_symlinks(&c.path, &c.anchor)?;
    let backup = match &c.before {
        Some(bytes) => Some(write_backup(&c.path, bytes, stamp)?),
        None => None,
    };
    match &c.after {
        Some(bytes) => write_atomic(&c.path, bytes)?,
        None => std::fs::remove_file(&c.path).map_err(|e| ExportError::io("remove", &c.path, e))?,
    }
    Ok(Written { path: c.path.clone(), backup, removed: c.after.is_none() })
}

/// Puts back the files already written when a later one failed (best effort, logged).
fn roll_back(done: &[(Written, &FileChange)]) {
    for (w, c) in done.iter().rev() {
        let r = match &c.before {
            Some(bytes) => write_atomic(&c.path, bytes),
            None => std::fs::remove_file(&c.path).map_err(|e| ExportError::io("remove", &c.path, e)),
        };
        if let Err(e) = r {
            log::warn!(
                "could not restore {} after a failed write: {e} (earlier content: {:?})",
                w.path.display(),
                w.backup
            );
        }
    }
}

fn write_backup(path: &Path, bytes: &[u8], stamp: i64) -> Result<PathBuf, ExportError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    for n in 0..100 {
        let suffix = if n == 0 { String::new() } else { format!("-{n}") };
        let bak = dir.join(format!("{name}.bak.{stamp}{suffix}"));
        match open_new(&bak) {
            Ok(mut f) => {
                let r = f.write_all(bytes).and_then(|()| f.sync_all());
                if let Err(e) = r {
                    let _ = std::fs::remove_file(&bak);
                    return Err(ExportError::io("back up to", &bak, e));
                }
                return Ok(bak);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ExportError::io("back up to", &bak, e)),
        }
    }
    Err(ExportError::io("back up", path, std::io::Error::other("too many backups this millisecond")))
}

/// A new file, readable only by the user on Unix.
fn open_new(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

fn create_dirs(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: a temp file in the same folder with the existing
/// file's permissions (0600 for a new file), fsynced, renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_dirs(dir).map_err(|e| ExportError::io("create the folder", dir, e))?;
    let perms = std::fs::metadata(path).ok().map(|m| m.permissions());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.apihub-{}-{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = open_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if let Some(p) = perms {
            std::fs::set_permissions(&tmp, p)?;
        }
        rename_retrying(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(ExportError::io("write", path, e));
    }
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Renames, retrying a few times when the target is busy (Windows: an editor or antivirus
/// holding the file; `EACCES`, `EBUSY`, `EPERM`).
fn rename_retrying(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut delay_ms = 25;
    loop {
        match std::fs::rename(from, to) {
            Ok(()) => return Ok(()),
            Err(e) if delay_ms <= 400 && cfg!(windows) && is_busy(&e) => {
                std::thread::sleep(std::time::Duration::from_millis(delay_ms));
                delay_ms *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

fn is_busy(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ResourceBusy)
}

// ---------------------------------------------------------------------------------------
// Journal and undo

/// One recorded write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Unique id (epoch ms + counter).
    pub id: String,
    /// The target (`claude-code`).
    pub target: String,
    /// When, unix seconds.
    pub at_unix: i64,
    /// The files, in write order.
    pub files: Vec<JournalFile>,
}

/// One file of a recorded write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalFile {
    /// The file.
    pub path: PathBuf,
    /// Where its symlink check stops.
    pub anchor: PathBuf,
    /// Its earlier content (None: the write created it).
    pub backup: Option<PathBuf>,
    /// SHA-256 of what the write left (None: the write removed it).
    pub after_sha256: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Journal {
    version: u32,
    entries: Vec<JournalEntry>,
}

fn load_journal(path: &Path) -> Result<Journal, ExportError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| ExportError::Parse { path: path.to_path_buf(), message: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Journal { version: 1, entries: Vec::new() }),
        Err(e) => Err(ExportError::io("read", path, e)),
    }
}

fn save_journal(path: &Path, j: &Journal) -> Result<(), ExportError> {
    let bytes = serde_json::to_vec_pretty(j).map_err(|e| ExportError::Invalid(e.to_string()))?;
    write_atomic(path, &bytes)
}

fn record(journal: &Path, preview: &Preview, files: &[Written]) -> Result<(), ExportError> {
    let mut j = match load_journal(journal) {
        Ok(j) => j,
        Err(ExportError::Parse { .. }) => {
            // A damaged journal is moved aside, never silently dropped.
            let aside =
                journal.with_extension(format!("json.corrupt-{}", crate::domain::time::utc_now().timestamp_millis()));
            std::fs::rename(journal, &aside).map_err(|e| ExportError::io("move aside", journal, e))?;
            log::warn!("export journal was damaged; moved to {}", aside.display());
            Journal { version: 1, entries: Vec::new() }
        }
        Err(e) => return Err(e),
    };
    match &preview.undo_of {
        Some(id) => j.entries.retain(|e| &e.id != id),
        None => {
            let changes: Vec<&FileChange> = preview.changes.iter().filter(|c| c.is_change()).collect();
            let entry = JournalEntry {
                id: format!(
                    "{}-{}",
                    crate::domain::time::utc_now().timestamp_millis(),
                    TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
                ),
                target: preview.target.clone(),
                at_unix: crate::domain::time::now_unix(),
                files: files
                    .iter()
                    .zip(changes)
                    .map(|(w, c)| JournalFile {
                        path: w.path.clone(),
                        anchor: c.anchor.clone(),
                        backup: w.backup.clone(),
                        after_sha256: digest(c.after.as_deref()),
                    })
                    .collect(),
            };
            j.entries.push(entry);
            let excess = j.entries.len().saturating_sub(JOURNAL_MAX_ENTRIES);
            j.entries.drain(..excess);
        }
    }
    j.version = 1;
    save_journal(journal, &j)
}

/// The recorded writes, oldest first.
pub fn journal_entries(journal: &Path) -> Result<Vec<JournalEntry>, ExportError> {
    Ok(load_journal(journal)?.entries)
}

/// Plans the undo of the last recorded write (of `target`, when given): each file back to
/// its backup, a file the write created removed. Refused when a file changed after that
/// write. Apply it with [`apply`] and the same journal (the entry is then dropped).
pub fn plan_undo(journal: &Path, target: Option<&str>) -> Result<Preview, ExportError> {
    let j = load_journal(journal)?;
    let entry = j
        .entries
        .iter()
        .rev()
        .find(|e| target.is_none_or(|t| e.target == t))
        .ok_or_else(|| ExportError::NothingToUndo(target.map(|t| format!(" for {t}")).unwrap_or_default()))?;
    let mut p = Preview::new(&format!("undo {}", entry.target));
    p.undo_of = Some(entry.id.clone());
    for f in entry.files.iter().rev() {
        let now = read_file(&f.path, &f.anchor)?;
        if digest(now.as_deref()) != f.after_sha256 {
            let backup = f
                .backup
                .as_ref()
                .map(|b| b.display().to_string())
                .unwrap_or_else(|| "nowhere: the file did not exist before".into());
            return Err(ExportError::UndoConflict { path: f.path.clone(), backup });
        }
        let after = match &f.backup {
            Some(b) => Some(std::fs::read(b).map_err(|e| ExportError::io("read the backup", b, e))?),
            None => None,
        };
        for text in [now.as_deref(), after.as_deref()].into_iter().flatten() {
            p.secrets.extend(token_like(&String::from_utf8_lossy(text)));
        }
        p.changes.push(FileChange { path: f.path.clone(), anchor: f.anchor.clone(), before: now, after });
    }
    Ok(p)
}

/// Words that look like keys (`sk-…`, or 32+ letters and digits with both), to mask in a
/// diff whose secrets are not known (undo).
pub fn token_like(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| {
            (w.starts_with("sk-") && w.len() >= 12)
                || (w.len() >= 32
                    && w.chars().any(|c| c.is_ascii_digit())
                    && w.chars().any(|c| c.is_ascii_alphabetic()))
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_masks_secrets_and_marks_new_files() {
        let mut p = Preview::new("t");
        p.changes.push(FileChange {
            path: "/x/a.json".into(),
            anchor: "/x".into(),
            before: None,
            after: Some(b"{\"k\": \"sk-0123456789abcdef\"}\n".to_vec()),
        });
        p.secrets.push("sk-0123456789abcdef".into());
        let d = p.unified_diff();
        assert!(d.contains("--- /dev/null"), "{d}");
        assert!(d.contains("+++ /x/a.json"), "{d}");
        assert!(!d.contains("0123456789abcdef"), "{d}");
        assert!(d.contains("sk-012…def"), "{d}");
    }

    #[test]
    fn the_unified_diff_has_headers_hunks_and_context() {
        let mut p = Preview::new("t");
        let lines: String = (1..=10).map(|i| format!("l{i}\n")).collect();
        p.changes.push(FileChange {
            path: "/x/c.toml".into(),
            anchor: "/x".into(),
            before: Some(lines.as_bytes().to_vec()),
            after: Some(lines.replace("l5\n", "L5\nL5b\n").replace("l10\n", "l10").into_bytes()),
        });
        let d = p.unified_diff();
        assert_eq!(
            d,
            "--- /x/c.toml\n+++ /x/c.toml\n@@ -2,9 +2,10 @@\n l2\n l3\n l4\n-l5\n+L5\n+L5b\n l6\n l7\n l8\n l9\n-l10\n+l10\n\\ No newline at end of file\n"
        );
        let twenty: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        p.changes[0].before = Some(twenty.clone().into_bytes());
        p.changes[0].after = Some(twenty.replace("l2\n", "X2\n").replace("l18\n", "X18\n").into_bytes());
        assert_eq!(
            p.unified_diff(),
            "--- /x/c.toml\n+++ /x/c.toml\n@@ -1,5 +1,5 @@\n l1\n-l2\n+X2\n l3\n l4\n l5\n\
             @@ -15,6 +15,6 @@\n l15\n l16\n l17\n-l18\n+X18\n l19\n l20\n",
            "changes far apart are two hunks, as `diff -u` writes them"
        );
        p.changes[0].before = None;
        p.changes[0].after = Some(b"a\n".to_vec());
        assert_eq!(p.unified_diff(), "--- /dev/null\n+++ /x/c.toml\n@@ -0,0 +1 @@\n+a\n");
        p.changes[0].before = p.changes[0].after.clone();
        assert_eq!(p.unified_diff(), "", "an unchanged file has no diff");
    }

    #[test]
    fn side_by_side_pairs_replaced_lines() {
        let mut p = Preview::new("t");
        let c = FileChange {
            path: "/x/a".into(),
            anchor: "/x".into(),
            before: Some(b"a\nb\nc\n".to_vec()),
            after: Some(b"a\nB\nB2\nc\n".to_vec()),
        };
        p.changes.push(c.clone());
        let rows = p.side_by_side(&c);
        let show: Vec<(Option<usize>, Option<usize>, bool)> =
            rows.iter().map(|r| (r.old.as_ref().map(|o| o.0), r.new.as_ref().map(|n| n.0), r.is_equal())).collect();
        assert_eq!(
            show,
            [(Some(1), Some(1), true), (Some(2), Some(2), false), (None, Some(3), false), (Some(3), Some(4), true)]
        );
        assert_eq!(rows[1].old.as_ref().map(|o| o.1.as_str()), Some("b"));
        assert_eq!(rows[1].new.as_ref().map(|n| n.1.as_str()), Some("B"));
    }
}

//! Issue 13, "never lose the user's data": a damaged store or key file, backups that
//! survive, honest exit codes, input validation, secrets off the command line. Most
//! tests run the real `apihub` binary on a data dir, as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_relay;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::Store;

/// Exit code of a damaged data file (README, `--help`).
const EXIT_DAMAGED: i32 = 3;
/// Exit code of a missing, damaged or wrong key.
const EXIT_KEY: i32 = 4;

fn apihub(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    c.env("APIHUB_LOG", "off").env("NO_PROXY", "127.0.0.1").env_remove("APIHUB_RELEASES_URL");
    c.arg("--data-dir").arg(dir);
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    apihub(dir).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "exit {:?}; stderr: {}", o.status.code(), stderr(&o));
    stdout(&o)
}

fn account(i: usize) -> NewAccount {
    NewAccount {
        site_url: format!("https://site{i}.example"),
        site_name: format!("Site {i}"),
        kind: SiteKind::NewApi,
        user_id: (100 + i).to_string(),
        username: format!("user{i}"),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some(format!("token-{i}")), ..Default::default() },
    }
}

/// A data dir holding `n` accounts with credentials.
fn seeded(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap().store;
    for i in 0..n {
        s.upsert_account(&account(i)).unwrap();
    }
    dir
}

fn backups(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("backups"))
        .map(|r| r.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn account_count(dir: &Path) -> usize {
    Store::open(dir).unwrap().store.list_accounts().unwrap().len()
}

fn remove_side_files(db: &Path) {
    for s in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
}

/// The command after "restore it with: " in a damaged-store message.
fn restore_command(line: &str) -> Vec<String> {
    let cmd = line.split("restore it with: ").nth(1).unwrap_or_else(|| panic!("no restore command in: {line}"));
    let cmd = cmd.lines().next().unwrap().trim();
    shell_words(cmd)
}

/// Splits a command line the way a POSIX shell would for plain and single-quoted words.
fn shell_words(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in s.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Finding 1: a 0-byte data file is damage, not a new empty store; the good backup
/// beside it is named with the exact command that restores it.
#[test]
fn an_empty_data_file_is_reported_with_the_backup_and_the_restore_command() {
    let dir = seeded(3);
    ok(run(dir.path(), &["backup", "create", "--without-secrets"]));
    let good = backups(dir.path());
    assert_eq!(good.len(), 1);
    let db = dir.path().join("apihub.db");
    std::fs::write(&db, b"").unwrap();
    remove_side_files(&db);

    let out = run(dir.path(), &["accounts", "list"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "stderr: {}", stderr(&out));
    assert!(!stdout(&out).contains("no accounts"), "an empty store was shown: {}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(&db.display().to_string()), "names the file: {err}");
    assert!(err.contains(&good[0]), "names the good backup: {err}");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "the damaged file is left as it was");

    // The printed command restores it.
    let cmd = restore_command(&err);
    assert_eq!(cmd[0], "apihub");
    let said =
        ok(Command::new(env!("CARGO_BIN_EXE_apihub")).env("APIHUB_LOG", "off").args(&cmd[1..]).output().unwrap());
    assert!(said.contains("3 accounts"), "{said}");
    assert_eq!(account_count(dir.path()), 3);
}

/// Finding 2: a damaged file is not replaced by an empty store, and later backups do
/// not evict the only good backup.
#[test]
fn a_damaged_data_file_keeps_failing_and_the_good_backup_survives() {
    let dir = seeded(30);
    ok(run(dir.path(), &["backup", "create", "--without-secrets"]));
    let good = backups(dir.path());
    let db = dir.path().join("apihub.db");
    let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.set_len(8192).unwrap();
    drop(f);
    remove_side_files(&db);
    for _ in 0..12 {
        let out = run(dir.path(), &["backup", "create", "--without-secrets"]);
        assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "stderr: {}", stderr(&out));
    }
    let now = backups(dir.path());
    assert!(now.contains(&good[0]), "the good backup was evicted: {now:?}");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 8192, "the damaged file is untouched");
    let out = run(dir.path(), &["accounts", "list"]);
    let err = stderr(&out);
    assert!(err.contains("copy is kept at"), "{err}");
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("apihub.db.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "one kept copy however often it is opened");
}

/// Finding 3 (and "a wrong key never leads to a new key being written"): a missing or
/// replaced key file stops every command with a distinct code; no new key is made; the
/// old key put back makes everything work again.
#[test]
fn a_missing_or_wrong_key_stops_commands_and_no_new_key_is_written() {
    let dir = seeded(2);
    let key = dir.path().join("secret.key");
    let old = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    for args in [&["refresh", "--json"][..], &["backup", "create", "--without-secrets"], &["accounts", "list"]] {
        let out = run(dir.path(), args);
        assert_eq!(out.status.code(), Some(EXIT_KEY), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&key.display().to_string()) && err.contains("missing"), "{err}");
        assert!(!key.exists(), "{args:?} wrote a new key over a store with encrypted secrets");
    }
    assert!(backups(dir.path()).is_empty(), "no backup without credentials was written");

    std::fs::write(&key, [7u8; 32]).unwrap();
    let out = run(dir.path(), &["refresh", "--json"]);
    assert_eq!(out.status.code(), Some(EXIT_KEY), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not match"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&key).unwrap(), [7u8; 32], "the wrong key file is left alone");

    std::fs::write(&key, &old).unwrap();
    assert!(ok(run(dir.path(), &["accounts", "list"])).contains("user1"));
}

/// Finding 5: a file where the data folder should be, a folder where the key file
/// should be, a missing data dir for a read-only command: one line naming the path.
#[test]
fn wrong_kinds_of_paths_are_named_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("afile");
    std::fs::write(&file, "x").unwrap();
    let out = run(&file, &["accounts", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&file.display().to_string()) && err.contains("is a file, not a folder"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let dir = seeded(1);
    let key = dir.path().join("secret.key");
    std::fs::remove_file(&key).unwrap();
    std::fs::create_dir(&key).unwrap();
    let out = run(dir.path(), &["accounts", "list"]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.contains(&key.display().to_string()) && err.contains("is a folder"), "{err}");

    let missing = tmp.path().join("nothing-here");
    let out = run(&missing, &["accounts", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("no data dir at {}", missing.display())), "{}", stderr(&out));
    assert!(!missing.exists(), "a read-only command created the data dir");
    let out = run(&missing, &["accounts", "add", "--url", "https://a.example", "--api-key", "sk-abc", "--no-verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("created data dir {}", missing.display())), "{}", stderr(&out));
}

/// Finding 5: a data dir the user cannot write to is named with the cause.
#[cfg(unix)]
#[test]
fn a_read_only_data_dir_is_named_with_the_cause() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = apihub(&dir);
    cmd.args(["accounts", "add", "--url", "https://a.example", "--api-key", "sk-abc", "--no-verify"]);
    // Root ignores permission bits: run as nobody then.
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&dir.display().to_string()) && err.contains("read-only"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Finding 6: a wrong type in an imported record skips it, counted with the reason.
#[test]
fn an_imported_record_with_a_number_for_its_url_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aah.json");
    std::fs::write(
        &file,
        serde_json::json!({"version": "2.0", "accounts": {"accounts": [
            {"id": "a1", "site_url": 12345, "site_name": "bogus", "site_type": "new-api",
             "account_info": {"id": 1, "access_token": "tok", "username": "u"}},
            {"id": "a2", "site_url": "https://good.example", "site_name": "good", "site_type": "new-api",
             "account_info": {"id": 2, "access_token": "tok2", "username": "v"}}]}})
        .to_string(),
    )
    .unwrap();
    let data = dir.path().join("data");
    let said = ok(run(&data, &["import", file.to_str().unwrap()]));
    assert!(said.contains("1 records skipped"), "{said}");
    assert!(said.contains("site_url"), "the reason names the field: {said}");
    let s = Store::open(&data).unwrap().store;
    let urls: Vec<String> = s.list_accounts().unwrap().into_iter().map(|a| a.site.url).collect();
    assert_eq!(urls, ["https://good.example"]);
}

/// Re-importing an identical file changes nothing and says "unchanged".
#[test]
fn re_importing_an_identical_file_reports_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/aah-v2.json");
    let first = ok(run(dir.path(), &["import", file.to_str().unwrap()]));
    assert!(first.contains("2 added"), "{first}");
    let before = backups(dir.path());
    let second = ok(run(dir.path(), &["import", file.to_str().unwrap()]));
    assert!(second.contains("0 added, 0 updated, 2 unchanged"), "{second}");
    assert_eq!(backups(dir.path()), before, "nothing written, so no safety copy either");
}

/// Finding 7: `accounts add` refuses what is not a usable site URL or token.
#[test]
fn accounts_add_refuses_bad_urls_and_empty_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("https://{}.example", "a".repeat(10_000));
    let cases: Vec<Vec<&str>> = vec![
        vec!["--url", "ftp://files.example", "--api-key", "sk-1"],
        vec!["--url", &long, "--api-key", "sk-1"],
        vec!["--url", "https://x.example/%00", "--api-key", "sk-1"],
        vec!["--url", "https://x.example/a\tb", "--api-key", "sk-1"],
        vec!["--url", "http://user:pw@host.example", "--api-key", "sk-1"],
        vec!["--url", "https://e.example", "--token", "", "--user-id", "1"],
        vec!["--url", "https://e.example", "--token", "a b", "--user-id", "1"],
        vec!["--url", "https://e.example", "--api-key", "  "],
    ];
    for case in cases {
        let mut args = vec!["accounts", "add", "--no-verify", "--kind", "new-api"];
        args.extend(case.iter().copied());
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{case:?} accepted: {}", stdout(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
        assert!(!stderr(&out).contains("pw@"), "the password is not echoed: {}", stderr(&out));
    }
    assert_eq!(account_count(dir.path()), 0);
}

/// Finding 8: secrets from an environment variable or stdin instead of the command line.
#[test]
fn secrets_come_from_the_environment_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    ok(apihub(dir.path())
        .env("MY_TOKEN", "env-token-123")
        .args(["accounts", "add", "--no-verify", "--kind", "new-api", "--url", "https://a.example"])
        .args(["--token-env", "MY_TOKEN", "--user-id", "7"])
        .output()
        .unwrap());
    let mut child = apihub(dir.path())
        .args(["accounts", "add", "--no-verify", "--kind", "new-api", "--url", "https://b.example"])
        .args(["--api-key", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"sk-from-stdin\n").unwrap();
    ok(child.wait_with_output().unwrap());
    let out = apihub(dir.path())
        .args(["accounts", "add", "--no-verify", "--url", "https://c.example", "--cookie-env", "UNSET_VAR_X"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("UNSET_VAR_X"), "{}", stderr(&out));

    let s = Store::open(dir.path()).unwrap().store;
    let accs = s.list_accounts().unwrap();
    assert_eq!(accs.len(), 2);
    let creds: Vec<Credentials> = accs.iter().map(|a| s.credentials(a.id).unwrap()).collect();
    assert_eq!(creds[0].access_token.as_deref(), Some("env-token-123"));
    assert_eq!(creds[1].api_key.as_deref(), Some("sk-from-stdin"));
}

/// Finding 8: `keys list --json` masks keys like the table does, unless `--reveal`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_list_json_masks_keys_unless_reveal() {
    use fake_relay::{FakeConfig, FakeRelay, Variant};
    let cfg = FakeConfig::new(Variant::NewApiClassic);
    let fake = FakeRelay::start(cfg.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = Store::open(dir.path())
        .unwrap()
        .store
        .upsert_account(&NewAccount {
            site_url: fake.url.clone(),
            site_name: "fake".into(),
            kind: SiteKind::NewApi,
            user_id: cfg.user_id.to_string(),
            username: "alice".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
        })
        .unwrap()
        .to_string();
    let d: PathBuf = dir.path().to_path_buf();
    let (masked, revealed) = tokio::task::spawn_blocking(move || {
        let json = |extra: &[&str]| -> serde_json::Value {
            let mut args = vec!["keys", "list", "--account", id.as_str(), "--json"];
            args.extend_from_slice(extra);
            serde_json::from_str(&ok(run(&d, &args))).unwrap()
        };
        (json(&[]), json(&["--reveal"]))
    })
    .await
    .unwrap();
    let first = |v: &serde_json::Value| v[0]["key"].as_str().unwrap().to_string();
    let full = first(&revealed);
    assert!(full.len() > 40, "--reveal prints the full key: {full}");
    let m = first(&masked);
    assert_ne!(m, full);
    assert!(m.len() < 20 && !full.contains(&m), "masked: {m}");
}

/// Salvage: a page of the usage log destroyed in the middle of the file; every account
/// and all other usage rows come back, and the figures say what was lost.
#[test]
fn salvage_recovers_the_rows_on_readable_pages_and_says_what_was_lost() {
    use apihub::domain::usage_log::{LogKind, UsageLog};
    let dir = seeded(20);
    {
        let mut s = Store::open(dir.path()).unwrap().store;
        let first = s.list_accounts().unwrap()[0].id;
        let rows: Vec<UsageLog> = (0..3000i64)
            .map(|i| UsageLog {
                account_id: first,
                created_at: 1_700_000_000 + i,
                kind: LogKind::Consume,
                raw_type: 2,
                model: "gpt-4o".into(),
                content: format!("request {i} with a little text to fill the pages"),
                content_hash: format!("h{i}"),
                ..Default::default()
            })
            .collect();
        s.insert_usage_logs(&rows).unwrap();
    }
    let db = dir.path().join("apihub.db");
    let leaves: Vec<i64> = {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut st = c
            .prepare("SELECT pageno FROM dbstat WHERE name = 'usage_logs' AND pagetype = 'leaf' ORDER BY pageno")
            .unwrap();
        st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert!(leaves.len() > 10, "{} leaves", leaves.len());
    let page = leaves[leaves.len() / 2];
    let mut bytes = std::fs::read(&db).unwrap();
    let at = (page as usize - 1) * 4096;
    bytes[at..at + 4096].fill(0xA5);
    std::fs::write(&db, &bytes).unwrap();
    remove_side_files(&db);

    let out = run(dir.path(), &["accounts", "list"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{}", stderr(&out));
    let said = ok(run(dir.path(), &["recover", "salvage"]));
    assert!(said.contains("salvaged 20 of 20 accounts"), "{said}");
    let logs_line = said.lines().find(|l| l.trim_start().starts_with("usage_logs:")).unwrap();
    let got: u64 = logs_line.split(':').nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!((2800..3000).contains(&got), "one page lost, the rest kept: {logs_line}");
    assert!(said.contains("copy is kept at"), "{said}");

    let s = Store::open(dir.path()).unwrap().store;
    let accs = s.list_accounts().unwrap();
    assert_eq!(accs.len(), 20);
    assert_eq!(s.credentials(accs[3].id).unwrap().access_token.as_deref(), Some("token-3"), "same key, same secrets");
}

/// A salvage that can read no account leaves the damaged file as it was.
#[test]
fn a_salvage_that_finds_nothing_changes_nothing() {
    let dir = seeded(5);
    let db = dir.path().join("apihub.db");
    std::fs::write(&db, b"this is not a database, just some bytes".repeat(200)).unwrap();
    remove_side_files(&db);
    let out = run(dir.path(), &["recover", "salvage"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nothing could be salvaged"), "{}", stderr(&out));
    assert_eq!(run(dir.path(), &["accounts", "list"]).status.code(), Some(EXIT_DAMAGED), "still reported damaged");
    // Starting empty needs a confirmation, then works; the copy stays.
    assert_eq!(run(dir.path(), &["recover", "start-empty"]).status.code(), Some(1));
    ok(run(dir.path(), &["recover", "start-empty", "--yes"]));
    assert!(ok(run(dir.path(), &["accounts", "list"])).contains("no accounts"));
}

/// Retention counts each kind apart and never drops the last good backup.
#[test]
fn retention_with_mixed_kinds_never_drops_the_last_good_backup() {
    use apihub::backup::bundle::{SecretsMode, create_bundle};
    use apihub::backup::local::{LocalBackups, StoreFacts, back_up_now, backup_file_name};
    let dir = seeded(5);
    let backups_dir = LocalBackups::for_data_dir(dir.path());
    let mut s = Store::open(dir.path()).unwrap().store;
    let good = back_up_now(&s, &SecretsMode::Without, 2).unwrap();
    // The user removes three accounts; later manual backups hold two.
    for a in s.list_accounts().unwrap().into_iter().take(3) {
        s.remove_account(a.id).unwrap();
    }
    let t0 = chrono::Utc::now();
    let write = |prefix: &str, i: i64, s: &Store| {
        let bytes = create_bundle(s, &SecretsMode::Without).unwrap();
        backups_dir.write(&backup_file_name(prefix, t0 + chrono::Duration::seconds(i)), &bytes).unwrap();
    };
    for i in 0..5 {
        write("apihub-backup", i, &s);
        write("apihub-auto", i, &s);
        backups_dir.prune(2, &StoreFacts::of(&s).unwrap()).unwrap();
    }
    let names: Vec<String> = backups_dir.list().unwrap().into_iter().map(|b| b.name).collect();
    assert!(names.contains(&good.name), "the newest backup with more accounts than the store stays: {names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("apihub-auto")).count(), 2, "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("apihub-backup")).count(), 3, "2 kept + the protected one");

    // Now the store is emptied: its backups never evict a non-empty one.
    for a in s.list_accounts().unwrap() {
        s.remove_account(a.id).unwrap();
    }
    for i in 10..20 {
        write("apihub-backup", i, &s);
        write("safety-before-restore", i, &s);
        backups_dir.prune(2, &StoreFacts::of(&s).unwrap()).unwrap();
    }
    let names: Vec<String> = backups_dir.list().unwrap().into_iter().map(|b| b.name).collect();
    assert!(names.contains(&good.name), "{names:?}");
    let non_empty = names
        .iter()
        .filter(|n| {
            let b = backups_dir.read(n).unwrap();
            apihub::backup::read_bundle(&b).unwrap().info.account_count > 0
        })
        .count();
    assert_eq!(non_empty, 1 + 2 + 2, "no non-empty backup was evicted: {names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("safety-")).count(), 2);

    // With the credentials unreadable, the newest backup that has them stays too.
    let with_secrets = back_up_now(&s, &SecretsMode::LocalKey, 2).unwrap();
    let facts = StoreFacts { accounts: 0, credentials_readable: false };
    backups_dir.prune(1, &facts).unwrap();
    let names: Vec<String> = backups_dir.list().unwrap().into_iter().map(|b| b.name).collect();
    assert!(names.contains(&good.name), "{names:?}");
    let _ = with_secrets;
}

/// Backups, exports and the data files are readable only by their owner.
#[cfg(unix)]
#[test]
fn backups_exports_and_data_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = seeded(1);
    ok(run(dir.path(), &["backup", "create", "--without-secrets"]));
    let out = dir.path().join("export.json");
    ok(run(dir.path(), &["export", out.to_str().unwrap(), "--without-secrets"]));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let backup = dir.path().join("backups").join(&backups(dir.path())[0]);
    for p in [backup.as_path(), out.as_path(), &dir.path().join("apihub.db"), &dir.path().join("secret.key")] {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }
    assert_eq!(mode(&dir.path().join("backups")), 0o700);
}

/// "A wrong key never leads to a new key being written", and after a credential reset
/// each account says "sign-in needed" (an `auth` error, never `null`).
#[test]
fn a_credential_reset_keeps_accounts_and_flags_each_as_sign_in_needed() {
    let dir = seeded(3);
    let key = dir.path().join("secret.key");
    std::fs::remove_file(&key).unwrap();
    let out = run(dir.path(), &["recover", "reset-credentials"]);
    assert_eq!(out.status.code(), Some(1), "needs --yes");
    assert!(!key.exists());
    let said = ok(run(dir.path(), &["recover", "reset-credentials", "--yes"]));
    assert!(said.contains("3 accounts kept"), "{said}");
    assert!(key.exists(), "a new key, made on purpose");
    let v: serde_json::Value = serde_json::from_str(&ok(run(dir.path(), &["accounts", "list", "--json"]))).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert_eq!(r["status"], "error", "{r}");
        assert_eq!(r["error"]["kind"], "auth", "{r}");
        assert!(r["error"]["message"].as_str().unwrap().contains("sign-in needed"), "{r}");
    }
}

/// After a lost key: a located key file is checked before it is used, and a passphrase
/// backup brings the credentials back.
#[test]
fn a_lost_key_is_located_or_the_credentials_come_back_from_a_passphrase_backup() {
    let dir = seeded(2);
    let key = dir.path().join("secret.key");
    ok(apihub(dir.path()).env("PW", "hunter2").args(["backup", "create", "--passphrase-env", "PW"]).output().unwrap());
    let found = dir.path().join("found.key");
    std::fs::rename(&key, &found).unwrap();
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, [9u8; 32]).unwrap();
    let out = run(dir.path(), &["recover", "locate-key", wrong.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not the one this data was encrypted with"), "{}", stderr(&out));
    assert!(!key.exists(), "a wrong key is not put in place");

    // The message names the passphrase backup and its command.
    let err = stderr(&run(dir.path(), &["accounts", "list"]));
    assert!(err.contains("recover restore") && err.contains("--passphrase-env"), "{err}");
    let backup = dir.path().join("backups").join(&backups(dir.path())[0]);
    let said = ok(apihub(dir.path())
        .env("PW", "hunter2")
        .args(["recover", "restore", backup.to_str().unwrap(), "--passphrase-env", "PW"])
        .output()
        .unwrap());
    assert!(said.contains("credentials restored"), "{said}");
    let s = Store::open(dir.path()).unwrap().store;
    let accs = s.list_accounts().unwrap();
    assert_eq!(s.credentials(accs[1].id).unwrap().access_token.as_deref(), Some("token-1"));
    drop(s);

    // The old key no longer fits (a new one was made by the reset); locating it is refused.
    let out = run(dir.path(), &["recover", "locate-key", found.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "nothing to recover: {}", stderr(&out));

    // A fresh case: the old key located puts everything back.
    let dir = seeded(2);
    let key = dir.path().join("secret.key");
    let found = dir.path().join("found.key");
    std::fs::rename(&key, &found).unwrap();
    ok(run(dir.path(), &["recover", "locate-key", found.to_str().unwrap()]));
    assert!(ok(run(dir.path(), &["accounts", "list"])).contains("user1"));
}

/// The recovery window (egui_kittest): it renders for a damaged file and for a lost or
/// damaged key, and each button does what it says.
mod recovery_window {
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use apihub::app::recovery::{Problem, RecoveryApp, RecoveryDeps, RecoveryOutcome};
    use apihub::domain::settings::Lang;
    use apihub::store::Store;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use super::{remove_side_files, seeded};

    /// The UI language is process-global.
    fn lock() -> std::sync::MutexGuard<'static, ()> {
        static LOCK: Mutex<()> = Mutex::new(());
        LOCK.lock().unwrap_or_else(|e| e.into_inner())
    }

    struct Window {
        h: Harness<'static, RecoveryApp>,
        outcome: Arc<Mutex<Option<RecoveryOutcome>>>,
        _rt: tokio::runtime::Runtime,
    }

    /// The window for whatever stops `dir` from opening.
    fn open(dir: &Path) -> Window {
        let err = Store::open(dir).expect_err("the store must not open");
        let problem = Problem::of(&err).expect("a problem the window handles");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let outcome = Arc::new(Mutex::new(None));
        let (out, handle, dir) = (outcome.clone(), rt.handle().clone(), dir.to_path_buf());
        let mut h = Harness::builder()
            .with_size(egui::vec2(900.0, 900.0))
            .with_max_steps(64)
            .with_context_setup(|ctx| {
                apihub::app::fonts::install_blocking(ctx);
            })
            .build_eframe(move |cc| {
                RecoveryApp::new(
                    &cc.egui_ctx,
                    RecoveryDeps {
                        runtime: handle,
                        data_dir: dir,
                        problem,
                        lang: Lang::En,
                        background_fonts: false,
                        view: apihub::ui::recovery::recovery_ui,
                        outcome: out,
                    },
                )
            });
        until(&mut h, "backups read", |a| a.state().backups.is_some());
        Window { h, outcome, _rt: rt }
    }

    fn until(h: &mut Harness<'static, RecoveryApp>, what: &str, done: impl Fn(&RecoveryApp) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            h.step();
            if done(h.state()) {
                h.run();
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Clicks an action's button and waits for its job (a spinner shows meanwhile).
    fn act(w: &mut Window, button: &str) {
        w.h.get_by_label(button).click();
        w.h.step();
        finished(w);
    }

    fn finished(w: &mut Window) {
        until(&mut w.h, "the action finished", |a| a.state().done.is_some() || a.state().error.is_some());
        assert!(w.h.state().state().error.is_none(), "{:?}", w.h.state().state().error);
    }

    fn damaged(n: usize) -> tempfile::TempDir {
        let dir = seeded(n);
        super::ok(super::run(dir.path(), &["backup", "create", "--without-secrets"]));
        let db = dir.path().join("apihub.db");
        std::fs::write(&db, b"").unwrap();
        remove_side_files(&db);
        dir
    }

    #[test]
    fn a_damaged_file_offers_the_newest_backup_and_restoring_it_opens_the_app() {
        let _l = lock();
        let dir = damaged(3);
        let mut w = open(dir.path());
        w.h.get_by_label("The data file is damaged");
        assert!(w.h.query_by_label_contains("3 accounts · without credentials").is_some());
        act(&mut w, "Restore this backup");
        // A backup without credentials: the summary says they must be entered again.
        w.h.get_by_label_contains(
            "Restored 3 accounts from the backup; 3 of them need their credentials entered again",
        );
        assert!(w.h.query_by_label_contains("The damaged file's copy stays at").is_some());
        w.h.get_by_label("Open API Hub Desk").click();
        w.h.run();
        let outcome = w.outcome.lock().unwrap().clone();
        let Some(RecoveryOutcome::Continue(Some(notice))) = outcome else { panic!("{outcome:?}") };
        assert!(notice.moved_to.exists(), "the notice names the kept copy");
        drop(w);

        // The app then opens on the restored store and tells once what happened.
        let (store, _) = Store::open_shared(dir.path()).unwrap();
        store.lock().unwrap().set_setting("refresh.auto", "off").unwrap();
        store.lock().unwrap().set_setting("update.check_on_start", "false").unwrap();
        store.lock().unwrap().set_setting("ui.lang", "en").unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let deps = apihub::app::AppDeps {
            view: Box::new(apihub::ui::Panels::default()),
            settings: apihub::app::load_settings(&store),
            relay: super::common::fast_relay(),
            store,
            data_dir: dir.path().to_path_buf(),
            data_dir_source: apihub::store::DataDirSource::CommandLine,
            quarantined: Some(notice),
            runtime: rt.handle().clone(),
            fonts: apihub::app::FontSetup::Preinstalled(apihub::app::fonts::FontStatus::Loading),
            bench_startup: None,
        };
        let mut app = Harness::builder()
            .with_size(egui::vec2(1100.0, 700.0))
            .with_max_steps(64)
            .with_context_setup(|ctx| {
                apihub::app::fonts::install_blocking(ctx);
            })
            .build_eframe(move |cc| apihub::app::App::new(cc, deps));
        super::common::run_until(&mut app, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
        assert!(
            app.query_by_label_contains("The data file was damaged. Restored 3 accounts from the backup").is_some()
        );
        assert_eq!(app.state().state().sites.accounts.value().map(Vec::len), Some(3));
    }

    #[test]
    fn salvage_and_start_empty_do_what_they_say() {
        let _l = lock();
        // Salvage: one table's page overwritten (the activity log's root page, not the schema,
        // which may span the last pages as tables are added); the accounts come back.
        let dir = seeded(4);
        let db = dir.path().join("apihub.db");
        let (page, size): (i64, i64) = {
            let c = rusqlite::Connection::open(&db).unwrap();
            let page = c
                .query_row("SELECT rootpage FROM sqlite_master WHERE name = 'activity_log'", [], |r| r.get(0))
                .unwrap();
            (page, c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap())
        };
        let mut bytes = std::fs::read(&db).unwrap();
        let at = ((page - 1) * size) as usize;
        bytes[at..at + size as usize].fill(0x5A);
        std::fs::write(&db, &bytes).unwrap();
        remove_side_files(&db);
        let mut w = open(dir.path());
        act(&mut w, "Salvage");
        assert!(w.h.query_by_label_contains("Salvaged").is_some());
        assert!(w.h.query_by_label("accounts").is_some(), "the figures name each table");
        w.h.get_by_label("Open API Hub Desk").click();
        w.h.run();
        assert!(matches!(*w.outcome.lock().unwrap(), Some(RecoveryOutcome::Continue(_))));
        assert!(Store::open(dir.path()).is_ok());

        // Start empty needs the box ticked first.
        let dir = damaged(2);
        let mut w = open(dir.path());
        w.h.get_by_label("Start empty").click();
        w.h.run();
        assert!(w.h.state().state().done.is_none(), "disabled until confirmed");
        w.h.get_by_label("I understand: the accounts in the damaged file will not be there").click();
        w.h.run();
        act(&mut w, "Start empty");
        w.h.get_by_label("Started with an empty data file.");
        assert_eq!(Store::open(dir.path()).unwrap().store.account_count().unwrap(), 0);
    }

    /// Finding 4: a damaged key file opens this window (not a message on stderr).
    #[test]
    fn a_damaged_key_file_opens_the_key_screen_and_the_located_key_is_used() {
        let _l = lock();
        let dir = seeded(2);
        let key = dir.path().join("secret.key");
        let found = dir.path().join("copy-of-secret.key");
        std::fs::copy(&key, &found).unwrap();
        std::fs::write(&key, b"abc").unwrap();
        let mut w = open(dir.path());
        w.h.get_by_label("The encryption key is damaged");
        w.h.get_by_label("Key file").click();
        w.h.run();
        w.h.get_by_label("Key file").type_text(found.to_str().unwrap());
        w.h.run();
        act(&mut w, "Use this key");
        w.h.get_by_label("The key fits: the credentials can be read again.");
        let s = Store::open(dir.path()).unwrap().store;
        let a = s.list_accounts().unwrap();
        assert_eq!(s.credentials(a[0].id).unwrap().access_token.as_deref(), Some("token-0"));
    }

    #[test]
    fn a_missing_key_restores_credentials_from_a_passphrase_backup_or_resets_them() {
        let _l = lock();
        let dir = seeded(2);
        super::ok(
            super::apihub(dir.path())
                .env("PW", "open sesame")
                .args(["backup", "create", "--passphrase-env", "PW"])
                .output()
                .unwrap(),
        );
        std::fs::remove_file(dir.path().join("secret.key")).unwrap();
        let mut w = open(dir.path());
        w.h.get_by_label("The encryption key is missing");
        w.h.get_by_label("Backup passphrase").click();
        w.h.run();
        w.h.get_by_label("Backup passphrase").type_text("open sesame");
        w.h.run();
        act(&mut w, "Restore credentials");
        let s = Store::open(dir.path()).unwrap().store;
        let a = s.list_accounts().unwrap();
        assert_eq!(s.credentials(a[1].id).unwrap().access_token.as_deref(), Some("token-1"));
        drop(s);

        // Reset, after ticking the box; Quit leaves without an outcome to continue.
        let dir = seeded(2);
        std::fs::remove_file(dir.path().join("secret.key")).unwrap();
        let mut w = open(dir.path());
        w.h.get_by_label("I understand: the stored credentials are cleared").click();
        w.h.run();
        act(&mut w, "Reset credentials");
        assert!(w.h.query_by_label_contains("2 accounts kept").is_some());
        let dir2 = seeded(1);
        std::fs::remove_file(dir2.path().join("secret.key")).unwrap();
        let mut q = open(dir2.path());
        q.h.get_by_label("Quit").click();
        q.h.run();
        assert_eq!(*q.outcome.lock().unwrap(), Some(RecoveryOutcome::Quit));
        assert!(!dir2.path().join("secret.key").exists(), "quitting changed nothing");
    }
}

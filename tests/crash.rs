//! Crash safety: a child process writing in a loop is killed with SIGKILL at random
//! moments; every reopen succeeds and every committed row is there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::Store;

const CHILD_ENV: &str = "APIHUB_CRASH_CHILD_DIR";

fn account(i: u64) -> NewAccount {
    NewAccount {
        site_url: format!("https://site{}.example.com", i % 7),
        site_name: format!("site {}", i % 7),
        kind: SiteKind::NewApi,
        user_id: i.to_string(),
        username: format!("u{i}"),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some(format!("token-{i}")), ..Default::default() },
    }
}

/// The writer. Runs only when re-executed by the parent test with `CHILD_ENV` set.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let start: u64 = std::env::var("APIHUB_CRASH_START").unwrap().parse().unwrap();
    let mut store = Store::open(std::path::Path::new(&dir)).unwrap().store;
    let mut out = std::io::stdout().lock();
    for i in start.. {
        store.upsert_account(&account(i)).unwrap();
        store.set_setting("last", &i.to_string()).unwrap();
        // Printed only after both commits returned: the parent may rely on it.
        use std::io::Write;
        writeln!(out, "{i}").unwrap();
        out.flush().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn sigkill_at_random_moments_never_loses_committed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed: u64 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut next_committed: u64 = 0;
    let mut kills = 0;
    for round in 0..24 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay_ms = 5 + (seed >> 33) % 120;
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env("APIHUB_CRASH_START", next_committed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        kills += 1;
        let stdout = child.stdout.take().unwrap();
        let printed: Vec<u64> =
            BufReader::new(stdout).lines().map_while(Result::ok).filter_map(|l| l.trim().parse().ok()).collect();
        if let Some(last) = printed.last() {
            next_committed = last + 1;
        }
        let opened = Store::open(dir.path()).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        assert!(opened.quarantined.is_none(), "round {round}: store judged corrupt after a kill");
        let store = opened.store;
        let ids: std::collections::HashSet<String> =
            store.list_accounts().unwrap().into_iter().map(|a| a.user_id).collect();
        for i in 0..next_committed {
            assert!(ids.contains(&i.to_string()), "round {round}: committed row {i} lost");
        }
    }
    assert!(kills >= 20);
    assert!(next_committed > 0, "the writer committed something");
}

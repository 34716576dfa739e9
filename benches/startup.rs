//! Start-up figures: seeds a data dir with N accounts (default 1,000), then runs the
//! release binary with `--bench-startup` several times and prints the first-frame
//! time and peak RSS. Needs a display (run under `xvfb-run` on a headless machine).
//!
//!     cargo bench --bench startup -- [N]
//!     APIHUB_BENCH_EXE=/path/to/other/apihub cargo bench --bench startup -- [N]

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::Store;

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut store = Store::open(dir.path()).expect("store").store;
        for i in 0..n {
            store
                .upsert_account(&NewAccount {
                    site_url: format!("https://relay{}.example.com", i % 300),
                    site_name: format!("Relay {}", i % 300),
                    kind: SiteKind::ALL[i % SiteKind::ALL.len()],
                    user_id: i.to_string(),
                    username: format!("user{i}"),
                    auth: AuthMethod::AccessToken,
                    credentials: Credentials { access_token: Some(format!("tok{i:032}")), ..Default::default() },
                })
                .expect("seed");
        }
    }
    // `APIHUB_BENCH_EXE` times another build (e.g. the one before a change) on the same data.
    let exe = std::env::var("APIHUB_BENCH_EXE").unwrap_or_else(|_| env!("CARGO_BIN_EXE_apihub").to_string());
    let exe = exe.as_str();
    println!("accounts={n} binary={exe}");
    let mut frames = Vec::new();
    for run in 0..5 {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "max_rss_kb=%M"])
            .arg(exe)
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--bench-startup")
            .output();
        let out = match out {
            Ok(o) => o,
            Err(_) => {
                Command::new(exe).arg("--data-dir").arg(dir.path()).arg("--bench-startup").output().expect("run apihub")
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ms = stdout.lines().find_map(|l| l.strip_prefix("first_frame_ms=")).map(str::to_string);
        let rss = stderr.lines().find_map(|l| l.strip_prefix("max_rss_kb=")).map(str::to_string);
        match ms {
            Some(ms) => {
                println!("run {run}: first_frame_ms={ms} peak_rss_kb={}", rss.as_deref().unwrap_or("?"));
                frames.push(ms.parse::<u64>().unwrap_or(0));
            }
            None => {
                println!("run {run}: no figure (is a display available?) stderr: {}", stderr.trim());
                return;
            }
        }
    }
    frames.sort_unstable();
    println!("first_frame_ms median={} min={} max={}", frames[frames.len() / 2], frames[0], frames[frames.len() - 1]);
}

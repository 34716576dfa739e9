//! The CLI binary, run as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn apihub() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    c.env("APIHUB_LOG", "off");
    c
}

#[test]
fn accounts_list_json_on_an_empty_data_dir_prints_an_empty_array() {
    let dir = tempfile::tempdir().unwrap();
    let out = apihub().arg("--data-dir").arg(dir.path()).args(["accounts", "list", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
    assert!(dir.path().join("apihub.db").exists(), "store created in --data-dir");
}

#[test]
fn version_prints_version_and_commit() {
    let out = apihub().arg("--version").output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.starts_with(&format!("apihub {}", env!("CARGO_PKG_VERSION"))), "{s}");
    assert!(s.contains('('), "commit shown: {s}");
}

#[test]
fn removing_a_missing_account_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = apihub().arg("--data-dir").arg(dir.path()).args(["accounts", "remove", "7"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account with id 7"));
}

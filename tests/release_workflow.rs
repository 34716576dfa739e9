//! The release workflow and the in-app release check agree: every binary the workflow
//! attaches is the one `asset_for_platform` picks for that OS and architecture, and the
//! workflow builds with the repository the check reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use apihub::update::{Asset, Release, asset_for_platform};

const WORKFLOW: &str = include_str!("../.github/workflows/release.yml");

/// `(target triple, asset suffix)` pairs of the workflow's build matrix.
fn matrix() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut target = None;
    for line in WORKFLOW.lines().map(str::trim) {
        if let Some(t) = line.strip_prefix("target: ") {
            target = Some(t.to_string());
        } else if let Some(a) = line.strip_prefix("asset: ") {
            out.push((target.take().expect("a target before each asset"), a.to_string()));
        }
    }
    out
}

fn os_arch(triple: &str) -> (&'static str, &'static str) {
    let os = if triple.contains("windows") {
        "windows"
    } else if triple.contains("apple") {
        "macos"
    } else {
        "linux"
    };
    let arch = if triple.starts_with("aarch64") { "aarch64" } else { "x86_64" };
    (os, arch)
}

#[test]
fn every_platform_finds_its_own_binary_in_a_release_the_workflow_makes() {
    let m = matrix();
    assert!(m.len() >= 3, "Windows, macOS and Linux are built: {m:?}");
    let names: Vec<String> = m.iter().map(|(_, a)| format!("apihub-v1.4.0-{a}")).collect();
    let release = Release {
        version: semver::Version::new(1, 4, 0),
        tag: "v1.4.0".into(),
        name: "API Hub Desk v1.4.0".into(),
        published_at: None,
        notes: String::new(),
        html_url: String::new(),
        prerelease: false,
        assets: names.iter().map(|n| Asset { name: n.clone(), url: format!("https://x/{n}"), size: 1 }).collect(),
    };
    for ((triple, _), expected) in m.iter().zip(&names) {
        let (os, arch) = os_arch(triple);
        let got = asset_for_platform(&release, os, arch).map(|a| a.name.as_str());
        assert_eq!(got, Some(expected.as_str()), "{triple} ({os}/{arch})");
    }
    for os in ["windows", "macos", "linux"] {
        assert!(m.iter().any(|(t, _)| os_arch(t).0 == os), "{os} is built");
    }
}

#[test]
fn the_workflow_builds_locked_on_tags_with_this_repository_baked_in() {
    assert!(WORKFLOW.contains("tags: [\"v*\""), "runs on version tags");
    assert!(WORKFLOW.contains("cargo build --release --locked"));
    assert!(WORKFLOW.contains("APIHUB_REPO: ${{ github.repository }}"), "the check reads the releasing repository");
    assert!(WORKFLOW.contains("--prerelease"), "tags with a pre-release part are marked as such");
    assert!(apihub::update::default_releases_url().ends_with(&format!("/repos/{}/releases", apihub::update::REPO)));
}

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

/// Every setting of a manifest's release profile, its per-package overrides included, as
/// `dotted.key = value` lines (comments and layout dropped).
fn release_profile(manifest: &str) -> std::collections::BTreeMap<String, String> {
    fn flatten(prefix: &str, table: &dyn toml_edit::TableLike, out: &mut std::collections::BTreeMap<String, String>) {
        for (key, item) in table.iter() {
            let path = format!("{prefix}{key}");
            match item.as_table_like() {
                Some(t) => flatten(&format!("{path}."), t, out),
                None => {
                    out.insert(
                        path,
                        item.as_value().map(|v| v.clone().decorated("", "").to_string()).unwrap_or_default(),
                    );
                }
            }
        }
    }
    let doc: toml_edit::DocumentMut = manifest.parse().unwrap();
    let mut out = std::collections::BTreeMap::new();
    flatten("", doc["profile"]["release"].as_table_like().expect("a [profile.release]"), &mut out);
    out
}

#[test]
fn the_footprint_floor_is_built_with_the_products_release_profile() {
    // benches/footprint.sh compares the binary and its memory with a bare eframe app: the
    // comparison is fair only when both are optimised the same way, per-package opt-levels
    // included (the floor's eframe stack at the product's levels).
    let product = release_profile(include_str!("../Cargo.toml"));
    let floor = release_profile(include_str!("../benches/floor/Cargo.toml"));
    assert!(product.contains_key("lto") && product.keys().any(|k| k.starts_with("package.")), "{product:?}");
    assert_eq!(floor, product, "benches/floor/Cargo.toml's [profile.release] differs from Cargo.toml's");
}

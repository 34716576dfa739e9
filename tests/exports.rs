//! "Use in…": every file target against a temporary home (missing files, the user's own
//! keys/comments/odd formatting kept, unparsable and changed files refused and untouched,
//! backups and byte-for-byte undo), the deep links decoded, channel import against a fake
//! admin API, and `apihub use` run as a user would (dry run writes nothing, bad input is one
//! clear line). Folders are passed explicitly (`Homes`); only the CLI tests set HOME and
//! friends, on the child process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use apihub::exports::safe_write::{apply, journal_entries, plan_undo};
use apihub::exports::{ExportError, Homes, Options, Protocol, Scope, Source, Target, plan};

const KEY: &str = "sk-testkey0123456789abcdef";

fn source() -> Source {
    let mut s = Source::new("relay.example", "https://relay.example/v1/", KEY, Protocol::OpenAi);
    s.label = "relay.example · main".into();
    s.models = vec!["gpt-4o-mini".into(), "claude-sonnet-4-5".into()];
    s
}

fn model(m: &str) -> Options {
    Options { model: Some(m.into()), scope: Scope::User }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn backups_of(p: &Path) -> Vec<PathBuf> {
    let name = p.file_name().unwrap().to_string_lossy().to_string();
    let mut v: Vec<PathBuf> = std::fs::read_dir(p.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|q| q.file_name().unwrap().to_string_lossy().starts_with(&format!("{name}.bak.")))
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Plan + apply with a journal in `home/.journal.json`.
fn write(target: Target, opts: &Options, homes: &Homes) -> apihub::exports::safe_write::Applied {
    let p = plan(target, &source(), opts, homes).unwrap();
    apply(&p, Some(&homes.home.join(".journal.json"))).unwrap()
}

mod files {
    use super::*;

    #[test]
    fn claude_code_into_a_missing_file_then_undo_removes_it() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        let p = plan(Target::ClaudeCode, &source(), &model("claude-sonnet-4-5"), &homes).unwrap();
        let diff = p.unified_diff();
        assert!(diff.contains("--- /dev/null"), "{diff}");
        assert!(!diff.contains("0123456789abcdef"), "the key is masked in the diff: {diff}");
        let applied = apply(&p, Some(&home.path().join(".journal.json"))).unwrap();
        let f = home.path().join(".claude/settings.json");
        assert_eq!(applied.files[0].path, f);
        assert_eq!(applied.files[0].backup, None, "nothing to back up");
        let v: serde_json::Value = serde_json::from_str(&read(&f)).unwrap();
        assert_eq!(
            v["env"]["ANTHROPIC_BASE_URL"], "https://relay.example",
            "root, no /v1: Claude Code adds /v1/messages"
        );
        assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], KEY);
        for k in [
            "ANTHROPIC_MODEL",
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
        ] {
            assert_eq!(v["env"][k], "claude-sonnet-4-5", "{k}");
        }
        #[cfg(unix)]
        assert_eq!(mode(&f), 0o600, "a new file holding a key is private");

        let undo = plan_undo(&home.path().join(".journal.json"), Some("claude-code")).unwrap();
        let done = apply(&undo, Some(&home.path().join(".journal.json"))).unwrap();
        assert!(done.files[0].removed);
        assert!(!f.exists(), "undo of a created file removes it");
        assert!(journal_entries(&home.path().join(".journal.json")).unwrap().is_empty(), "the entry is used up");
        let e = plan_undo(&home.path().join(".journal.json"), None).unwrap_err();
        assert!(matches!(e, ExportError::NothingToUndo(_)), "{e}");
    }

    #[test]
    fn claude_code_keeps_the_users_keys_comments_and_formatting_and_undo_is_byte_exact() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        let f = home.path().join(".claude/settings.json");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        let original = "{\n\t// my own comment\n\t\"permissions\": {\"allow\": [\"Bash(ls)\"]},\n\t\"env\": {\n\t\t\"MY_VAR\":   \"1\",\n\t\t\"ANTHROPIC_API_KEY\": \"sk-stale-old-key-123456\",\n\t\t\"ANTHROPIC_AUTH_TOKEN\": \"sk-previous-token-7890\" // old\n\t},\n\t\"zz_last\": true,\n}\n";
        std::fs::write(&f, original).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        let p = plan(Target::ClaudeCode, &source(), &Options::default(), &homes).unwrap();
        assert!(p.notes.iter().any(|n| n.contains("ANTHROPIC_API_KEY")), "{:?}", p.notes);
        let diff = p.unified_diff();
        assert!(
            !diff.contains("sk-previous-token-7890") && !diff.contains("sk-stale-old-key-123456"),
            "old keys masked: {diff}"
        );
        let applied = apply(&p, Some(&home.path().join(".journal.json"))).unwrap();
        let out = read(&f);
        assert!(out.contains("\t// my own comment\n"), "{out}");
        assert!(out.contains("\"permissions\": {\"allow\": [\"Bash(ls)\"]},"), "untouched line kept as written: {out}");
        assert!(out.contains("\"MY_VAR\":   \"1\","), "odd spacing kept: {out}");
        assert!(
            out.contains("\t\t\"ANTHROPIC_AUTH_TOKEN\": \"sk-testkey0123456789abcdef\", // old"),
            "replaced in place: {out}"
        );
        assert!(!out.contains("ANTHROPIC_API_KEY"), "stale key removed: {out}");
        assert!(out.contains("\t\t\"ANTHROPIC_BASE_URL\": \"https://relay.example\""), "tab indentation: {out}");
        assert!(out.contains("\"zz_last\": true,\n}"), "trailing comma kept: {out}");
        let order: Vec<usize> = ["permissions", "\"env\"", "zz_last"].iter().map(|k| out.find(k).unwrap()).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "key order kept: {out}");
        assert!(!out.contains("ANTHROPIC_MODEL"), "no --model: model vars untouched");
        #[cfg(unix)]
        assert_eq!(mode(&f), 0o640, "the file's mode is kept");

        let bak = applied.files[0].backup.clone().unwrap();
        assert_eq!(backups_of(&f), vec![bak.clone()]);
        assert_eq!(std::fs::read(&bak).unwrap(), original.as_bytes(), "the backup is the file as it was");
        #[cfg(unix)]
        assert_eq!(mode(&bak), 0o600);

        let undo = plan_undo(&home.path().join(".journal.json"), Some("claude-code")).unwrap();
        let diff = undo.unified_diff();
        assert!(diff.contains("-\t\t\"ANTHROPIC_BASE_URL\""), "{diff}");
        for k in [KEY, "sk-previous-token-7890", "sk-stale-old-key-123456"] {
            assert!(!diff.contains(k), "undo's diff masks key-like words too: {diff}");
        }
        apply(&undo, Some(&home.path().join(".journal.json"))).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), original.as_bytes(), "undo restores byte for byte");
        #[cfg(unix)]
        assert_eq!(mode(&f), 0o640);
    }

    #[test]
    fn claude_config_dir_and_project_scope_pick_their_files() {
        let home = tempfile::tempdir().unwrap();
        let cfg = tempfile::tempdir().unwrap();
        let mut homes = Homes::under(home.path());
        homes.claude_config_dir = Some(cfg.path().to_path_buf());
        homes.project_dir = home.path().join("proj");
        write(Target::ClaudeCode, &Options::default(), &homes);
        assert!(cfg.path().join("settings.json").exists(), "CLAUDE_CONFIG_DIR honoured");
        assert!(!home.path().join(".claude").exists());
        let p = plan(Target::ClaudeCode, &source(), &Options { model: None, scope: Scope::Project }, &homes).unwrap();
        assert_eq!(
            p.changes[0].path,
            home.path().join("proj/.claude/settings.local.json"),
            "the personal project file"
        );
        assert!(p.notes.iter().any(|n| n.contains("version control")));
    }

    #[test]
    fn codex_merges_into_config_toml_keeping_comments_and_layout() {
        let home = tempfile::tempdir().unwrap();
        let codex = tempfile::tempdir().unwrap();
        let mut homes = Homes::under(home.path());
        homes.codex_home = Some(codex.path().to_path_buf());
        let f = codex.path().join("config.toml");
        let original = "# my codex config\nmodel = \"o3\"   # the one I like\napproval_policy = \"on-request\"\n\n[model_providers.other]\nname = \"Other\"\nbase_url = \"https://other.example/v1\"\n\n[model_providers.apihub]\nenv_key = \"OLD_KEY_VAR\"\nname = \"old\"\n\n[profiles.fast]\nmodel = \"gpt-4o-mini\"\n";
        std::fs::write(&f, original).unwrap();
        let p = plan(Target::Codex, &source(), &model("gpt-5-codex"), &homes).unwrap();
        assert!(p.notes.iter().any(|n| n.contains("env_key")), "{:?}", p.notes);
        apply(&p, None).unwrap();
        let out = read(&f);
        assert!(
            out.starts_with(
                "# my codex config\nmodel_provider = \"apihub\"\nmodel = \"gpt-5-codex\"   # the one I like\n"
            ) || out.starts_with("# my codex config\nmodel = \"gpt-5-codex\"   # the one I like\n"),
            "{out}"
        );
        assert!(out.contains("model = \"gpt-5-codex\"   # the one I like"), "value replaced, comment kept: {out}");
        assert!(
            out.contains("[model_providers.other]\nname = \"Other\"\nbase_url = \"https://other.example/v1\"\n"),
            "{out}"
        );
        assert!(out.contains("[profiles.fast]\nmodel = \"gpt-4o-mini\"\n"), "{out}");
        assert!(!out.contains("OLD_KEY_VAR"), "{out}");
        let doc: toml_edit::DocumentMut = out.parse().unwrap();
        assert_eq!(doc["model_provider"].as_str(), Some("apihub"));
        let t = &doc["model_providers"]["apihub"];
        assert_eq!(t["base_url"].as_str(), Some("https://relay.example/v1"), "Codex appends /responses to a /v1 base");
        assert_eq!(t["wire_api"].as_str(), Some("responses"));
        assert_eq!(t["experimental_bearer_token"].as_str(), Some(KEY));
        assert_eq!(t["name"].as_str(), Some("relay.example"));
    }

    #[test]
    fn codex_into_a_missing_home_and_never_in_a_project() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        write(Target::Codex, &Options::default(), &homes);
        let out = read(&home.path().join(".codex/config.toml"));
        assert_eq!(
            out,
            "model_provider = \"apihub\"\n\n[model_providers.apihub]\nname = \"relay.example\"\nbase_url = \"https://relay.example/v1\"\nwire_api = \"responses\"\nexperimental_bearer_token = \"sk-testkey0123456789abcdef\"\n"
        );
        let e = plan(Target::Codex, &source(), &Options { model: None, scope: Scope::Project }, &homes).unwrap_err();
        assert!(matches!(e, ExportError::Unsupported(_)), "{e}");
    }

    #[test]
    fn opencode_writes_the_provider_and_the_key_into_auth_json() {
        let home = tempfile::tempdir().unwrap();
        let xdg_cfg = tempfile::tempdir().unwrap();
        let mut homes = Homes::under(home.path());
        homes.xdg_config_home = Some(xdg_cfg.path().to_path_buf());
        let cfg = xdg_cfg.path().join("opencode/opencode.jsonc");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(
            &cfg,
            "{\n  // mine\n  \"theme\": \"opencode\",\n  \"provider\": {\"other\": {\"npm\": \"x\"}}\n}\n",
        )
        .unwrap();
        let auth = home.path().join(".local/share/opencode/auth.json");
        std::fs::create_dir_all(auth.parent().unwrap()).unwrap();
        std::fs::write(&auth, "{\n  \"anthropic\": {\"type\": \"oauth\", \"refresh\": \"r\"}\n}\n").unwrap();
        write(Target::OpenCode, &model("gpt-4o-mini"), &homes);
        let out = read(&cfg);
        assert!(
            out.contains("// mine") && out.contains("\"theme\": \"opencode\""),
            "an existing opencode.jsonc is edited: {out}"
        );
        let v: serde_json::Value = serde_json::from_str(&out.replace("// mine", "")).unwrap();
        assert_eq!(v["provider"]["other"]["npm"], "x");
        let p = &v["provider"]["apihub"];
        assert_eq!(p["npm"], "@ai-sdk/openai-compatible");
        assert_eq!(p["options"]["baseURL"], "https://relay.example/v1");
        assert_eq!(p["models"]["gpt-4o-mini"]["name"], "gpt-4o-mini");
        assert!(p["options"].get("apiKey").is_none(), "the key is not in the config");
        assert_eq!(v["model"], "apihub/gpt-4o-mini");
        let a: serde_json::Value = serde_json::from_str(&read(&auth)).unwrap();
        assert_eq!(a["apihub"], serde_json::json!({"type": "api", "key": KEY}));
        assert_eq!(a["anthropic"]["type"], "oauth", "other credentials kept");
    }

    #[test]
    fn gemini_cli_merges_env_and_settings() {
        let home = tempfile::tempdir().unwrap();
        let gh = tempfile::tempdir().unwrap();
        let mut homes = Homes::under(home.path());
        homes.gemini_cli_home = Some(gh.path().to_path_buf());
        let dir = gh.path().join(".gemini");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(".env"), "# keys\nexport GEMINI_API_KEY=old-gemini-key-0000 # mine\nOTHER=1\n")
            .unwrap();
        std::fs::write(
            dir.join("settings.json"),
            "{\n  \"theme\": \"Dracula\",\n  \"security\": {\"auth\": {\"selectedType\": \"oauth-personal\"}}\n}\n",
        )
        .unwrap();
        let p = plan(Target::GeminiCli, &source(), &model("gemini-2.5-pro"), &homes).unwrap();
        assert!(p.notes.iter().any(|n| n.contains("oauth-personal")), "{:?}", p.notes);
        assert!(!p.unified_diff().contains("old-gemini-key-0000"), "the old key is masked too");
        apply(&p, None).unwrap();
        assert_eq!(
            read(&dir.join(".env")),
            "# keys\nexport GEMINI_API_KEY=sk-testkey0123456789abcdef # mine\nOTHER=1\nGOOGLE_GEMINI_BASE_URL=https://relay.example\nGEMINI_MODEL=gemini-2.5-pro\n"
        );
        let v: serde_json::Value = serde_json::from_str(&read(&dir.join("settings.json"))).unwrap();
        assert_eq!(v["security"]["auth"]["selectedType"], "gemini-api-key");
        assert_eq!(v["theme"], "Dracula");
    }

    #[test]
    fn an_unparsable_file_is_refused_with_its_error_and_left_untouched() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        let cases: [(&str, &str, Target); 4] = [
            (
                ".claude/settings.json",
                "{\n  \"env\": {\n    \"A\": \"1\"\n    \"B\": \"2\"\n  }\n}\n",
                Target::ClaudeCode,
            ),
            (".codex/config.toml", "model = \"o3\"\n[model_providers\nname = 1\n", Target::Codex),
            (".gemini/settings.json", "{\"security\": {\"auth\": 'x'}}", Target::GeminiCli),
            (".config/opencode/opencode.json", "{\"provider\": [}", Target::OpenCode),
        ];
        for (rel, bad, target) in cases {
            let f = home.path().join(rel);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, bad).unwrap();
            let e = plan(target, &source(), &Options::default(), &homes).unwrap_err();
            assert!(matches!(e, ExportError::Parse { .. }), "{target}: {e}");
            let msg = e.to_string();
            assert!(msg.contains(rel) && msg.contains("left untouched"), "{msg}");
            assert_eq!(read(&f), bad, "{target}: untouched");
            assert!(backups_of(&f).is_empty(), "{target}: no backup either");
        }
        let e = plan(Target::ClaudeCode, &source(), &Options::default(), &homes).unwrap_err();
        assert!(e.to_string().contains("Expected comma on line 3 column 13"), "the parser's position is shown: {e}");
        std::fs::write(home.path().join(".claude/settings.json"), "{\"env\": [\"x\"]}").unwrap();
        let e = plan(Target::ClaudeCode, &source(), &Options::default(), &homes).unwrap_err();
        assert!(e.to_string().contains("`env` is not an object"), "{e}");
    }

    #[test]
    fn a_file_changed_after_the_preview_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        let f = home.path().join(".claude/settings.json");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "{}\n").unwrap();
        let p = plan(Target::ClaudeCode, &source(), &Options::default(), &homes).unwrap();
        std::fs::write(&f, "{\"edited\": \"elsewhere\"}\n").unwrap();
        let e = apply(&p, None).unwrap_err();
        assert!(matches!(e, ExportError::Changed { .. }), "{e}");
        assert!(e.to_string().contains("changed since the preview"), "{e}");
        assert_eq!(read(&f), "{\"edited\": \"elsewhere\"}\n");
        assert!(backups_of(&f).is_empty());
        // A file that appeared since the preview of a missing one counts as changed too.
        let g = home.path().join(".codex/config.toml");
        let p = plan(Target::Codex, &source(), &Options::default(), &homes).unwrap();
        std::fs::create_dir_all(g.parent().unwrap()).unwrap();
        std::fs::write(&g, "x = 1\n").unwrap();
        assert!(matches!(apply(&p, None).unwrap_err(), ExportError::Changed { .. }));
        assert_eq!(read(&g), "x = 1\n");
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_files_and_folders_are_refused() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        let real = home.path().join("dotfiles/settings.json");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "{}\n").unwrap();
        std::fs::create_dir_all(home.path().join(".claude")).unwrap();
        std::os::unix::fs::symlink(&real, home.path().join(".claude/settings.json")).unwrap();
        let e = plan(Target::ClaudeCode, &source(), &Options::default(), &homes).unwrap_err();
        assert!(matches!(e, ExportError::Symlink { .. }), "{e}");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(read(&real), "{}\n");
        // A symlinked folder on the way.
        std::fs::create_dir_all(home.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(home.path().join("elsewhere"), home.path().join(".codex")).unwrap();
        let e = plan(Target::Codex, &source(), &Options::default(), &homes).unwrap_err();
        assert!(matches!(&e, ExportError::Symlink { path } if path.ends_with(".codex")), "{e}");
        assert!(std::fs::read_dir(home.path().join("elsewhere")).unwrap().next().is_none());
    }

    #[test]
    fn an_unwritable_folder_is_a_clear_error_and_nothing_changes() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        // OpenCode writes two files: the first folder is fine, the second cannot be made
        // (a file sits where `.local/share` should be), so the first write is rolled back.
        let cfg = home.path().join(".config/opencode/opencode.json");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, "{\"theme\": \"x\"}\n").unwrap();
        std::fs::create_dir_all(home.path().join(".local")).unwrap();
        std::fs::write(home.path().join(".local/share"), "not a folder").unwrap();
        let p = plan(Target::OpenCode, &source(), &Options::default(), &homes).unwrap();
        let e = apply(&p, Some(&home.path().join(".journal.json"))).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(".local/share/opencode") && msg.starts_with("cannot create the folder"), "{msg}");
        assert_eq!(read(&cfg), "{\"theme\": \"x\"}\n", "the first file is rolled back");
        assert!(!home.path().join(".journal.json").exists(), "nothing journaled");
    }

    #[test]
    fn undo_refuses_a_file_changed_after_the_write() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        let f = home.path().join(".gemini/.env");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "A=1\n").unwrap();
        write(Target::GeminiCli, &Options::default(), &homes);
        std::fs::write(&f, "A=2\n").unwrap();
        let e = plan_undo(&home.path().join(".journal.json"), None).unwrap_err();
        assert!(matches!(e, ExportError::UndoConflict { .. }), "{e}");
        assert!(e.to_string().contains(".env.bak."), "the backup is named for a manual restore: {e}");
        assert_eq!(read(&f), "A=2\n");
    }

    #[test]
    fn a_second_identical_write_changes_nothing() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        write(Target::Codex, &Options::default(), &homes);
        let p = plan(Target::Codex, &source(), &Options::default(), &homes).unwrap();
        assert!(p.is_noop());
        assert!(apply(&p, None).unwrap().files.is_empty());
        assert!(backups_of(&home.path().join(".codex/config.toml")).is_empty());
    }
}

mod links {
    use super::*;
    use apihub::exports::links::{CcApp, cc_switch, cherry_studio};
    use base64::Engine;

    fn query(url: &str) -> std::collections::HashMap<String, String> {
        url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
    }

    #[test]
    fn cherry_studio_decodes_to_the_documented_json() {
        let link = cherry_studio(&source());
        assert!(link.starts_with("cherrystudio://providers/api-keys?v=1&data="), "{link}");
        let q = query(&link);
        assert_eq!(q["v"], "1");
        let json = base64::engine::general_purpose::STANDARD.decode(&q["data"]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "apihub-relay-example", "baseUrl": "https://relay.example", "apiKey": KEY,
                "name": "relay.example", "type": "openai"})
        );
        // Cherry's own handler: raw `+`→`_`, `/`→`-` before parsing the query; the renderer maps them back.
        let raw = url::Url::parse(&link).unwrap().query().unwrap().replace('+', "_").replace('/', "-");
        let data: String = url::form_urlencoded::parse(raw.as_bytes()).find(|(k, _)| k == "data").unwrap().1.into();
        let back = base64::engine::general_purpose::STANDARD.decode(data.replace('_', "+").replace('-', "/")).unwrap();
        assert_eq!(back, json);
    }

    #[test]
    fn cc_switch_links_carry_the_documented_params_for_every_app() {
        let s = source();
        for app in CcApp::ALL {
            let q = query(&cc_switch(&s, app, Some("m-1")));
            assert_eq!(q["resource"], "provider");
            assert_eq!(q["app"], app.as_str());
            assert_eq!(q["apiKey"], KEY);
            assert_eq!(q["homepage"], "https://relay.example");
            assert_eq!(q["model"], "m-1");
            let endpoint = if app == CcApp::Codex { "https://relay.example/v1" } else { "https://relay.example" };
            assert_eq!(q["endpoint"], endpoint, "{app:?}");
            let name = if app == CcApp::Hermes { "relay-example" } else { "relay.example" };
            assert_eq!(q["name"], name, "{app:?}");
            assert_eq!(q.contains_key("haikuModel"), app == CcApp::Claude);
        }
        let link = cc_switch(&s, CcApp::Claude, None);
        assert!(link.starts_with("ccswitch://v1/import?resource=provider&app=claude&"), "{link}");
        let u = url::Url::parse(&link).unwrap();
        assert_eq!((u.scheme(), u.host_str(), u.path()), ("ccswitch", Some("v1"), "/import"));
        assert!(!query(&link).contains_key("model"));
    }
}

mod snippets {
    use super::*;
    use apihub::exports::snippets::{Shell, curl, env, python};

    #[test]
    fn each_protocol_gets_its_own_shape() {
        let mut s = source();
        assert!(env(&s, None, Shell::Posix).contains("export OPENAI_BASE_URL='https://relay.example/v1'"));
        assert!(curl(&s, "gpt-4o-mini").contains("'https://relay.example/v1/chat/completions'"));
        assert!(python(&s, "gpt-4o-mini").contains("OpenAI(base_url=\"https://relay.example/v1\""));
        s.protocol = Protocol::Anthropic;
        let e = env(&s, Some("claude-sonnet-4-5"), Shell::Posix);
        assert!(e.contains("ANTHROPIC_BASE_URL='https://relay.example'") && e.contains("ANTHROPIC_AUTH_TOKEN="), "{e}");
        let c = curl(&s, "claude-sonnet-4-5");
        assert!(c.contains("/v1/messages") && c.contains("x-api-key: ") && c.contains("anthropic-version"), "{c}");
        assert!(python(&s, "claude-sonnet-4-5").contains("anthropic.Anthropic(base_url=\"https://relay.example\""));
        s.protocol = Protocol::Gemini;
        assert!(curl(&s, "gemini-2.5-pro").contains("/v1beta/models/gemini-2.5-pro:generateContent"));
    }
}

mod model_check {
    use apihub::domain::pricing::{Billing, ModelOffer, SitePricing};
    use apihub::domain::snapshot::{AccountState, ApiKey, Part, Snapshot, UserInfo};
    use apihub::exports::source::model_warnings;

    #[test]
    fn a_key_that_cannot_use_the_model_is_named() {
        let offer = |m: &str, g: &[&str]| ModelOffer {
            model: m.into(),
            vendor: None,
            billing: Billing::Unknown { reason: String::new() },
            groups: Some(g.iter().map(|s| s.to_string()).collect()),
        };
        let state = AccountState {
            snapshot: Some(Box::new(Snapshot {
                user: Part::complete(UserInfo { group: "default".into(), ..Default::default() }),
                models: Part::complete(vec!["gpt-4o".into(), "claude-x".into()]),
                pricing: Part::complete(SitePricing {
                    models: vec![offer("gpt-4o", &["default"]), offer("claude-x", &["vip"])],
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..Default::default()
        };
        let key = ApiKey { name: "k".into(), status: 1, ..Default::default() };
        assert!(model_warnings("R", &state, Some(&key), "gpt-4o").is_empty());
        let w = model_warnings("R", &state, Some(&key), "claude-x");
        assert_eq!(w, ["claude-x is not enabled in group default (only in vip)"]);
        let limited = ApiKey { models: "gpt-4o".into(), ..key.clone() };
        let w = model_warnings("R", &state, Some(&limited), "claude-x");
        assert!(w[0].contains("limited to gpt-4o"), "{w:?}");
        let w = model_warnings("R", &state, Some(&key), "o9");
        assert!(w[0].contains("does not list o9"), "{w:?}");
        let vip = ApiKey { group: "vip".into(), ..key.clone() };
        assert!(model_warnings("R", &state, Some(&vip), "claude-x").is_empty(), "the key's own group counts");
        let off = ApiKey { status: 2, ..key };
        assert_eq!(model_warnings("R", &state, Some(&off), "gpt-4o"), ["key k is disabled"]);
    }
}

mod channel {
    use std::sync::{Arc, Mutex};

    use apihub::domain::{AuthMethod, Credentials, SiteKind};
    use apihub::exports::channel::{ChannelOptions, ChannelOutcome, import};
    use apihub::relay::AccountRef;
    use axum::Json;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    use serde_json::{Value, json};

    use super::*;

    /// Which server's shapes the fake admin API speaks.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Flavor {
        /// `mode` wrapper, `GET /api/channel/search` → `data.items`, `New-Api-User` required.
        #[default]
        NewApi,
        /// The channel itself, search → a bare array.
        OneApi,
        /// The channel itself, no search: `GET /api/channel/?name=` → `{data, total_count}`.
        DoneHub,
    }

    /// A fake admin API: keys hidden in lists, `status` refused in updates.
    #[derive(Default)]
    pub struct Admin {
        pub channels: Vec<Value>,
        pub creates: usize,
        pub updates: usize,
        pub flavor: Flavor,
    }

    type Shared = Arc<Mutex<Admin>>;

    /// The admin token; new-api also wants the admin's id in `New-Api-User`.
    fn authorised(h: &HeaderMap, flavor: Flavor) -> bool {
        let auth = h.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        auth.trim_start_matches("Bearer ") == "admintoken"
            && (flavor != Flavor::NewApi || h.get("new-api-user").and_then(|v| v.to_str().ok()) == Some("1"))
    }

    async fn search(
        State(s): State<Shared>,
        h: HeaderMap,
        q: axum::extract::Query<Vec<(String, String)>>,
    ) -> (StatusCode, Json<Value>) {
        if !authorised(&h, s.lock().unwrap().flavor) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"success": false, "message": "无权进行此操作，access token 无效"})),
            );
        }
        let s_flavor = s.lock().unwrap().flavor;
        let param = if s_flavor == Flavor::DoneHub { "name" } else { "keyword" };
        let Some(kw) = q.0.iter().find(|(k, _)| k == param).map(|(_, v)| v.clone()) else {
            return (StatusCode::NOT_FOUND, Json(json!({"success": false, "message": "Invalid URL"})));
        };
        let s = s.lock().unwrap();
        let hits: Vec<Value> = s
            .channels
            .iter()
            .filter(|c| c["name"].as_str().unwrap().contains(&kw))
            .map(|c| {
                let mut c = c.clone();
                c.as_object_mut().unwrap().remove("key");
                c
            })
            .collect();
        let data = match s.flavor {
            Flavor::OneApi => json!(hits),
            Flavor::NewApi => json!({"items": hits, "total": hits.len(), "type_counts": {}}),
            Flavor::DoneHub => json!({"data": hits, "page": 1, "size": 100, "total_count": hits.len()}),
        };
        (StatusCode::OK, Json(json!({"success": true, "message": "", "data": data})))
    }

    async fn write(
        State(s): State<Shared>,
        h: HeaderMap,
        method: axum::http::Method,
        Json(body): Json<Value>,
    ) -> (StatusCode, Json<Value>) {
        let mut s = s.lock().unwrap();
        if !authorised(&h, s.flavor) {
            return (StatusCode::UNAUTHORIZED, Json(json!({"success": false, "message": "unauthorised"})));
        }
        if method == axum::http::Method::POST {
            let wrapped = s.flavor == Flavor::NewApi;
            assert_eq!(body.get("mode").is_some(), wrapped, "{:?}: {body}", s.flavor);
            let mut ch = if wrapped { body["channel"].clone() } else { body };
            let id = s.channels.len() as i64 + 1;
            ch["id"] = json!(id);
            s.channels.push(ch);
            s.creates += 1;
            return (StatusCode::CREATED, Json(json!({"success": true, "message": "", "data": null})));
        }
        if body.get("status").is_some() {
            return (StatusCode::OK, Json(json!({"success": false, "message": "无效的参数"})));
        }
        let id = body["id"].as_i64().unwrap();
        let Some(ch) = s.channels.iter_mut().find(|c| c["id"] == id) else {
            return (StatusCode::NOT_FOUND, Json(json!({"success": false, "message": "渠道不存在"})));
        };
        for (k, v) in body.as_object().unwrap() {
            ch[k] = v.clone();
        }
        s.updates += 1;
        (StatusCode::OK, Json(json!({"success": true, "message": ""})))
    }

    pub async fn start(flavor: Flavor) -> (String, Shared) {
        let state: Shared = Arc::new(Mutex::new(Admin { flavor, ..Admin::default() }));
        let app = axum::Router::new()
            .route("/api/channel/search", get(search))
            .route("/api/channel/", get(search).post(write).put(write))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, state)
    }

    fn admin(url: &str, kind: SiteKind) -> (AccountRef, Credentials) {
        (
            AccountRef { site_url: url.into(), kind, user_id: "1".into(), auth: AuthMethod::AccessToken },
            Credentials { access_token: Some("admintoken".into()), ..Default::default() },
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn import_creates_once_and_updates_on_the_second_run() {
        for (flavor, kind) in [
            (Flavor::NewApi, SiteKind::NewApi),
            (Flavor::OneApi, SiteKind::OneApi),
            (Flavor::DoneHub, SiteKind::DoneHub),
        ] {
            let (url, state) = start(flavor).await;
            let (a, c) = admin(&url, kind);
            let relay = crate::common::fast_relay();
            let mut s = source();
            let first = import(&relay, &a, &c, &s, &ChannelOptions::default(), false).await.unwrap();
            assert!(matches!(first, ChannelOutcome::Created { .. }), "{first:?}");
            s.models.push("o3".into());
            let second = import(&relay, &a, &c, &s, &ChannelOptions::default(), false).await.unwrap();
            assert!(matches!(second, ChannelOutcome::Updated { id: 1, .. }), "{second:?}");
            let st = state.lock().unwrap();
            assert_eq!((st.channels.len(), st.creates, st.updates), (1, 1, 1), "{flavor:?}");
            let ch = &st.channels[0];
            assert_eq!(ch["key"], KEY);
            assert_eq!(ch["base_url"], "https://relay.example");
            assert_eq!(ch["models"], "gpt-4o-mini,claude-sonnet-4-5,o3", "the update carried the new model list");
            assert_eq!(ch["group"], "default");
            assert_eq!(
                (ch["type"].clone(), ch["status"].clone(), ch["priority"].clone()),
                (json!(1), json!(1), json!(0))
            );
            assert!(ch["name"].as_str().unwrap().starts_with("relay.example · main (apihub "), "{ch}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_key_gets_its_own_channel_and_a_dry_run_sends_nothing() {
        let (url, state) = start(Flavor::NewApi).await;
        let (a, c) = admin(&url, SiteKind::NewApi);
        let relay = crate::common::fast_relay();
        import(&relay, &a, &c, &source(), &ChannelOptions::default(), false).await.unwrap();
        let mut other = source();
        other.key = "sk-another-key-000000000000".into();
        let dry = import(&relay, &a, &c, &other, &ChannelOptions::default(), true).await.unwrap();
        assert!(matches!(dry, ChannelOutcome::Created { .. }), "same label, other key: a new channel");
        assert_eq!(state.lock().unwrap().creates, 1, "the dry run sent nothing");
        let (bad, _) = admin(&url, SiteKind::NewApi);
        let e = import(
            &relay,
            &bad,
            &Credentials { access_token: Some("nope".into()), ..Default::default() },
            &other,
            &ChannelOptions::default(),
            false,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains(&url), "names the site: {e}");
        let mut same_site = source();
        same_site.base_url = url.clone();
        let e = import(&relay, &a, &c, &same_site, &ChannelOptions::default(), false).await.unwrap_err();
        assert!(e.to_string().contains("loop"), "{e}");
    }
}

mod cli {
    use apihub::domain::snapshot::{AccountState, ApiKey, Part, Snapshot};
    use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
    use apihub::store::Store;

    use super::*;

    /// A data dir with one account on https://relay.example holding key #7 (full) and #8 (disabled).
    fn data_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        seed(dir.path(), "https://relay.example");
        dir
    }

    /// Not a check: seeds `$APIHUB_SEED_DIR` with that account on `$APIHUB_SEED_URL`, for
    /// pointing real clients (Claude Code, Codex) at a local fake upstream by hand.
    #[test]
    #[ignore]
    fn seed_a_store_for_trying_real_clients() {
        let (Ok(dir), Ok(url)) = (std::env::var("APIHUB_SEED_DIR"), std::env::var("APIHUB_SEED_URL")) else { return };
        seed(Path::new(&dir), &url);
    }

    fn seed(dir: &Path, url: &str) {
        let mut s = Store::open(dir).unwrap().store;
        let id = s
            .upsert_account(&NewAccount {
                site_url: url.into(),
                site_name: "relay.example".into(),
                kind: SiteKind::NewApi,
                user_id: "5".into(),
                username: "alice".into(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
            })
            .unwrap();
        assert_eq!(id, 1);
        let key = |id: i64, name: &str, k: &str, status: i64| ApiKey {
            id,
            name: name.into(),
            key: k.into(),
            status,
            unlimited_quota: true,
            expired_time: -1,
            ..Default::default()
        };
        let state = AccountState {
            snapshot: Some(Box::new(Snapshot {
                keys: Part::complete(vec![key(7, "main", KEY, 1), key(8, "off", "sk-disabled-000000000000", 2)]),
                models: Part::complete(vec!["gpt-4o-mini".into(), "claude-sonnet-4-5".into()]),
                ..Default::default()
            })),
            ..Default::default()
        };
        s.save_account_state(id, &state, "2026-01-01").unwrap();
    }

    fn apihub(data: &Path, home: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
        c.env("APIHUB_LOG", "off").env("HOME", home).env("USERPROFILE", home).current_dir(home);
        for v in ["CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "GEMINI_CLI_HOME"] {
            c.env_remove(v);
        }
        c.arg("--data-dir").arg(data).arg("use");
        c
    }

    fn tree(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(tree(&p));
            } else {
                out.push(p);
            }
        }
        out.sort();
        out
    }

    #[test]
    fn dry_run_prints_the_diff_and_writes_nothing_then_write_and_undo() {
        let data = data_dir();
        let home = tempfile::tempdir().unwrap();
        let cfg = tempfile::tempdir().unwrap();
        let out = apihub(data.path(), home.path())
            .env("CLAUDE_CONFIG_DIR", cfg.path())
            .args(["claude-code", "--account", "1", "--model", "claude-sonnet-4-5", "--dry-run"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let diff = String::from_utf8_lossy(&out.stdout);
        assert!(
            diff.contains("+++ ") && diff.contains("ANTHROPIC_BASE_URL") && diff.contains("https://relay.example\""),
            "{diff}"
        );
        assert!(!diff.contains("0123456789abcdef"), "masked: {diff}");
        assert!(tree(cfg.path()).is_empty() && tree(home.path()).is_empty(), "a dry run writes nothing");

        let out = apihub(data.path(), home.path())
            .env("CLAUDE_CONFIG_DIR", cfg.path())
            .args(["claude-code", "--account", "1", "--model", "claude-sonnet-4-5"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let f = cfg.path().join("settings.json");
        let v: serde_json::Value = serde_json::from_str(&read(&f)).unwrap();
        assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], KEY, "key #7: the enabled one");
        assert!(String::from_utf8_lossy(&out.stdout).contains("apihub use undo claude-code"));

        let out =
            apihub(data.path(), home.path()).env("CLAUDE_CONFIG_DIR", cfg.path()).args(["undo"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!f.exists(), "undo removed the file the write created");
    }

    #[test]
    fn each_tools_environment_variable_moves_its_files() {
        let data = data_dir();
        let home = tempfile::tempdir().unwrap();
        let moved = tempfile::tempdir().unwrap();
        let m = moved.path();
        let cases: [(&str, &str, &str); 3] = [
            ("codex", "CODEX_HOME", "codex/config.toml"),
            ("gemini-cli", "GEMINI_CLI_HOME", "gemini/.gemini/.env"),
            ("opencode", "XDG_CONFIG_HOME", "xdg/opencode/opencode.json"),
        ];
        for (target, var, file) in cases {
            let dir = m.join(file.split('/').next().unwrap());
            let out = apihub(data.path(), home.path())
                .env(var, &dir)
                .env("XDG_DATA_HOME", m.join("xdg-data"))
                .args([target, "--account", "1"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{target}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(m.join(file).is_file(), "{target}: {var} honoured");
        }
        assert!(m.join("xdg-data/opencode/auth.json").is_file(), "XDG_DATA_HOME honoured");
        assert!(tree(home.path()).is_empty(), "nothing under HOME");
    }

    #[test]
    fn snippets_links_and_the_model_check_on_the_command_line() {
        let data = data_dir();
        let home = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = apihub(data.path(), home.path()).args(args).output().unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, out, _) = run(&["env", "--account", "1", "--shell", "posix"]);
        assert_eq!(code, Some(0));
        assert_eq!(out, format!("export OPENAI_BASE_URL='https://relay.example/v1'\nexport OPENAI_API_KEY='{KEY}'\n"));
        let (_, out, _) = run(&["env", "--account", "1", "--model", "claude-sonnet-4-5", "--shell", "posix"]);
        assert!(
            out.contains("ANTHROPIC_AUTH_TOKEN") && out.contains("ANTHROPIC_MODEL='claude-sonnet-4-5'"),
            "new-api + Claude: Messages shape: {out}"
        );
        let (_, out, _) = run(&["curl", "--account", "1"]);
        assert!(out.contains("\"model\":\"gpt-4o-mini\""), "the first listed model: {out}");
        let (_, out, _) = run(&["python", "--account", "1", "--model", "gpt-4o-mini"]);
        assert!(out.contains("from openai import OpenAI"), "{out}");
        let (code, out, _) = run(&["cherry-studio", "--account", "1", "--dry-run"]);
        assert_eq!(code, Some(0));
        assert!(out.starts_with("cherrystudio://providers/api-keys?v=1&data="), "{out}");
        let (code, out, _) = run(&["cc-switch", "--app", "codex", "--account", "1", "--dry-run"]);
        assert_eq!(code, Some(0));
        assert!(out.starts_with("ccswitch://v1/import?resource=provider&app=codex&"), "{out}");
        let (code, _, err) = run(&["curl", "--account", "1", "--model", "o9"]);
        assert_eq!(code, Some(0));
        assert!(err.contains("warning: relay.example does not list o9"), "{err}");
        assert!(tree(home.path()).is_empty(), "none of these write files");
    }

    #[test]
    fn bad_input_is_one_clear_line_and_changes_nothing() {
        let data = data_dir();
        let home = tempfile::tempdir().unwrap();
        let f = home.path().join(".claude/settings.json");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "{\"env\": {\"X\": \"1\"}}\n").unwrap();
        let cases: [(&[&str], i32, &str); 9] = [
            (&["vim", "--account", "1"], 2, "invalid value 'vim'"),
            (&["claude-code", "--account", "99"], 1, "no account with id 99"),
            (&["claude-code", "--account", "1", "--key", "42"], 1, "no key #42"),
            (&["claude-code"], 1, "--account ID"),
            (&["cc-switch", "--account", "1"], 1, "--app is required"),
            (&["env", "--account", "1", "--app", "claude"], 1, "--app is for cc-switch"),
            (&["new-api-channel", "--account", "1"], 1, "--admin-url"),
            (&["codex", "--account", "1", "--scope", "project"], 1, "cannot define providers"),
            (&["claude-code", "--gateway", "--account", "1"], 2, "cannot be used with"),
        ];
        for (args, code, msg) in cases {
            let out = apihub(data.path(), home.path()).args(args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
            assert!(err.contains(msg), "{args:?}: {err}");
            if code == 1 {
                assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
            }
        }
        std::fs::write(&f, "{\"env\": {\"X\": \"1\",}\n").unwrap();
        let out = apihub(data.path(), home.path()).args(["claude-code", "--account", "1"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("settings.json") && err.contains("does not parse"), "{err}");
        assert_eq!(read(&f), "{\"env\": {\"X\": \"1\",}\n");
        assert_eq!(tree(home.path()), vec![f], "nothing else written");
    }

    #[test]
    fn the_gateway_as_a_source_points_the_tool_at_the_local_address_with_the_local_key() {
        let data = data_dir();
        let home = tempfile::tempdir().unwrap();
        let out = apihub(data.path(), home.path())
            .args(["env", "--gateway", "--model", "claude-sonnet-4-5", "--shell", "posix"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("export ANTHROPIC_BASE_URL='http://127.0.0.1:8765'"), "{text}");
        assert!(text.contains("export ANTHROPIC_AUTH_TOKEN='sk-local-"), "{text}");
        assert!(!text.contains(KEY), "the gateway's key, not the site's: {text}");
        let out = apihub(data.path(), home.path())
            .args(["codex", "--gateway", "--model", "gpt-4o-mini", "--dry-run"])
            .output()
            .unwrap();
        let diff = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(diff.contains("base_url = \"http://127.0.0.1:8765/v1\""), "{diff}");
        assert!(diff.contains("[model_providers.apihub-gateway]"), "{diff}");
        assert!(tree(home.path()).is_empty(), "dry run writes nothing");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn channel_import_from_the_command_line_creates_then_updates() {
        let (url, state) = super::channel::start(super::channel::Flavor::NewApi).await;
        let data = data_dir();
        let home = tempfile::tempdir().unwrap();
        for _ in 0..2 {
            let mut c = apihub(data.path(), home.path());
            c.env("ADMIN_T", "admintoken").args([
                "new-api-channel",
                "--account",
                "1",
                "--admin-url",
                &url,
                "--admin-token-env",
                "ADMIN_T",
                "--admin-kind",
                "new-api",
            ]);
            let out = tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let st = state.lock().unwrap();
        assert_eq!((st.channels.len(), st.creates, st.updates), (1, 1, 1));
    }
}

mod gui {
    use apihub::ui::diff_view::side_by_side_ui;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    use super::*;

    #[test]
    fn the_diff_dialog_shows_both_sides_with_the_key_masked() {
        let home = tempfile::tempdir().unwrap();
        let homes = Homes::under(home.path());
        let f = home.path().join(".claude/settings.json");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "{\n  \"theme\": \"dark\"\n}\n").unwrap();
        let p = plan(Target::ClaudeCode, &source(), &Options::default(), &homes).unwrap();
        let rows = p.side_by_side(&p.changes[0]);
        let harness = Harness::new_ui(|ui| side_by_side_ui(ui, "diff", &rows, 400.0));
        harness.get_by_label("  \"theme\": \"dark\"");
        harness.get_by_label("  \"theme\": \"dark\",");
        harness.get_by_label("    \"ANTHROPIC_AUTH_TOKEN\": \"sk-tes…def\"");
        assert_eq!(rows.len(), 7, "{rows:?}");
        assert!(harness.query_by_label_contains("0123456789abcdef").is_none(), "the key never reaches the screen");
    }

    /// The window: an account with a key, "Use in…" → Claude Code from the account's
    /// detail, the dialog's diff, Enter applies, the file is written, Undo removes it.
    #[test]
    fn use_in_from_the_window_previews_applies_and_undoes() {
        use apihub::domain::snapshot::{AccountState, ApiKey, Part, Snapshot};
        use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

        use super::common::{app_in_homes, click_row, run_until, ui_lock};
        let _l = ui_lock();
        let home = tempfile::tempdir().unwrap();
        let mut homes = Homes::under(home.path());
        homes.claude_config_dir = Some(home.path().join("claude-dir"));
        let file = home.path().join("claude-dir/settings.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "{\n  // mine\n  \"theme\": \"dark\"\n}\n").unwrap();
        let mut t = app_in_homes(tempfile::tempdir().unwrap(), Some(homes), |s| {
            s.set_setting("ui.lang", "en").unwrap();
            let id = s
                .upsert_account(&NewAccount {
                    site_url: "https://relay.example".into(),
                    site_name: "Relaysite".into(),
                    kind: SiteKind::NewApi,
                    user_id: "1".into(),
                    username: "ann".into(),
                    auth: AuthMethod::AccessToken,
                    credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
                })
                .unwrap();
            let key = ApiKey { id: 7, name: "main".into(), key: KEY.into(), status: 1, ..Default::default() };
            let state = AccountState {
                snapshot: Some(Box::new(Snapshot {
                    keys: Part::complete(vec![key]),
                    models: Part::complete(vec!["claude-sonnet-4-5".into()]),
                    ..Default::default()
                })),
                ..Default::default()
            };
            s.save_account_state(id, &state, "2026-12-06").unwrap();
        });
        let h = &mut t.harness;
        h.set_size(egui::vec2(1400.0, 900.0));
        run_until(h, "accounts loaded", |h| h.query_by_label("Relaysite").is_some());
        click_row(h, "Relaysite");
        run_until(h, "detail open", |h| h.query_all_by_label("Use in…").next().is_some());
        h.get_all_by_label("Use in…").next().unwrap().click();
        h.run();
        h.get_by_label("Claude Code").click();
        run_until(h, "diff shown", |h| h.query_by_label_contains("\"ANTHROPIC_AUTH_TOKEN\": \"sk-tes…def\"").is_some());
        assert!(h.query_by_label("Use in Claude Code").is_some(), "the dialog's title");
        assert_eq!(h.query_all_by_label("  // mine").count(), 2, "the user's comment on both sides");
        assert!(h.query_by_label_contains("0123456789abcdef").is_none(), "the key never reaches the screen");
        assert_eq!(read(&file), "{\n  // mine\n  \"theme\": \"dark\"\n}\n", "a preview writes nothing");

        h.key_press(egui::Key::Enter);
        run_until(h, "written", |h| h.query_by_label("Undo").is_some());
        assert!(h.query_by_label("Use in Claude Code").is_none(), "the dialog closed");
        let text = read(&file);
        assert!(text.contains("// mine") && text.contains(KEY), "{text}");
        assert_eq!(backups_of(&file).len(), 1);

        h.get_by_label("Undo").click();
        run_until(h, "undone", |h| h.query_by_label("Undo").is_none());
        assert_eq!(read(&file), "{\n  // mine\n  \"theme\": \"dark\"\n}\n", "restored byte for byte");

        // Esc closes a dialog without writing.
        h.get_all_by_label("Use in…").next().unwrap().click();
        h.run();
        h.get_by_label("Claude Code").click();
        run_until(h, "dialog open", |h| h.query_by_label("Use in Claude Code").is_some());
        h.key_press(egui::Key::Escape);
        run_until(h, "dialog closed", |h| h.query_by_label("Use in Claude Code").is_none());
        assert_eq!(read(&file), "{\n  // mine\n  \"theme\": \"dark\"\n}\n");
    }
}

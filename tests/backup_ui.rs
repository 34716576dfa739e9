//! The backup section (egui_kittest, no GPU): the WebDAV "Test connection" button sends
//! the typed settings; running that against a real in-process WebDAV server shows
//! success, and the failure text for a wrong password.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use apihub::app::backup::{Outcome, SecretsChoice};
use apihub::app::command::BackupCmd;
use apihub::app::{AppState, Command, EnvInfo};
use apihub::backup::webdav::{WebDav, WebDavConfig};
use apihub::ui::backup::BackupSection;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use dav_server::DavHandler;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

struct Ui {
    section: BackupSection,
    view: AppState,
    actions: Vec<Command>,
}

async fn dav(State(dav): State<DavHandler>, req: Request) -> Response {
    let want = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bob:right-pass"));
    if req.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
        return Response::builder().status(StatusCode::UNAUTHORIZED).body(Body::empty()).unwrap();
    }
    dav.handle(req).await.into_response()
}

fn start_server(rt: &tokio::runtime::Runtime) -> String {
    rt.block_on(async {
        let handler = DavHandler::builder()
            .filesystem(dav_server::memfs::MemFs::new())
            .locksystem(dav_server::memls::MemLs::new())
            .strip_prefix("/dav")
            .build_handler();
        let app = axum::Router::new()
            .route("/dav", axum::routing::any(dav))
            .route("/dav/", axum::routing::any(dav))
            .route("/dav/{*path}", axum::routing::any(dav))
            .with_state(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/dav")
    })
}

/// What the app will do with the action: run the test and report one line.
fn run_test(rt: &tokio::runtime::Runtime, cfg: &WebDavConfig) -> Outcome {
    match rt.block_on(async { WebDav::new(cfg)?.test_connection().await }) {
        Ok(()) => Outcome::Ok("Connected".into()),
        Err(e) => Outcome::Err(e.to_string()),
    }
}

fn harness() -> Harness<'static, Ui> {
    // The section's labels are translated; these tests read the English ones.
    apihub::app::i18n::set_lang(apihub::app::i18n::Lang::En);
    let env = EnvInfo {
        data_dir: "/tmp/apihub-test".into(),
        data_dir_source: apihub::store::DataDirSource::CommandLine,
        key_location: apihub::store::KeyLocation::Keychain,
        version: "0",
        commit: "test",
    };
    let view = AppState::new(env, apihub::app::i18n::Lang::En, Default::default());
    let state = Ui { section: BackupSection::default(), view, actions: Vec::new() };
    Harness::builder().with_size(egui::vec2(900.0, 1000.0)).build_ui_state(
        |ui, s: &mut Ui| {
            egui::ScrollArea::vertical().show(ui, |ui| s.section.ui(ui, &s.view, &mut s.actions));
        },
        state,
    )
}

fn type_into(h: &mut Harness<'static, Ui>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

fn take_test_action(h: &mut Harness<'static, Ui>) -> WebDavConfig {
    h.get_by_label("Test connection").click();
    h.run();
    let actions = std::mem::take(&mut h.state_mut().actions);
    match actions.as_slice() {
        [Command::Backup(BackupCmd::TestWebDav(cfg))] => cfg.clone(),
        other => panic!("expected one TestWebDav action, got {other:?}"),
    }
}

#[test]
fn webdav_test_connection_shows_success_and_the_wrong_password_failure() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = start_server(&rt);
    let mut h = harness();
    h.run();
    type_into(&mut h, "Server URL", &url);
    type_into(&mut h, "Username", "bob");
    type_into(&mut h, "Password", "right-pass");
    let cfg = take_test_action(&mut h);
    assert_eq!((cfg.url.as_str(), cfg.username.as_str(), cfg.password.as_str()), (url.as_str(), "bob", "right-pass"));
    assert_eq!(cfg.remote_path, "/api-hub-desk");
    h.state_mut().view.backup.webdav_outcome = Some(run_test(&rt, &cfg));
    h.run();
    assert!(h.query_by_label("Connected").is_some(), "success is shown: {:?}", h.state().view.backup.webdav_outcome);

    type_into(&mut h, "Password", "-typo");
    let cfg = take_test_action(&mut h);
    assert_eq!(cfg.password, "right-pass-typo");
    h.state_mut().view.backup.webdav_outcome = Some(run_test(&rt, &cfg));
    h.run();
    assert!(h.query_by_label_contains("refused the username or password").is_some(), "failure text is shown");
    assert!(h.query_by_label("Connected").is_none());
}

#[test]
fn back_up_now_needs_a_passphrase_or_an_explicit_without_secrets_choice() {
    let mut h = harness();
    h.run();
    h.get_by_label("Back up now").click();
    h.run();
    assert!(h.state().actions.is_empty(), "disabled without a passphrase");
    assert!(h.query_by_label_contains("Enter a passphrase").is_some());
    type_into(&mut h, "Backup passphrase", "pw");
    h.get_by_label("Back up now").click();
    h.run();
    let actions = h.state_mut().actions.drain(..).collect::<Vec<_>>();
    assert!(
        matches!(actions.as_slice(), [Command::Backup(BackupCmd::BackUpNow(c))] if *c == SecretsChoice::Passphrase("pw".into())),
        "{actions:?}"
    );
}

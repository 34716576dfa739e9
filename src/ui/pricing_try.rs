//! The "Try a model" window (opened from the per-model detail) and the "last verified"
//! text shown beside prices. The request runs as a job (`Command::Pricing(PricingCmd::TryModel)`); the window
//! only reads [`crate::app::try_jobs::TryState`].

use crate::app::command::PricingCmd;
use crate::app::i18n::{fill, tr};
use crate::app::{AppState, Command};
use crate::domain::AccountId;
use crate::domain::pricing::{LastVerified, latency_text};
use crate::engine::try_model::{KeyChoice, usable_keys};
use crate::relay::try_model::{DEFAULT_MAX_TOKENS, DEFAULT_PROMPT, MAX_TOKENS_LIMIT, TryErrorKind, TryKind};
use crate::ui::widgets;

/// The open window's form.
#[derive(Debug, Clone, PartialEq)]
pub struct TryDialog {
    /// Which account.
    pub account: AccountId,
    /// "Site · account", for the heading.
    pub account_text: String,
    /// The exact model name.
    pub model: String,
    /// The chosen key.
    pub key: KeyChoice,
    /// Prompt (chat) or input (embeddings).
    pub prompt: String,
    /// Most tokens of the reply.
    pub max_tokens: u32,
    /// Chat or embeddings (from the model's name).
    pub kind: TryKind,
}

impl TryDialog {
    /// A form with the defaults.
    pub fn new(account: AccountId, account_text: String, model: &str) -> TryDialog {
        TryDialog {
            account,
            account_text,
            model: model.to_string(),
            key: KeyChoice::Auto,
            prompt: DEFAULT_PROMPT.to_string(),
            max_tokens: DEFAULT_MAX_TOKENS,
            kind: TryKind::for_model(model),
        }
    }
}

/// The translated name of an error class.
pub fn error_label(kind: &str) -> &'static str {
    match TryErrorKind::parse(kind) {
        TryErrorKind::Auth => tr("pricing.try.error.auth"),
        TryErrorKind::RateLimited => tr("pricing.try.error.rate_limited"),
        TryErrorKind::ModelUnavailable => tr("pricing.try.error.model_unavailable"),
        TryErrorKind::Quota => tr("pricing.try.error.quota"),
        TryErrorKind::BadRequest => tr("pricing.try.error.bad_request"),
        TryErrorKind::Unavailable => tr("pricing.try.error.unavailable"),
        TryErrorKind::Challenge => tr("pricing.try.error.challenge"),
        TryErrorKind::NotSupported => tr("pricing.try.error.not_supported"),
        TryErrorKind::Malformed => tr("pricing.try.error.malformed"),
    }
}

/// "✓ 0.4 s → 1.2 s · 3 hours ago" or "× Model unavailable · 3 hours ago", and whether it worked.
pub fn verified_text(v: &LastVerified, now: i64) -> (String, bool) {
    let age = widgets::age_text(v.at, now);
    if v.ok {
        (fill(tr("pricing.verified.ok"), &[("latency", &v.latency()), ("age", &age)]), true)
    } else {
        let error = error_label(v.error_kind.as_deref().unwrap_or_default());
        (fill(tr("pricing.verified.failed"), &[("error", &error), ("age", &age)]), false)
    }
}

/// Draws the last-verified cell (hover: the reply or the server's message).
pub fn verified_ui(ui: &mut egui::Ui, v: Option<&LastVerified>, now: i64) {
    let Some(v) = v else {
        ui.weak(tr("pricing.verified.never"));
        return;
    };
    let (text, ok) = verified_text(v, now);
    let resp = if ok { ui.label(text) } else { ui.colored_label(ui.visuals().error_fg_color, text) };
    if !v.message.is_empty() {
        resp.on_hover_text(&v.message);
    }
}

fn key_text(name: &str, key: &str) -> String {
    format!("{name} ({})", crate::logging::mask_secret(key))
}

/// Draws the window; returns false when it was closed.
pub fn try_window_ui(ctx: &egui::Context, d: &mut TryDialog, state: &AppState, cmds: &mut Vec<Command>) -> bool {
    let mut open = true;
    egui::Window::new(tr("pricing.try.title"))
        .collapsible(false)
        .open(&mut open)
        .default_width(460.0)
        .show(ctx, |ui| form_ui(ui, d, state, cmds));
    if ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
        open = false;
    }
    open
}

fn form_ui(ui: &mut egui::Ui, d: &mut TryDialog, state: &AppState, cmds: &mut Vec<Command>) {
    ui.heading(&d.model);
    ui.label(egui::RichText::new(&d.account_text).weak());
    ui.add_space(4.0);
    let keys = state
        .sites
        .states
        .get(&d.account)
        .and_then(|s| s.snapshot.as_ref())
        .and_then(|s| s.keys.value.as_deref())
        .unwrap_or_default();
    let usable = usable_keys(keys, &d.model);
    let key_only = state
        .sites
        .accounts
        .value()
        .and_then(|a| a.iter().find(|a| a.id == d.account))
        .is_some_and(|a| a.auth == crate::domain::AuthMethod::ApiKey);
    let running = state.pricing.tries.is_running(d.account, &d.model);
    egui::Grid::new("pricing_try_form").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
        let label = ui.label(tr("pricing.try.key"));
        let mut options: Vec<(KeyChoice, String, bool)> =
            vec![(KeyChoice::Auto, tr("pricing.try.key_auto").into(), false)];
        if key_only {
            options.push((KeyChoice::AccountKey, tr("pricing.try.key_account").into(), false));
        }
        for k in &usable {
            let mut text = key_text(&k.name, &k.key);
            if k.masked {
                text.push(' ');
                text.push_str(tr("pricing.try.key_masked"));
            }
            options.push((KeyChoice::Id(k.id), text, k.masked));
        }
        let selected = options.iter().find(|o| o.0 == d.key).map(|o| o.1.clone()).unwrap_or_default();
        egui::ComboBox::from_id_salt("pricing_try_key")
            .selected_text(selected)
            .width(300.0)
            .show_ui(ui, |ui| {
                for (choice, text, masked) in &options {
                    let r = ui.selectable_value(&mut d.key, *choice, text);
                    if *masked {
                        r.on_hover_text(tr("pricing.try.key_masked_hint"));
                    }
                }
            })
            .response
            .labelled_by(label.id);
        ui.end_row();
        if usable.is_empty() && !key_only {
            ui.label("");
            ui.colored_label(ui.visuals().warn_fg_color, tr("pricing.try.no_keys"));
            ui.end_row();
        }
        let prompt_key = if d.kind == TryKind::Embedding { "pricing.try.input" } else { "pricing.try.prompt" };
        let label = ui.label(tr(prompt_key));
        ui.add(egui::TextEdit::singleline(&mut d.prompt).desired_width(300.0)).labelled_by(label.id);
        ui.end_row();
        ui.label("");
        let mut embedding = d.kind == TryKind::Embedding;
        if ui.checkbox(&mut embedding, tr("pricing.try.as_embedding")).changed() {
            d.kind = if embedding { TryKind::Embedding } else { TryKind::Chat };
        }
        ui.end_row();
        if d.kind == TryKind::Chat {
            let label = ui.label(tr("pricing.try.max_tokens"));
            ui.add(egui::DragValue::new(&mut d.max_tokens).range(1..=MAX_TOKENS_LIMIT)).labelled_by(label.id);
            ui.end_row();
        }
    });
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        if ui.add_enabled(!running, egui::Button::new(tr("pricing.try.send"))).clicked() {
            cmds.push(Command::Pricing(PricingCmd::TryModel {
                account: d.account,
                model: d.model.clone(),
                key: d.key,
                prompt: d.prompt.clone(),
                max_tokens: d.max_tokens,
                kind: d.kind,
            }));
        }
        if running {
            ui.spinner();
            ui.label(tr("pricing.try.sending"));
        }
    });
    let Some(run) = state.pricing.tries.run.as_ref().filter(|r| r.account == d.account && r.model == d.model) else {
        return;
    };
    let Some(result) = &run.result else {
        // Running: the reply as it streams in.
        let partial = run.partial_text();
        if !partial.is_empty() {
            ui.separator();
            ui.add(egui::Label::new(partial).wrap());
        }
        return;
    };
    ui.separator();
    match result {
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, fill(tr("pricing.try.not_sent"), &[("error", e)]));
        }
        Ok(report) => {
            ui.label(egui::RichText::new(fill(tr("pricing.try.sent_with"), &[("key", &report.key_masked)])).weak());
            match &report.result {
                Ok(o) => {
                    let total = latency_text(o.total_ms);
                    let latency = match o.ttft_ms {
                        Some(f) => fill(tr("pricing.try.latency"), &[("ttft", &latency_text(f)), ("total", &total)]),
                        None => fill(tr("pricing.try.total"), &[("total", &total)]),
                    };
                    ui.horizontal(|ui| {
                        ui.strong(tr("pricing.try.ok"));
                        ui.label(latency);
                    });
                    match o.dimensions {
                        Some(n) => {
                            ui.label(fill(tr("pricing.try.dimensions"), &[("n", &n)]));
                        }
                        None => {
                            ui.label(egui::RichText::new(tr("pricing.try.reply")).weak());
                            egui::Frame::group(ui.style()).show(ui, |ui| {
                                egui::ScrollArea::vertical().max_height(160.0).show(ui, |ui| {
                                    if o.reply.is_empty() {
                                        ui.weak(tr("pricing.try.empty_reply"));
                                    } else {
                                        ui.add(egui::Label::new(&o.reply).selectable(true).wrap());
                                    }
                                });
                            });
                        }
                    }
                }
                Err(e) => {
                    let head = match e.status {
                        Some(s) => format!("× {} (HTTP {s})", error_label(e.kind.as_str())),
                        None => format!("× {}", error_label(e.kind.as_str())),
                    };
                    ui.colored_label(ui.visuals().error_fg_color, head);
                    ui.add(egui::Label::new(&e.message).selectable(true).wrap());
                }
            }
        }
    }
}

//! The Notifications section of the Settings panel: the channels (kind, where each
//! sends without its secrets, ok / failing and why, a Test button with its result),
//! the add / edit dialog (fields per kind, secrets in masked fields, checks as you
//! type), quiet hours, the daily summary, retries, and the recent events with where
//! each was delivered.

use crate::app::command::NotifyCmd;
use crate::app::i18n::{fill, tr};
use crate::app::notify::{DialogStatus, TestState};
use crate::app::{AppState, Command, Severity};
use crate::domain::notify::{
    ChannelConfig, ChannelKind, ChannelSpec, EventKind, NotifySettings, SmtpSecurity, condition_line,
};
use crate::domain::settings::{format_hhmm, parse_hhmm};
use crate::store::{DeliveryState, HistoryRow};
use crate::ui::widgets::severity_text;

/// One input of the dialog, bound to a [`ChannelConfig`] field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Url,
    Token,
    ChatId,
    ApiBase,
    Server,
    Topic,
    Secret,
    Host,
    Port,
    User,
    Password,
    From,
    To,
}

/// What a field needs: required, a URL, one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Required,
    Optional,
}

/// The fields of a kind: (field, label key, rule, secret).
fn fields(kind: ChannelKind) -> &'static [(Field, &'static str, Rule, bool)] {
    use Field::*;
    use Rule::*;
    match kind {
        ChannelKind::Telegram => &[
            (Token, "notify.f.bot_token", Required, true),
            (ChatId, "notify.f.chat_id", Required, false),
            (ApiBase, "notify.f.api_base", Optional, false),
        ],
        ChannelKind::Webhook => {
            &[(Url, "notify.f.webhook_url", Required, true), (Secret, "notify.f.secret_header", Optional, true)]
        }
        ChannelKind::Ntfy => &[
            (Server, "notify.f.server", Optional, false),
            (Topic, "notify.f.topic", Required, false),
            (Token, "notify.f.access_token", Optional, true),
        ],
        ChannelKind::Bark => {
            &[(Server, "notify.f.server", Optional, false), (Token, "notify.f.device_key", Required, true)]
        }
        ChannelKind::Feishu | ChannelKind::Dingtalk => {
            &[(Url, "notify.f.webhook_url", Required, true), (Secret, "notify.f.sign_secret", Optional, true)]
        }
        ChannelKind::Wecom => &[(Url, "notify.f.webhook_url", Required, true)],
        ChannelKind::Email => &[
            (Host, "notify.f.host", Required, false),
            (Port, "notify.f.port", Optional, false),
            (User, "notify.f.user", Optional, false),
            (Password, "notify.f.password", Optional, true),
            (From, "notify.f.from", Required, false),
            (To, "notify.f.to", Required, false),
        ],
    }
}

/// A field's example value (the service's documented URL shape).
fn hint(kind: ChannelKind, f: Field) -> &'static str {
    match (kind, f) {
        (ChannelKind::Telegram, Field::Token) => "123456:ABC-DEF…",
        (ChannelKind::Telegram, Field::ChatId) => "-100… / 123456789 / @channel",
        (ChannelKind::Telegram, Field::ApiBase) => "https://api.telegram.org",
        (ChannelKind::Webhook, Field::Url) => "https://example.com/hook",
        (ChannelKind::Ntfy, Field::Server) => "https://ntfy.sh",
        (ChannelKind::Ntfy, Field::Token) => "tk_…",
        (ChannelKind::Bark, Field::Server) => "https://api.day.app",
        (ChannelKind::Feishu, Field::Url) => "https://open.feishu.cn/open-apis/bot/v2/hook/…",
        (ChannelKind::Dingtalk, Field::Url) => "https://oapi.dingtalk.com/robot/send?access_token=…",
        (ChannelKind::Dingtalk, Field::Secret) => "SEC…",
        (ChannelKind::Wecom, Field::Url) => "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
        (ChannelKind::Email, Field::Host) => "smtp.example.com",
        (ChannelKind::Email, Field::From) => "API Hub Desk <me@example.com>",
        (ChannelKind::Email, Field::To) => "me@example.com, ops@example.com",
        _ => "",
    }
}

fn kind_key(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Telegram => "notify.kind.telegram",
        ChannelKind::Webhook => "notify.kind.webhook",
        ChannelKind::Ntfy => "notify.kind.ntfy",
        ChannelKind::Bark => "notify.kind.bark",
        ChannelKind::Feishu => "notify.kind.feishu",
        ChannelKind::Dingtalk => "notify.kind.dingtalk",
        ChannelKind::Wecom => "notify.kind.wecom",
        ChannelKind::Email => "notify.kind.email",
    }
}

fn help_key(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Telegram => "notify.help.telegram",
        ChannelKind::Webhook => "notify.help.webhook",
        ChannelKind::Ntfy => "notify.help.ntfy",
        ChannelKind::Bark => "notify.help.bark",
        ChannelKind::Feishu => "notify.help.feishu",
        ChannelKind::Dingtalk => "notify.help.dingtalk",
        ChannelKind::Wecom => "notify.help.wecom",
        ChannelKind::Email => "notify.help.email",
    }
}

/// The translation key of an event kind's name.
pub fn event_key(kind: EventKind) -> &'static str {
    match kind {
        EventKind::LowBalance => "notify.ev.low_balance",
        EventKind::Failing => "notify.ev.failing",
        EventKind::KeyExpiring => "notify.ev.key_expiring",
        EventKind::KeyExhausted => "notify.ev.key_exhausted",
        EventKind::CheckinFailed => "notify.ev.checkin_failed",
        EventKind::Recovered => "notify.ev.recovered",
        EventKind::UpstreamCooldown => "notify.ev.upstream_cooldown",
        EventKind::Summary => "notify.ev.summary",
        EventKind::Test => "notify.ev.test",
    }
}

fn events_text(list: &[EventKind]) -> String {
    if list.is_empty() {
        return tr("notify.events_all").to_string();
    }
    list.iter().map(|k| tr(event_key(*k))).collect::<Vec<_>>().join(", ")
}

/// A channel's events in a table cell: "All", one name, or "3 kinds" (the names in the
/// tooltip).
fn events_cell(ui: &mut egui::Ui, list: &[EventKind]) {
    if list.len() <= 1 {
        ui.label(events_text(list));
    } else {
        ui.label(fill(tr("notify.events_some"), &[("n", &list.len())])).on_hover_text(events_text(list));
    }
}

/// The add / edit dialog's buffers.
struct Draft {
    /// The channel being edited (`None`: adding).
    replacing: Option<String>,
    name: String,
    kind: ChannelKind,
    config: ChannelConfig,
    port: String,
    /// Event kinds ticked (all ticked = every kind, stored as an empty list).
    events: Vec<EventKind>,
    enabled: bool,
    /// Save was pressed (the controller's answer is shown from then on).
    submitted: bool,
}

impl Draft {
    fn new() -> Draft {
        Draft {
            replacing: None,
            name: String::new(),
            kind: ChannelKind::Webhook,
            config: ChannelConfig::default(),
            port: String::new(),
            events: EventKind::CHOOSABLE.to_vec(),
            enabled: true,
            submitted: false,
        }
    }

    fn edit(spec: &ChannelSpec) -> Draft {
        Draft {
            replacing: Some(spec.name.clone()),
            name: spec.name.clone(),
            kind: spec.kind,
            config: spec.config.clone(),
            port: if spec.config.port == 0 { String::new() } else { spec.config.port.to_string() },
            events: if spec.events.is_empty() { EventKind::CHOOSABLE.to_vec() } else { spec.events.clone() },
            enabled: spec.enabled,
            submitted: false,
        }
    }

    fn value(&mut self, f: Field) -> &mut String {
        let c = &mut self.config;
        match f {
            Field::Url => &mut c.url,
            Field::Token => &mut c.token,
            Field::ChatId => &mut c.chat_id,
            Field::ApiBase => &mut c.api_base,
            Field::Server => &mut c.server,
            Field::Topic => &mut c.topic,
            Field::Secret => &mut c.secret,
            Field::Host => &mut c.host,
            Field::Port => &mut self.port,
            Field::User => &mut c.user,
            Field::Password => &mut c.password,
            Field::From => &mut c.from,
            Field::To => &mut c.to,
        }
    }

    /// The channel as typed: only the current kind's fields (a kind switched mid-way
    /// leaves nothing of the other's secrets behind), trimmed (a password as typed).
    fn spec(&mut self) -> ChannelSpec {
        let mut clean = Draft::new();
        for (f, ..) in fields(self.kind) {
            let v = self.value(*f);
            *clean.value(*f) = if *f == Field::Password { v.clone() } else { v.trim().to_string() };
        }
        let mut config = clean.config;
        config.security = self.config.security;
        config.port = clean.port.parse().unwrap_or(0);
        let all = EventKind::CHOOSABLE.iter().all(|k| self.events.contains(k));
        let events = if all {
            Vec::new()
        } else {
            EventKind::CHOOSABLE.iter().copied().filter(|k| self.events.contains(k)).collect()
        };
        ChannelSpec { name: self.name.trim().to_string(), kind: self.kind, config, events, enabled: self.enabled }
    }

    /// What is missing or wrong, one translated line each (empty: it can be saved).
    fn problems(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if self.name.trim().is_empty() {
            out.push(tr("notify.err.name").to_string());
        }
        let kind = self.kind;
        for (f, label, rule, _) in fields(kind) {
            let v = self.value(*f).trim().to_string();
            let field = tr(label);
            if v.is_empty() {
                if *rule == Rule::Required {
                    out.push(fill(tr("notify.err.required"), &[("field", &field)]));
                }
                continue;
            }
            let bad = match f {
                Field::Url | Field::ApiBase | Field::Server => url::Url::parse(&v)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                    .is_none()
                    .then_some("notify.err.url"),
                Field::Topic => v.contains(['/', '?', '#', ' ']).then_some("notify.err.word"),
                Field::Token if kind == ChannelKind::Telegram => {
                    v.contains(['/', '?', '#', ' ']).then_some("notify.err.token")
                }
                Field::Port => v.parse::<u16>().ok().filter(|p| *p > 0).is_none().then_some("notify.err.port"),
                _ => None,
            };
            if let Some(key) = bad {
                out.push(fill(tr(key), &[("field", &field)]));
            }
        }
        if kind == ChannelKind::Email && !self.config.user.trim().is_empty() && self.config.password.is_empty() {
            out.push(tr("notify.err.password").to_string());
        }
        if self.events.is_empty() {
            out.push(tr("notify.err.events").to_string());
        }
        out
    }
}

/// The section's view state.
#[derive(Default)]
pub struct NotifySection {
    draft: Option<Draft>,
    /// The channel whose removal waits for confirmation.
    confirm_remove: Option<String>,
    /// Settings the time buffers were loaded from.
    loaded: Option<NotifySettings>,
    quiet_start: String,
    quiet_end: String,
    summary_time: String,
}

impl NotifySection {
    /// Draws the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        ui.weak(tr("notify.intro"));
        ui.add_space(4.0);
        self.channels_ui(ui, state, cmds);
        ui.add_space(4.0);
        if ui.button(tr("notify.add")).clicked() {
            self.draft = Some(Draft::new());
            cmds.push(NotifyCmd::ResetDialog.into());
        }
        ui.add_space(8.0);
        self.settings_ui(ui, state, cmds);
        ui.add_space(8.0);
        history_ui(ui, state);
        self.dialog_ui(ui.ctx(), state, cmds);
    }

    fn channels_ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        let n = &state.notify;
        if let Some(e) = n.data.error() {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if let Some(holder) = &n.schedule_elsewhere {
            ui.label(severity_text(
                &fill(tr("notify.schedule_elsewhere"), &[("holder", holder)]),
                Severity::Warning,
                ui,
            ));
        }
        if let Some(e) = &n.work_error {
            ui.colored_label(ui.visuals().error_fg_color, fill(tr("notify.work_error"), &[("e", e)]));
        }
        let channels = n.channels();
        if channels.is_empty() {
            ui.label(tr("notify.none"));
            return;
        }
        let now = crate::domain::time::now_unix();
        egui::Grid::new("notify_channels").num_columns(6).striped(true).spacing([12.0, 6.0]).show(ui, |ui| {
            for key in
                ["notify.col.name", "notify.col.kind", "notify.col.target", "notify.col.events", "notify.col.status"]
            {
                ui.strong(tr(key));
            }
            ui.label("");
            ui.end_row();
            for c in channels {
                let name = &c.spec.name;
                ui.label(name);
                ui.label(tr(kind_key(c.spec.kind)));
                ui.monospace(c.spec.config.target(c.spec.kind));
                events_cell(ui, &c.spec.events);
                ui.vertical(|ui| {
                    ui.set_min_width(200.0);
                    if !c.spec.enabled {
                        ui.weak(tr("notify.status.off"));
                    } else if let Some(e) = &c.last_error
                        && c.failing_since.is_some()
                    {
                        let text = fill(tr("notify.status.failing"), &[("e", &short(e))]);
                        one_line(ui, severity_text(&text, Severity::Error, ui)).on_hover_text(e);
                    } else if let Some(at) = c.last_ok_at {
                        ui.label(severity_text(
                            &fill(tr("notify.status.ok"), &[("age", &crate::ui::widgets::age_text(at, now))]),
                            Severity::Info,
                            ui,
                        ));
                    } else {
                        ui.weak(tr("notify.status.untried"));
                    }
                    match n.tests.get(name) {
                        Some(TestState::Running) => {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.label(tr("notify.test.running"));
                            });
                        }
                        Some(TestState::Sent(_)) => {
                            ui.colored_label(egui::Color32::from_rgb(0x2e, 0x9d, 0x4e), tr("notify.test.sent"));
                        }
                        Some(TestState::Failed(e)) => {
                            let text = fill(tr("notify.test.failed"), &[("e", &short(e))]);
                            let color = ui.visuals().error_fg_color;
                            one_line(ui, egui::RichText::new(text).color(color)).on_hover_text(e);
                        }
                        None => {}
                    }
                });
                ui.horizontal(|ui| {
                    let running = matches!(n.tests.get(name), Some(TestState::Running));
                    if ui.add_enabled(!running, egui::Button::new(tr("notify.test"))).clicked() {
                        cmds.push(NotifyCmd::Test(name.clone()).into());
                    }
                    if ui.button(tr("notify.edit")).clicked() {
                        self.draft = Some(Draft::edit(&c.spec));
                        cmds.push(NotifyCmd::ResetDialog.into());
                    }
                    let mut on = c.spec.enabled;
                    if ui.checkbox(&mut on, tr("notify.enabled")).changed() {
                        cmds.push(NotifyCmd::SetEnabled(name.clone(), on).into());
                    }
                    if self.confirm_remove.as_deref() == Some(name.as_str()) {
                        ui.label(fill(tr("notify.remove_confirm"), &[("name", name)]));
                        if ui.button(tr("notify.remove_yes")).clicked() {
                            cmds.push(NotifyCmd::Remove(name.clone()).into());
                            self.confirm_remove = None;
                        }
                        if ui.button(tr("notify.cancel")).clicked() {
                            self.confirm_remove = None;
                        }
                    } else if ui.button(tr("notify.remove")).clicked() {
                        self.confirm_remove = Some(name.clone());
                    }
                });
                ui.end_row();
            }
        });
    }

    fn settings_ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        let current = state.settings.notify;
        if self.loaded != Some(current) {
            self.quiet_start = format_hhmm(current.quiet_start);
            self.quiet_end = format_hhmm(current.quiet_end);
            self.summary_time = format_hhmm(current.summary_time);
            self.loaded = Some(current);
        }
        let mut s = current;
        let mut bad_time = false;
        let mut time_ui = |ui: &mut egui::Ui, label: &str, text: &mut String, value: &mut u32| {
            let l = ui.label(label);
            let r = ui.add(egui::TextEdit::singleline(text).desired_width(56.0)).labelled_by(l.id);
            match parse_hhmm(text) {
                Some(v) if r.changed() => *value = v,
                Some(_) => {}
                None => bad_time = true,
            }
        };
        egui::Grid::new("notify_settings").num_columns(2).spacing([16.0, 8.0]).show(ui, |ui| {
            ui.label(tr("notify.quiet"));
            ui.horizontal(|ui| {
                ui.checkbox(&mut s.quiet, tr("notify.quiet_hint"));
                time_ui(ui, tr("notify.quiet_start"), &mut self.quiet_start, &mut s.quiet_start);
                time_ui(ui, tr("notify.quiet_end"), &mut self.quiet_end, &mut s.quiet_end);
            });
            ui.end_row();
            ui.label(tr("notify.summary"));
            ui.horizontal(|ui| {
                ui.checkbox(&mut s.summary, tr("notify.summary_hint"));
                time_ui(ui, tr("notify.summary_at"), &mut self.summary_time, &mut s.summary_time);
            });
            ui.end_row();
            let l = ui.label(tr("notify.retries"));
            ui.add(egui::DragValue::new(&mut s.retries).range(0..=10).speed(0.1)).labelled_by(l.id);
            ui.end_row();
        });
        if bad_time {
            ui.colored_label(ui.visuals().error_fg_color, tr("notify.bad_time"));
        }
        if s != current {
            self.loaded = Some(s); // keep what is being typed
            cmds.push(NotifyCmd::SetSettings(s).into());
        }
    }

    fn dialog_ui(&mut self, ctx: &egui::Context, state: &AppState, cmds: &mut Vec<Command>) {
        let Some(draft) = &mut self.draft else { return };
        let status = &state.notify.dialog;
        if draft.submitted && matches!(status, DialogStatus::Saved(name) if *name == draft.name.trim()) {
            self.draft = None;
            cmds.push(NotifyCmd::ResetDialog.into());
            return;
        }
        let mut open = true;
        let mut close = false;
        let title = if draft.replacing.is_some() { tr("notify.edit_title") } else { tr("notify.add_title") };
        egui::Window::new(title).collapsible(false).resizable(false).open(&mut open).show(ctx, |ui| {
            egui::Grid::new("notify_dialog").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
                let l = ui.label(tr("notify.f.kind"));
                egui::ComboBox::from_id_salt("notify_kind")
                    .selected_text(tr(kind_key(draft.kind)))
                    .show_ui(ui, |ui| {
                        for k in ChannelKind::ALL {
                            ui.selectable_value(&mut draft.kind, k, tr(kind_key(k)));
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.end_row();
                ui.label("");
                ui.add(egui::Label::new(egui::RichText::new(tr(help_key(draft.kind))).weak()).wrap());
                ui.end_row();
                let l = ui.label(tr("notify.f.name"));
                ui.add(egui::TextEdit::singleline(&mut draft.name).hint_text("phone").desired_width(320.0))
                    .labelled_by(l.id);
                ui.end_row();
                let kind = draft.kind;
                for (f, label, _, secret) in fields(kind) {
                    let l = ui.label(tr(label));
                    if kind == ChannelKind::Email && *f == Field::Port {
                        ui.horizontal(|ui| {
                            let hint = draft.config.security.default_port().to_string();
                            ui.add(egui::TextEdit::singleline(&mut draft.port).hint_text(hint).desired_width(64.0))
                                .labelled_by(l.id);
                            let s = ui.label(tr("notify.f.security"));
                            egui::ComboBox::from_id_salt("notify_security")
                                .selected_text(draft.config.security.as_str())
                                .show_ui(ui, |ui| {
                                    for sec in [SmtpSecurity::Starttls, SmtpSecurity::Tls, SmtpSecurity::None] {
                                        ui.selectable_value(&mut draft.config.security, sec, sec.as_str());
                                    }
                                })
                                .response
                                .labelled_by(s.id);
                        });
                    } else {
                        let hint_text = if *secret && draft.replacing.is_some() {
                            tr("notify.secret_hint").to_string()
                        } else {
                            hint(kind, *f).to_string()
                        };
                        ui.add(
                            egui::TextEdit::singleline(draft.value(*f))
                                .password(*secret)
                                .hint_text(hint_text)
                                .desired_width(320.0),
                        )
                        .labelled_by(l.id);
                    }
                    ui.end_row();
                }
                ui.label(tr("notify.f.events"));
                ui.horizontal_wrapped(|ui| {
                    ui.set_max_width(340.0);
                    for k in EventKind::CHOOSABLE {
                        let mut on = draft.events.contains(&k);
                        if ui.checkbox(&mut on, tr(event_key(k))).changed() {
                            if on {
                                draft.events.push(k);
                            } else {
                                draft.events.retain(|e| *e != k);
                            }
                        }
                    }
                });
                ui.end_row();
            });
            ui.weak(tr("notify.secret_note"));
            let problems = draft.problems();
            for p in &problems {
                ui.colored_label(ui.visuals().error_fg_color, p);
            }
            ui.horizontal(|ui| {
                let saving = draft.submitted && *status == DialogStatus::Saving;
                if ui.add_enabled(problems.is_empty() && !saving, egui::Button::new(tr("notify.save"))).clicked() {
                    draft.submitted = true;
                    cmds.push(
                        NotifyCmd::Save { spec: Box::new(draft.spec()), replacing: draft.replacing.clone() }.into(),
                    );
                }
                if ui.button(tr("notify.cancel")).clicked() {
                    close = true;
                }
                if saving {
                    ui.spinner();
                    ui.label(tr("notify.saving"));
                }
            });
            if draft.submitted
                && let DialogStatus::Failed(e) = status
            {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        });
        if !open || close {
            self.draft = None;
            cmds.push(NotifyCmd::ResetDialog.into());
        }
    }
}

/// A reason cut to one short line (the whole of it in the tooltip).
fn short(text: &str) -> String {
    const MAX: usize = 34;
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= MAX && line.len() == text.len() {
        return line.to_string();
    }
    format!("{}…", line.chars().take(MAX).collect::<String>())
}

/// A label that never wraps (a narrow grid column would break it letter by letter).
fn one_line(ui: &mut egui::Ui, text: egui::RichText) -> egui::Response {
    ui.add(egui::Label::new(text).wrap_mode(egui::TextWrapMode::Extend))
}

fn delivery_text(d: &crate::store::DeliveryRow) -> (String, Severity) {
    let (key, sev) = match d.state {
        DeliveryState::Sent => ("notify.d.sent", Severity::Info),
        DeliveryState::Pending => ("notify.d.pending", Severity::Warning),
        DeliveryState::Failed => ("notify.d.failed", Severity::Error),
    };
    let mut text = format!("{}: {}", d.channel, tr(key));
    if d.state != DeliveryState::Sent && d.attempts > 0 {
        text.push_str(&format!(" ({})", fill(tr("notify.d.tries"), &[("n", &d.attempts)])));
    }
    if d.state != DeliveryState::Sent
        && let Some(e) = &d.last_error
    {
        text.push_str(&format!(" — {}", short(e)));
    }
    (text, sev)
}

fn history_ui(ui: &mut egui::Ui, state: &AppState) {
    let rows: &[HistoryRow] = state.notify.data.value().map(|d| d.history.as_slice()).unwrap_or_default();
    let lang = state.shell.lang;
    egui::CollapsingHeader::new(fill(tr("notify.history"), &[("n", &rows.len())]))
        .id_salt("notify_history")
        .default_open(true)
        .show(ui, |ui| {
            if rows.is_empty() {
                ui.weak(tr("notify.history_none"));
                return;
            }
            egui::ScrollArea::vertical().max_height(260.0).id_salt("notify_history_rows").show(ui, |ui| {
                egui::Grid::new("notify_history_grid").num_columns(3).striped(true).spacing([12.0, 4.0]).show(
                    ui,
                    |ui| {
                        for r in rows {
                            ui.monospace(crate::domain::time::local_text(r.event.at, "%m-%d %H:%M"));
                            let line = condition_line(&r.event.condition, lang);
                            let line =
                                if r.event.subject.is_empty() { line } else { format!("{}: {line}", r.event.subject) };
                            ui.label(line);
                            ui.vertical(|ui| {
                                if r.deliveries.is_empty() {
                                    ui.weak(tr("notify.d.none"));
                                }
                                for d in &r.deliveries {
                                    let (text, sev) = delivery_text(d);
                                    let r = one_line(ui, severity_text(&text, sev, ui));
                                    if let Some(e) = &d.last_error {
                                        r.on_hover_text(e);
                                    }
                                }
                            });
                            ui.end_row();
                        }
                    },
                );
            });
        });
}

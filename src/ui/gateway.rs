//! 网关 Gateway: start/stop the local gateway, its address and local key (copy, rotate),
//! the listen address and policy, each model's candidates in the order they are tried (and
//! what was left out, with why), aliases and pins, and the recent requests with their
//! outcome, latency and cost. It reads [`AppState::gateway`] and pushes `GatewayCmd`s.

use std::collections::HashMap;

use crate::app::command::GatewayCmd;
use crate::app::gateway::RunState;
use crate::app::i18n::{fill, tr};
use crate::app::{AppState, Command};
use crate::domain::AccountId;
use crate::domain::gateway::{AliasTarget, AttemptRecord, Outcome, Policy};
use crate::gateway::{CellState, ModelView, TableView};
use crate::store::GatewayAccountSummary;
use crate::ui::widgets;

/// Rows of the request log drawn at most.
const LOG_ROWS: usize = 200;
/// Height of the candidates and the log tables (each scrolls inside).
const TABLE_HEIGHT: f32 = 280.0;

/// View state of the Gateway panel.
#[derive(Default)]
pub struct GatewayPanel {
    /// The listen field (`None` = shows the saved value).
    listen: Option<String>,
    /// The model whose candidates are shown.
    model: Option<String>,
    /// Filter of the model list.
    filter: String,
    /// New alias: name and targets (`m1, m2#3`).
    alias_name: String,
    alias_targets: String,
    /// New pin: model and account ids (`3, 1`).
    pin_model: String,
    pin_accounts: String,
    /// Why the last alias/pin text was not taken.
    form_error: Option<String>,
}

fn policy_key(p: Policy) -> &'static str {
    match p {
        Policy::Cheapest => "gateway.policy.cheapest",
        Policy::Balance => "gateway.policy.balance",
        Policy::Fastest => "gateway.policy.fastest",
        Policy::Order => "gateway.policy.order",
    }
}

fn money(v: Option<f64>, prefix: &str) -> String {
    v.map(|v| format!("{prefix}{v:.4}")).unwrap_or_else(|| "–".into())
}

impl GatewayPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        let gw = &state.gateway;
        if !gw.loaded {
            cmds.push(GatewayCmd::Load.into());
        }
        let names: HashMap<AccountId, String> = state
            .sites
            .accounts
            .value()
            .map(|v| v.iter().map(|a| (a.id, format!("{} / {}", a.site.name, a.username))).collect())
            .unwrap_or_default();
        ui.heading(tr("nav.gateway"));
        ui.add_space(4.0);
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            self.server_ui(ui, state, cmds);
            ui.separator();
            self.candidates_ui(ui, state, &names);
            ui.separator();
            log_ui(ui, state, &names, cmds);
            ui.separator();
            summary_ui(ui, state, &names);
            ui.separator();
            self.routes_ui(ui, state, cmds);
            order_ui(ui, state, cmds);
        });
    }

    fn server_ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        let gw = &state.gateway;
        let saved = &state.settings.gateway;
        ui.horizontal(|ui| {
            match gw.run {
                RunState::Stopped => {
                    if ui.button(tr("gateway.start")).clicked() {
                        cmds.push(GatewayCmd::Start.into());
                    }
                    ui.label(tr("gateway.state.stopped"));
                }
                RunState::Starting | RunState::Stopping => {
                    ui.spinner();
                    ui.label(tr(if gw.run == RunState::Starting {
                        "gateway.state.starting"
                    } else {
                        "gateway.state.stopping"
                    }));
                }
                RunState::Running => {
                    if ui.button(tr("gateway.stop")).clicked() {
                        cmds.push(GatewayCmd::Stop.into());
                    }
                    ui.label(egui::RichText::new(tr("gateway.state.running")).strong());
                }
            }
            ui.separator();
            let url = gw.base_url(&saved.listen);
            ui.label(tr("gateway.address"));
            ui.monospace(&url);
            if ui.small_button(tr("gateway.copy")).on_hover_text(tr("gateway.copy_address_hint")).clicked() {
                cmds.push(GatewayCmd::CopyAddress.into());
            }
            let first = state.sites.accounts.value().and_then(|a| a.first()).map(|a| a.id);
            crate::ui::use_in::gateway_menu_ui(ui, first, cmds);
        });
        if let Some(e) = &gw.error {
            ui.colored_label(ui.visuals().error_fg_color, fill(tr("gateway.start_failed"), &[("e", e)]));
        }
        egui::Grid::new("gateway_server").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            ui.label(tr("gateway.key"));
            ui.horizontal(|ui| {
                match &gw.key {
                    Some(k) => ui.monospace(k.masked()),
                    None => ui.spinner(),
                };
                if ui.add_enabled(gw.key.is_some(), egui::Button::new(tr("gateway.copy_key")).small()).clicked() {
                    cmds.push(GatewayCmd::CopyKey.into());
                }
                if ui.small_button(tr("gateway.rotate")).on_hover_text(tr("gateway.rotate_hint")).clicked() {
                    cmds.push(GatewayCmd::RotateKey.into());
                }
            });
            ui.end_row();

            let l = ui.label(tr("gateway.listen"));
            ui.horizontal(|ui| {
                let text = self.listen.get_or_insert_with(|| saved.listen.clone());
                let r = ui
                    .add_enabled(
                        gw.run == RunState::Stopped,
                        egui::TextEdit::singleline(text).desired_width(180.0).hint_text("127.0.0.1:8765"),
                    )
                    .labelled_by(l.id)
                    .on_hover_text(tr("gateway.listen_hint"));
                let changed = text.trim() != saved.listen;
                if changed && (r.lost_focus() || ui.small_button(tr("gateway.save")).clicked()) {
                    cmds.push(GatewayCmd::SetListen(text.clone()).into());
                    self.listen = None;
                }
            });
            ui.end_row();

            ui.label(tr("gateway.policy"));
            ui.horizontal(|ui| {
                for p in Policy::ALL {
                    let key = policy_key(p);
                    if ui.radio(saved.policy == p, tr(key)).on_hover_text(tr(&format!("{key}_hint"))).clicked()
                        && saved.policy != p
                    {
                        cmds.push(GatewayCmd::SetPolicy(p).into());
                    }
                }
            });
            ui.end_row();

            if let Some(live) = &gw.live {
                ui.label(tr("gateway.figures"));
                ui.label(fill(
                    tr("gateway.figures_text"),
                    &[("records", &live.records), ("written", &live.written), ("refused", &gw.refused)],
                ));
                ui.end_row();
            }
        });
        if let Some(live) = &gw.live {
            if gw.dropped > 0 || live.write_errors > 0 {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    fill(tr("gateway.dropped"), &[("dropped", &gw.dropped), ("errors", &live.write_errors)]),
                );
            }
            for a in &live.alerts {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    fill(
                        tr("gateway.alert"),
                        &[
                            ("account", &a.account_id),
                            ("class", &a.class),
                            ("model", &a.model),
                            ("message", &a.message),
                        ],
                    ),
                );
            }
        }
    }

    fn candidates_ui(&mut self, ui: &mut egui::Ui, state: &AppState, names: &HashMap<AccountId, String>) {
        let gw = &state.gateway;
        ui.horizontal(|ui| {
            ui.strong(tr("gateway.candidates"));
            if gw.candidates.is_loading() {
                ui.spinner();
            }
            if let Some(e) = gw.candidates.error() {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        });
        let Some(view) = gw.candidates.value() else { return };
        if view.models.is_empty() {
            ui.label(egui::RichText::new(tr("gateway.no_models")).weak());
            notes_ui(ui, view, names);
            return;
        }
        if self.model.as_ref().is_none_or(|m| !view.models.iter().any(|v| &v.model == m)) {
            self.model = view.models.first().map(|m| m.model.clone());
        }
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(240.0);
                let l = ui.label(tr("gateway.model_filter"));
                ui.add(egui::TextEdit::singleline(&mut self.filter).desired_width(220.0)).labelled_by(l.id);
                let needle = self.filter.to_lowercase();
                egui::ScrollArea::vertical().id_salt("gateway_models").max_height(220.0).show(ui, |ui| {
                    for m in view.models.iter().filter(|m| crate::domain::search::contains_folded(&m.model, &needle)) {
                        let mut text = format!("{} ({})", m.model, m.candidates.len());
                        if m.alias {
                            text.push_str(tr("gateway.alias_mark"));
                        }
                        if m.pinned {
                            text.push_str(tr("gateway.pin_mark"));
                        }
                        let selected = self.model.as_deref() == Some(m.model.as_str());
                        if ui.selectable_label(selected, text).clicked() {
                            self.model = Some(m.model.clone());
                        }
                    }
                });
            });
            ui.add_space(12.0);
            ui.vertical(|ui| {
                if let Some(m) = view.models.iter().find(|m| self.model.as_deref() == Some(m.model.as_str())) {
                    model_ui(ui, view.policy, m);
                }
            });
        });
        notes_ui(ui, view, names);
    }

    fn routes_ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        let saved = &state.settings.gateway;
        ui.strong(tr("gateway.routes"));
        ui.label(egui::RichText::new(tr("gateway.routes_hint")).weak());
        egui::Grid::new("gateway_routes").num_columns(3).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
            for (name, targets) in &saved.aliases {
                ui.label(fill(tr("gateway.alias_row"), &[("name", name)]));
                ui.monospace(targets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
                if ui.small_button(tr("gateway.remove")).clicked() {
                    cmds.push(GatewayCmd::RemoveAlias(name.clone()).into());
                }
                ui.end_row();
            }
            for (model, accounts) in &saved.pins {
                ui.label(fill(tr("gateway.pin_row"), &[("name", model)]));
                ui.monospace(accounts.iter().map(|a| format!("#{a}")).collect::<Vec<_>>().join(" → "));
                if ui.small_button(tr("gateway.remove")).clicked() {
                    cmds.push(GatewayCmd::RemovePin(model.clone()).into());
                }
                ui.end_row();
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label(tr("gateway.alias_name"));
            ui.add(egui::TextEdit::singleline(&mut self.alias_name).desired_width(140.0)).labelled_by(l.id);
            let l = ui.label(tr("gateway.alias_targets"));
            ui.add(egui::TextEdit::singleline(&mut self.alias_targets).desired_width(260.0).hint_text("m1, m2#3"))
                .labelled_by(l.id);
            if ui.button(tr("gateway.add_alias")).clicked() {
                let targets: Result<Vec<_>, _> =
                    self.alias_targets.split(',').filter(|t| !t.trim().is_empty()).map(AliasTarget::parse).collect();
                match targets {
                    Ok(t) if !t.is_empty() => {
                        cmds.push(GatewayCmd::SetAlias(std::mem::take(&mut self.alias_name), t).into());
                        self.alias_targets.clear();
                        self.form_error = None;
                    }
                    Ok(_) => self.form_error = Some(tr("gateway.targets_empty").to_string()),
                    Err(e) => self.form_error = Some(e),
                }
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label(tr("gateway.pin_model"));
            ui.add(egui::TextEdit::singleline(&mut self.pin_model).desired_width(140.0)).labelled_by(l.id);
            let l = ui.label(tr("gateway.pin_accounts"));
            ui.add(egui::TextEdit::singleline(&mut self.pin_accounts).desired_width(260.0).hint_text("3, 1"))
                .labelled_by(l.id);
            if ui.button(tr("gateway.add_pin")).clicked() {
                match crate::domain::gateway::text::parse_order(&self.pin_accounts) {
                    Ok(ids) if !ids.is_empty() => {
                        cmds.push(GatewayCmd::SetPin(std::mem::take(&mut self.pin_model), ids).into());
                        self.pin_accounts.clear();
                        self.form_error = None;
                    }
                    Ok(_) => self.form_error = Some(tr("gateway.targets_empty").to_string()),
                    Err(e) => self.form_error = Some(e),
                }
            }
        });
        if let Some(e) = &self.form_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }
}

/// The last 24 hours per account.
fn summary_ui(ui: &mut egui::Ui, state: &AppState, names: &HashMap<AccountId, String>) {
    let gw = &state.gateway;
    ui.horizontal(|ui| {
        ui.strong(tr("gateway.per_account"));
        ui.weak(tr("gateway.per_account_window"));
        if gw.summary.is_loading() {
            ui.spinner();
        }
    });
    // Empty: the request log above already says there is nothing yet.
    if let Some(rows) = gw.summary.value().filter(|r| !r.is_empty()) {
        account_figures_ui(ui, "gateway_per_account", rows, |id| {
            names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
        });
    }
}

/// A table of per-account gateway figures (the Gateway panel's last 24 hours, the Logs
/// panel's filter window).
pub(crate) fn account_figures_ui(
    ui: &mut egui::Ui,
    id: &str,
    rows: &[GatewayAccountSummary],
    name: impl Fn(AccountId) -> String,
) {
    egui::Grid::new(id).num_columns(6).striped(true).spacing([12.0, 3.0]).show(ui, |ui| {
        for h in [
            "gateway.col.account",
            "gateway.col.requests",
            "gateway.col.tokens",
            "gateway.col.cost",
            "gateway.col.real",
            "gateway.col.ttfb",
        ] {
            ui.strong(tr(h));
        }
        ui.end_row();
        for r in rows {
            ui.label(name(r.account_id));
            let label = ui.label(format!("{} / {}", r.ok, r.attempts));
            label.on_hover_text(tr("gateway.requests_hint"));
            ui.label(format!(
                "{} / {}",
                widgets::compact_count(r.prompt_tokens),
                widgets::compact_count(r.completion_tokens)
            ));
            ui.label(money(Some(r.cost_usd), "$"));
            ui.label(money(Some(r.cost_real), ""));
            ui.label(r.avg_ttfb_ms.map(|t| format!("{t:.0} ms")).unwrap_or_else(|| "–".into()));
            ui.end_row();
        }
    });
}

/// The account order the `order` policy follows: listed accounts first, the rest after in
/// the Sites table's order; ↑/↓ move one place and save the whole list.
fn order_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    let Some(accounts) = state.sites.accounts.value() else { return };
    let saved = &state.settings.gateway.order;
    let mut ids: Vec<AccountId> = saved.iter().copied().filter(|id| accounts.iter().any(|a| a.id == *id)).collect();
    ids.extend(accounts.iter().map(|a| a.id).filter(|id| !saved.contains(id)));
    let name = |id: AccountId| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| format!("#{id} {} / {}", a.site.name, a.username))
            .unwrap_or_else(|| format!("#{id}"))
    };
    egui::CollapsingHeader::new(tr("gateway.order_title")).id_salt("gateway_order").show(ui, |ui| {
        ui.weak(tr("gateway.order_hint"));
        if !saved.is_empty() && ui.small_button(tr("gateway.order_reset")).clicked() {
            cmds.push(GatewayCmd::SetOrder(Vec::new()).into());
        }
        egui::ScrollArea::vertical().id_salt("gateway_order_scroll").max_height(TABLE_HEIGHT).show(ui, |ui| {
            egui::Grid::new("gateway_order_grid").num_columns(3).striped(true).spacing([10.0, 3.0]).show(ui, |ui| {
                let last = ids.len().saturating_sub(1);
                for (i, id) in ids.iter().enumerate() {
                    ui.label(format!("{}.", i + 1));
                    ui.label(name(*id));
                    ui.horizontal(|ui| {
                        let up =
                            ui.add_enabled(i > 0, egui::Button::new("↑").small()).on_hover_text(tr("gateway.order_up"));
                        let down = ui
                            .add_enabled(i < last, egui::Button::new("↓").small())
                            .on_hover_text(tr("gateway.order_down"));
                        let swap = if up.clicked() {
                            Some(i - 1)
                        } else if down.clicked() {
                            Some(i + 1)
                        } else {
                            None
                        };
                        if let Some(j) = swap {
                            let mut next = ids.clone();
                            next.swap(i, j);
                            cmds.push(GatewayCmd::SetOrder(next).into());
                        }
                    });
                    ui.end_row();
                }
            });
        });
    });
}

/// One model's candidates in the order they are tried.
fn model_ui(ui: &mut egui::Ui, policy: Policy, m: &ModelView) {
    let how = if m.pinned { tr("gateway.order_pinned").to_string() } else { tr(policy_key(policy)).to_string() };
    ui.label(fill(tr("gateway.order_by"), &[("model", &m.model), ("how", &how)]));
    egui::ScrollArea::both().id_salt("gateway_candidates_scroll").max_height(TABLE_HEIGHT).show(ui, |ui| {
        candidates_grid(ui, m);
    });
}

fn candidates_grid(ui: &mut egui::Ui, m: &ModelView) {
    egui::Grid::new("gateway_candidates").num_columns(10).striped(true).spacing([10.0, 4.0]).show(ui, |ui| {
        for h in [
            "gateway.col.rank",
            "gateway.col.account",
            "gateway.col.key",
            "gateway.col.upstream",
            "gateway.col.group",
            "gateway.col.cost",
            "gateway.col.real",
            "gateway.col.balance",
            "gateway.col.ttfb",
            "gateway.col.state",
        ] {
            ui.strong(tr(h));
        }
        ui.end_row();
        for c in &m.candidates {
            ui.label(c.rank.to_string());
            ui.label(format!("#{} {}", c.info.account_id, c.info.account_label));
            ui.label(&c.info.key_name);
            ui.monospace(&c.info.upstream_model);
            ui.label(c.info.group.as_deref().unwrap_or("–"));
            ui.label(money(c.info.cost_usd, "$")).on_hover_text(tr("gateway.cost_hint"));
            ui.label(money(c.info.cost_real, "")).on_hover_text(tr("gateway.real_hint"));
            ui.label(money(c.info.balance_usd, "$"));
            ui.label(c.ttfb_ms.map(|t| format!("{t:.0} ms")).unwrap_or_else(|| "–".into()));
            let (text, warn) = match c.state {
                CellState::Ready => (tr("gateway.cell.ready").to_string(), false),
                CellState::Cooling { scope, secs_left } => {
                    (fill(tr("gateway.cell.cooling"), &[("scope", &scope), ("secs", &secs_left)]), true)
                }
                CellState::Trial { scope } => (fill(tr("gateway.cell.trial"), &[("scope", &scope)]), true),
            };
            if warn {
                ui.colored_label(ui.visuals().warn_fg_color, text);
            } else {
                ui.label(text);
            }
            ui.end_row();
        }
    });
}

/// Accounts and keys left out of the table, with why.
fn notes_ui(ui: &mut egui::Ui, view: &TableView, names: &HashMap<AccountId, String>) {
    if view.notes.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(fill(tr("gateway.excluded"), &[("n", &view.notes.len())]))
        .id_salt("gateway_excluded")
        .show(ui, |ui| {
            for n in &view.notes {
                let who = names.get(&n.account_id).cloned().unwrap_or_else(|| format!("#{}", n.account_id));
                ui.label(format!("{who}: {}", n.reason));
            }
        });
}

fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "gateway.outcome.ok",
        Outcome::Failover => "gateway.outcome.failover",
        Outcome::ClientError => "gateway.outcome.client_error",
        Outcome::StreamError => "gateway.outcome.stream_error",
        Outcome::Cancelled => "gateway.outcome.cancelled",
        Outcome::Rejected => "gateway.outcome.rejected",
    }
}

/// The recent requests, newest first.
fn log_ui(ui: &mut egui::Ui, state: &AppState, names: &HashMap<AccountId, String>, cmds: &mut Vec<Command>) {
    let gw = &state.gateway;
    let rows = gw.recent();
    ui.horizontal(|ui| {
        ui.strong(tr("gateway.log"));
        if gw.run == RunState::Stopped && ui.small_button(tr("gateway.reload_log")).clicked() {
            cmds.push(GatewayCmd::ReloadLog.into());
        }
        if gw.log.is_loading() {
            ui.spinner();
        }
    });
    if rows.is_empty() {
        ui.label(egui::RichText::new(tr("gateway.log_empty")).weak());
        return;
    }
    egui::ScrollArea::both().id_salt("gateway_log_scroll").max_height(TABLE_HEIGHT).show(ui, |ui| {
        log_grid(ui, rows, names);
    });
}

fn log_grid(ui: &mut egui::Ui, rows: Vec<&AttemptRecord>, names: &HashMap<AccountId, String>) {
    egui::Grid::new("gateway_log").num_columns(10).striped(true).spacing([10.0, 3.0]).show(ui, |ui| {
        for h in [
            "gateway.col.time",
            "gateway.col.model",
            "gateway.col.account",
            "gateway.col.status",
            "gateway.col.outcome",
            "gateway.col.latency",
            "gateway.col.ttfb",
            "gateway.col.tokens",
            "gateway.col.cost",
            "gateway.col.message",
        ] {
            ui.strong(tr(h));
        }
        ui.end_row();
        for r in rows.into_iter().take(LOG_ROWS) {
            row_ui(ui, r, names);
        }
    });
}

fn row_ui(ui: &mut egui::Ui, r: &AttemptRecord, names: &HashMap<AccountId, String>) {
    let when = chrono::DateTime::from_timestamp_millis(r.at_ms)
        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M:%S").to_string())
        .unwrap_or_default();
    ui.label(when);
    let model = if r.upstream_model.is_empty() || r.upstream_model == r.client_model {
        r.client_model.clone()
    } else {
        format!("{} → {}", r.client_model, r.upstream_model)
    };
    ui.label(format!("{model}{}", if r.stream { tr("gateway.stream_mark") } else { "" }));
    ui.label(r.account_id.map(|a| names.get(&a).cloned().unwrap_or_else(|| format!("#{a}"))).unwrap_or("–".into()));
    ui.label(r.status.to_string());
    let outcome = tr(outcome_text(r.outcome));
    if r.outcome == Outcome::Ok {
        ui.label(outcome);
    } else {
        ui.colored_label(ui.visuals().warn_fg_color, outcome);
    }
    ui.label(format!("{:.0} ms", r.latency_ms));
    ui.label(r.ttfb_ms.map(|t| format!("{t:.0} ms")).unwrap_or_else(|| "–".into()));
    let tokens = match (r.usage.prompt_tokens, r.usage.completion_tokens) {
        (None, None) => "–".to_string(),
        (p, c) => format!("{} / {}", widgets::compact_count(p.unwrap_or(0)), widgets::compact_count(c.unwrap_or(0))),
    };
    ui.label(tokens);
    ui.label(money(r.cost_usd, "$"));
    ui.label(&r.message);
    ui.end_row();
}

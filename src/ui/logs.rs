//! 日志 Logs: synced usage logs (filters, virtualised rows, statistics, charts, CSV
//! export, sync) and the app's own activity log.

use egui_extras::{Column, TableBuilder};

use crate::app::command::LogsCmd;
use crate::app::i18n::{self, tr};
use crate::app::{AppState, Command};
use crate::domain::AccountId;
use crate::domain::usage_log::{LogFilter, LogKind};
use crate::store::{Level, StackBy};
use crate::ui::{logs_charts, logs_table, widgets};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Tab {
    #[default]
    Usage,
    Activity,
}

/// Which part of the Usage tab shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum UsageView {
    #[default]
    Rows,
    Stats,
    Charts,
}

/// The time range picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Range {
    Today,
    Days7,
    #[default]
    Days30,
    All,
    Custom,
}

impl Range {
    const ALL: [Range; 5] = [Range::Today, Range::Days7, Range::Days30, Range::All, Range::Custom];

    fn key(self) -> &'static str {
        match self {
            Range::Today => "logs.range.today",
            Range::Days7 => "logs.range.7d",
            Range::Days30 => "logs.range.30d",
            Range::All => "logs.range.all",
            Range::Custom => "logs.range.custom",
        }
    }
}

/// Translation key of a log type.
pub(crate) fn kind_key(k: LogKind) -> &'static str {
    match k {
        LogKind::Consume => "logs.kind.consume",
        LogKind::Topup => "logs.kind.topup",
        LogKind::Refund => "logs.kind.refund",
        LogKind::Error => "logs.kind.error",
        LogKind::System => "logs.kind.system",
        LogKind::CheckIn => "logs.kind.check_in",
        LogKind::Manage => "logs.kind.manage",
        LogKind::Login => "logs.kind.login",
        LogKind::Test => "logs.kind.test",
        LogKind::Unknown => "logs.kind.unknown",
    }
}

use crate::domain::time::{local_midnight, midnight_of as date_start};

fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// View state of the Logs panel.
#[derive(Default)]
pub struct LogsPanel {
    tab: Tab,
    view: UsageView,
    range: Range,
    from_text: String,
    to_text: String,
    account: Option<AccountId>,
    kind: Option<LogKind>,
    model: Option<String>,
    token: Option<String>,
    search: String,
    pub(crate) stack_by: StackBy,
    pub(crate) hour_days_ago: i64,
    cache: logs_table::RowsCache,
}

impl LogsPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.heading(tr("nav.logs"));
            ui.separator();
            ui.selectable_value(&mut self.tab, Tab::Usage, tr("logs.tab.usage"));
            ui.selectable_value(&mut self.tab, Tab::Activity, tr("logs.tab.activity"));
        });
        ui.separator();
        match self.tab {
            Tab::Usage => self.usage_ui(ui, state, cmds),
            Tab::Activity => activity_ui(ui, state, cmds),
        }
    }

    /// The filter the pickers describe (day-aligned, so it is stable within a day).
    fn desired_filter(&self) -> LogFilter {
        let (since, until) = match self.range {
            Range::Today => (Some(local_midnight(0)), None),
            Range::Days7 => (Some(local_midnight(6)), None),
            Range::Days30 => (Some(local_midnight(29)), None),
            Range::All => (None, None),
            Range::Custom => {
                (parse_date(&self.from_text).map(date_start), parse_date(&self.to_text).map(|d| date_start(d) + 86_399))
            }
        };
        LogFilter {
            accounts: self.account.into_iter().collect(),
            since,
            until,
            kind: self.kind,
            model: self.model.clone(),
            token_name: self.token.clone(),
            text: Some(self.search.trim().to_string()).filter(|s| !s.is_empty()),
        }
    }

    fn usage_ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        self.sync_bar_ui(ui, state, cmds);
        self.filter_bar_ui(ui, state);
        let filter = self.desired_filter();
        if state.logs.filter.as_ref() != Some(&filter) {
            cmds.push(Command::Logs(LogsCmd::Query(filter)));
        }
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.view, UsageView::Rows, tr("logs.view.rows"));
            ui.selectable_value(&mut self.view, UsageView::Stats, tr("logs.view.stats"));
            ui.selectable_value(&mut self.view, UsageView::Charts, tr("logs.view.charts"));
            ui.separator();
            logs_table::totals_ui(ui, state);
        });
        ui.separator();
        let total = state.logs.window.value().map(|w| w.total).unwrap_or(0);
        if total == 0 && !state.logs.window.is_loading() {
            widgets::empty_state_ui(ui, tr("logs.usage.empty.title"), tr("logs.usage.empty.hint"));
            logs_table::gateway_figures_ui(ui, state, &crate::app::logs::account_labels(&state.sites));
            return;
        }
        match self.view {
            UsageView::Rows => logs_table::rows_ui(ui, state, &mut self.cache, cmds),
            UsageView::Stats => {
                if let Some(model) = logs_table::stats_ui(ui, state, cmds) {
                    self.model = Some(model);
                    self.view = UsageView::Rows;
                }
            }
            UsageView::Charts => logs_charts::charts_ui(self, ui, state, cmds),
        }
    }

    fn sync_bar_ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            let syncing = state.logs.sync.is_some();
            if ui
                .add_enabled(!syncing, egui::Button::new(tr("logs.sync_all")))
                .on_hover_text(tr("logs.sync_hint"))
                .clicked()
            {
                cmds.push(Command::Logs(LogsCmd::Sync {
                    accounts: Vec::new(),
                    history_days: state.settings.logs.history_days,
                }));
            }
            if let Some(id) = self.account
                && ui.add_enabled(!syncing, egui::Button::new(tr("logs.sync_account"))).clicked()
            {
                cmds.push(Command::Logs(LogsCmd::Sync {
                    accounts: vec![id],
                    history_days: state.settings.logs.history_days,
                }));
            }
            history_days_ui(ui, "logs_history_days", state, cmds);
            if let Some(p) = &state.logs.sync {
                let fraction = if p.total == 0 { 0.0 } else { p.done as f32 / p.total as f32 };
                let text = i18n::fill(
                    tr("logs.sync_progress"),
                    &[("done", &p.done), ("total", &p.total), ("new", &p.inserted)],
                );
                ui.add(egui::ProgressBar::new(fraction).desired_width(240.0).text(text));
            } else if !state.logs.last_sync.is_empty() {
                let new: usize = state.logs.last_sync.iter().map(|r| r.inserted).sum();
                let failed = state.logs.last_sync.iter().filter(|r| r.error.is_some()).count();
                ui.label(i18n::fill(tr("logs.sync_done"), &[("new", &new), ("failed", &failed)]));
            }
            ui.separator();
            let exporting = state.logs.exporting;
            if ui
                .add_enabled(!exporting, egui::Button::new(tr("logs.export_csv")))
                .on_hover_text(tr("logs.export_hint"))
                .clicked()
            {
                cmds.push(Command::Logs(LogsCmd::ExportCsv));
            }
            match &state.logs.export {
                Some(Ok(path)) => {
                    ui.label(i18n::fill(tr("logs.exported"), &[("path", path)]));
                }
                Some(Err(e)) => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        i18n::fill(tr("logs.export_failed"), &[("error", e)]),
                    );
                }
                None => {}
            }
        });
    }

    fn filter_bar_ui(&mut self, ui: &mut egui::Ui, state: &AppState) {
        let (ids, labels) = self.cache.sorted_labels(state);
        let (models, tokens) = state.logs.names.value().map(|(m, t)| (m.as_slice(), t.as_slice())).unwrap_or_default();
        ui.horizontal_wrapped(|ui| {
            let shown = self.account.and_then(|id| labels.get(&id)).map(|l| l.name.as_str());
            let l = ui.label(tr("logs.account"));
            egui::ComboBox::from_id_salt("logs_account")
                .selected_text(shown.unwrap_or_else(|| tr("logs.all_accounts")))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.account, None, tr("logs.all_accounts"));
                    for id in ids {
                        if let Some(l) = labels.get(id) {
                            ui.selectable_value(&mut self.account, Some(*id), l.name.as_str());
                        }
                    }
                })
                .response
                .labelled_by(l.id);
            let l = ui.label(tr("logs.range"));
            egui::ComboBox::from_id_salt("logs_range")
                .selected_text(tr(self.range.key()))
                .show_ui(ui, |ui| {
                    for r in Range::ALL {
                        ui.selectable_value(&mut self.range, r, tr(r.key()));
                    }
                })
                .response
                .labelled_by(l.id);
            if self.range == Range::Custom {
                for (key, text) in [("logs.from", &mut self.from_text), ("logs.to", &mut self.to_text)] {
                    let l = ui.label(tr(key));
                    ui.add(egui::TextEdit::singleline(text).desired_width(90.0).hint_text("YYYY-MM-DD"))
                        .labelled_by(l.id)
                        .on_hover_text(tr("logs.date_hint"));
                }
            }
            let l = ui.label(tr("logs.type"));
            egui::ComboBox::from_id_salt("logs_type")
                .selected_text(self.kind.map_or_else(|| tr("logs.all_types"), |k| tr(kind_key(k))))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.kind, None, tr("logs.all_types"));
                    for k in LogKind::ALL {
                        ui.selectable_value(&mut self.kind, Some(k), tr(kind_key(k)));
                    }
                })
                .response
                .labelled_by(l.id);
            name_combo_ui(ui, "logs.model", "logs.all_models", &mut self.model, models);
            name_combo_ui(ui, "logs.token", "logs.all_tokens", &mut self.token, tokens);
            let l = ui.label(tr("logs.search"));
            ui.add(egui::TextEdit::singleline(&mut self.search).desired_width(160.0).hint_text(tr("logs.search_hint")))
                .labelled_by(l.id)
                .on_hover_text(tr("logs.search_hint"));
            if state.logs.window.is_loading() || state.logs.stats.is_loading() {
                ui.spinner();
            }
        });
    }
}

/// "First sync depth" label and its picker (7 / 30 / 90 / 180 days); pushes
/// [`Command::Logs(LogsCmd::SetHistoryDays)`]. Used by the Logs panel and Settings.
pub(crate) fn history_days_ui(ui: &mut egui::Ui, id: &str, state: &AppState, cmds: &mut Vec<Command>) {
    let current = state.settings.logs.history_days;
    let days = |d: i64| format!("{d}{}", tr("logs.days_suffix"));
    let l = ui.label(tr("logs.history_days"));
    let mut picked = current;
    egui::ComboBox::from_id_salt(id)
        .selected_text(days(current))
        .show_ui(ui, |ui| {
            for d in crate::engine::log_sync::HISTORY_CHOICES {
                ui.selectable_value(&mut picked, d, days(d));
            }
        })
        .response
        .labelled_by(l.id)
        .on_hover_text(tr("logs.history_days_hint"));
    if picked != current {
        cmds.push(Command::Logs(LogsCmd::SetHistoryDays(picked)));
    }
}

fn name_combo_ui(ui: &mut egui::Ui, label: &str, all: &str, value: &mut Option<String>, names: &[String]) {
    let l = ui.label(tr(label));
    egui::ComboBox::from_id_salt(label)
        .selected_text(value.as_deref().unwrap_or_else(|| tr(all)))
        .width(150.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, tr(all));
            for n in names {
                ui.selectable_value(value, Some(n.clone()), n.as_str());
            }
        })
        .response
        .labelled_by(l.id);
}

fn level_key(level: Level) -> &'static str {
    match level {
        Level::Debug => "logs.level.debug",
        Level::Info => "logs.level.info",
        Level::Warn => "logs.level.warn",
        Level::Error => "logs.level.error",
    }
}

fn activity_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.label(tr("logs.min_level"));
        for level in [Level::Info, Level::Warn, Level::Error] {
            if ui.selectable_label(state.logs.activity_level == level, tr(level_key(level))).clicked() {
                cmds.push(Command::Logs(LogsCmd::ReloadActivity(level)));
            }
        }
        if ui.button(tr("logs.reload")).clicked() {
            cmds.push(Command::Logs(LogsCmd::ReloadActivity(state.logs.activity_level)));
        }
        if state.logs.activity.is_loading() {
            ui.spinner();
        }
    });
    let entries = state.logs.activity.value().map(Vec::as_slice).unwrap_or_default();
    if entries.is_empty() {
        widgets::empty_state_ui(ui, tr("logs.activity.empty.title"), tr("logs.activity.empty.hint"));
        return;
    }
    TableBuilder::new(ui)
        .striped(true)
        .column(Column::auto().at_least(150.0))
        .column(Column::auto().at_least(60.0))
        .column(Column::auto().at_least(100.0))
        .column(Column::remainder())
        .header(22.0, |mut h| {
            for key in ["logs.col.time", "logs.col.level", "logs.col.source", "logs.col.message"] {
                h.col(|ui| {
                    ui.strong(tr(key));
                });
            }
        })
        .body(|body| {
            body.rows(20.0, entries.len(), |mut row| {
                let e = &entries[row.index()];
                row.col(|ui| {
                    ui.label(logs_table::local_time(e.ts));
                });
                row.col(|ui| {
                    ui.label(tr(level_key(e.level)));
                });
                row.col(|ui| {
                    ui.label(&e.target);
                });
                row.col(|ui| {
                    ui.label(&e.message);
                });
            });
        });
}

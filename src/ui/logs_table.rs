//! The usage rows table (virtualised over a window of rows loaded off the UI thread),
//! the totals line and the per-model / per-account statistics tables.

use std::collections::HashMap;

use egui_extras::{Column, TableBuilder};

use crate::app::command::LogsCmd;
use crate::app::i18n::{self, tr};
use crate::app::logs::{AccountLabel, LogWindow, WINDOW_ROWS, account_labels};
use crate::app::{AppState, Command};
use crate::domain::AccountId;
use crate::domain::money::{CurrencySettings, real_cost};
use crate::domain::usage_log::{Breakdown, UsageLog};
use crate::ui::fit::{self, ColumnFit};
use crate::ui::logs::kind_key;

/// Row height of the tables.
pub const ROW_HEIGHT: f32 = 20.0;

/// Local `YYYY-MM-DD HH:MM:SS`.
pub fn local_time(unix: i64) -> String {
    crate::domain::time::local_text(unix, "%Y-%m-%d %H:%M:%S")
}

/// USD with the default quota unit (totals across sites with different currencies).
fn usd(quota: i64) -> String {
    format!("${:.4}", CurrencySettings::default().quota_to_usd(quota))
}

/// "Total cost · tokens · requests" of the current filter.
pub fn totals_ui(ui: &mut egui::Ui, state: &AppState) {
    let Some(st) = state.logs.stats.value() else { return };
    let t = st.totals;
    ui.label(i18n::fill(tr("logs.total_cost"), &[("v", &usd(t.quota))]));
    ui.label(i18n::fill(tr("logs.total_tokens"), &[("v", &t.tokens())]));
    ui.label(i18n::fill(tr("logs.total_requests"), &[("v", &t.requests)]));
    if let Some(w) = state.logs.window.value() {
        ui.label(i18n::fill(tr("logs.total_rows"), &[("v", &w.total)]));
    }
}

/// One row's cells, formatted once per loaded window.
struct RowText {
    time: String,
    account: String,
    prompt: String,
    completion: String,
    cost: String,
    real: String,
    duration: String,
}

impl RowText {
    fn new(r: &UsageLog, l: &AccountLabel) -> RowText {
        RowText {
            time: local_time(r.created_at),
            account: l.name.clone(),
            prompt: r.prompt_tokens.to_string(),
            completion: r.completion_tokens.to_string(),
            cost: l.currency.format_quota(r.quota),
            real: real_cost(l.currency.quota_to_usd(r.quota), l.paid_per_usd)
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|| "-".into()),
            duration: r.duration_ms.map(|d| format!("{:.1} s", d as f64 / 1000.0)).unwrap_or_default(),
        }
    }
}

/// What the Logs panel derives from the app state once instead of every frame: account
/// labels (per `data_version`) and the formatted cells of the loaded window (per window).
#[derive(Default)]
pub struct RowsCache {
    labels_version: Option<u64>,
    labels: HashMap<AccountId, AccountLabel>,
    /// Account ids sorted by label (the account picker).
    sorted: Vec<AccountId>,
    rows_key: Option<(u64, u64, &'static str)>,
    rows: Vec<RowText>,
}

impl RowsCache {
    /// Labels of every account (rebuilt when accounts or states changed).
    pub fn labels(&mut self, state: &AppState) -> &HashMap<AccountId, AccountLabel> {
        self.update_labels(state);
        &self.labels
    }

    /// Account ids sorted by label, and the labels.
    pub fn sorted_labels(&mut self, state: &AppState) -> (&[AccountId], &HashMap<AccountId, AccountLabel>) {
        self.update_labels(state);
        (&self.sorted, &self.labels)
    }

    fn update_labels(&mut self, state: &AppState) {
        if self.labels_version == Some(state.sites.data_version) && state.sites.accounts.value().is_some() {
            return;
        }
        self.labels = account_labels(&state.sites);
        let mut ids: Vec<AccountId> = self.labels.keys().copied().collect();
        ids.sort_by(|a, b| self.labels[a].name.cmp(&self.labels[b].name).then(a.cmp(b)));
        self.sorted = ids;
        self.labels_version = Some(state.sites.data_version);
        self.rows_key = None;
    }

    fn update_rows(&mut self, state: &AppState, window: &LogWindow) {
        self.update_labels(state);
        let key = (window.seq, state.sites.data_version, i18n::lang().code());
        if self.rows_key == Some(key) {
            return;
        }
        let fallback = AccountLabel::default();
        self.rows =
            window.rows.iter().map(|r| RowText::new(r, self.labels.get(&r.account_id).unwrap_or(&fallback))).collect();
        self.rows_key = Some(key);
    }
}

/// The rows table's columns: translation key, minimum and preferred width, fold rank
/// (0: always shown; the highest folds first on a narrow window).
const COLUMNS: [(&str, f32, f32, u8); 12] = [
    ("logs.col.time", 130.0, 140.0, 0),
    ("logs.col.account", 90.0, 140.0, 0),
    ("logs.col.type", 50.0, 60.0, 5),
    ("logs.col.model", 110.0, 170.0, 0),
    ("logs.col.token", 60.0, 90.0, 4),
    ("logs.col.prompt", 55.0, 70.0, 2),
    ("logs.col.completion", 55.0, 70.0, 2),
    ("logs.col.cost", 60.0, 80.0, 0),
    ("logs.col.real_cost", 60.0, 80.0, 3),
    ("logs.col.duration", 50.0, 60.0, 6),
    ("logs.col.stream", 40.0, 50.0, 7),
    ("logs.col.group", 50.0, 80.0, 8),
];

fn cell_ui(ui: &mut egui::Ui, col: usize, r: &UsageLog, t: &RowText) {
    // One line cut with "…" at the column's width: the columns do not clip.
    let text = |ui: &mut egui::Ui, s: &str| ui.add(egui::Label::new(s).truncate());
    match col {
        0 => text(ui, &t.time),
        1 => text(ui, &t.account),
        2 => text(ui, tr(kind_key(r.kind))),
        3 => {
            let resp = text(ui, &r.model);
            if r.content.is_empty() { resp } else { resp.on_hover_text(r.content.as_str()) }
        }
        4 => text(ui, &r.token_name),
        5 => text(ui, &t.prompt),
        6 => text(ui, &t.completion),
        7 => text(ui, &t.cost),
        8 => text(ui, &t.real),
        9 => text(ui, &t.duration),
        10 => text(ui, if r.is_stream { tr("logs.stream.yes") } else { "" }),
        _ => text(ui, &r.group),
    };
}

/// The rows table. Rows outside the loaded window ask for the window around them.
pub fn rows_ui(ui: &mut egui::Ui, state: &AppState, cache: &mut RowsCache, cmds: &mut Vec<Command>) {
    let window = state.logs.window.value();
    if let Some(w) = window {
        cache.update_rows(state, w);
    }
    let cells = &cache.rows;
    let total = window.map(|w| w.total).unwrap_or(0);
    let mut missing: Option<usize> = None;
    fit::note_rect(ui, "logs", ui.available_rect_before_wrap());
    let fits: Vec<ColumnFit> = COLUMNS
        .iter()
        .map(|(key, min, preferred, fold)| {
            let c = if *fold == 0 {
                ColumnFit::fixed(*min, *preferred)
            } else {
                ColumnFit::folding(*min, *preferred, *fold)
            };
            c.header(fit::header_width(ui, tr(key)))
        })
        .collect();
    let widths = fit::fit(fit::table_width(ui), ui.spacing().item_spacing.x, &fits);
    let shown: Vec<usize> = (0..COLUMNS.len()).filter(|i| widths[*i].is_some()).collect();
    let mut table = TableBuilder::new(ui).striped(true);
    for (i, w) in widths.iter().enumerate() {
        let Some(w) = *w else { continue };
        // The model takes what is left. No column clips its cells, which truncate their
        // text instead: a clip rectangle per cell is a draw call per cell (`widgets::clip_to_cell`).
        table = table.column(if i == 3 { Column::remainder().at_least(w) } else { Column::exact(w).clip(false) });
    }
    table
        .header(22.0, |mut h| {
            for i in &shown {
                h.col(|ui| {
                    ui.add(egui::Label::new(egui::RichText::new(tr(COLUMNS[*i].0)).strong()).truncate());
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, total, |mut row| {
                let i = row.index();
                let hit = window.and_then(|w| Some((w.get(i)?, cells.get(i.checked_sub(w.offset)?)?)));
                match hit {
                    Some((r, t)) => {
                        for col in &shown {
                            row.col(|ui| cell_ui(ui, *col, r, t));
                        }
                    }
                    None => {
                        missing.get_or_insert(i);
                        row.col(|ui| {
                            ui.add(egui::Label::new(egui::RichText::new(tr("logs.loading")).weak()).truncate());
                        });
                    }
                }
            });
        });
    if let Some(i) = missing
        && !state.logs.window.is_loading()
    {
        cmds.push(Command::Logs(LogsCmd::LoadWindow(i.saturating_sub(WINDOW_ROWS / 4))));
    }
}

fn breakdown_table_ui(
    ui: &mut egui::Ui,
    id: &str,
    first_col: &str,
    rows: &[Breakdown],
    name: impl Fn(&str) -> String,
) -> Option<String> {
    let mut clicked = None;
    ui.push_id(id, |ui| {
        TableBuilder::new(ui)
            .striped(true)
            .column(Column::initial(220.0).clip(true))
            .columns(Column::auto().at_least(70.0), 4)
            .header(22.0, |mut h| {
                for key in [first_col, "logs.col.requests", "logs.col.prompt", "logs.col.completion", "logs.col.usd"] {
                    h.col(|ui| {
                        ui.strong(tr(key));
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                    let b = &rows[row.index()];
                    row.col(|ui| {
                        let shown = name(&b.key);
                        if ui.link(shown).on_hover_text(tr("logs.filter_model_hint")).clicked() {
                            clicked = Some(b.key.clone());
                        }
                    });
                    row.col(|ui| {
                        ui.label(b.totals.requests.to_string());
                    });
                    row.col(|ui| {
                        ui.label(b.totals.prompt_tokens.to_string());
                    });
                    row.col(|ui| {
                        ui.label(b.totals.completion_tokens.to_string());
                    });
                    row.col(|ui| {
                        ui.label(usd(b.totals.quota));
                    });
                });
            });
    });
    clicked
}

/// Per-model and per-account breakdowns. Returns a model the user clicked (to filter by).
pub fn stats_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) -> Option<String> {
    let Some(st) = state.logs.stats.value() else {
        ui.spinner();
        return None;
    };
    let labels = account_labels(&state.sites);
    site_stats_ui(ui, state, &labels, st, cmds);
    let mut picked = None;
    ui.columns(2, |cols| {
        cols[0].strong(tr("logs.per_model"));
        picked = breakdown_table_ui(&mut cols[0], "logs_by_model", "logs.col.model", &st.by_model, str::to_string);
        cols[1].strong(tr("logs.per_account"));
        breakdown_table_ui(&mut cols[1], "logs_by_account", "logs.col.account", &st.by_account, |k| {
            k.parse::<AccountId>()
                .ok()
                .and_then(|id| labels.get(&id))
                .map(|l| l.name.clone())
                .unwrap_or_else(|| k.into())
        });
    });
    gateway_figures_ui(ui, state, &labels);
    picked
}

/// What went through the local gateway under the panel's filter, per account (nothing
/// when nothing did). Shown with the statistics, and under the empty state when no site
/// log is synced yet.
pub fn gateway_figures_ui(ui: &mut egui::Ui, state: &AppState, labels: &HashMap<AccountId, AccountLabel>) {
    let Some(rows) = state.logs.gateway.value().filter(|r| !r.is_empty()) else { return };
    ui.separator();
    ui.strong(tr("logs.gateway"));
    ui.weak(tr("logs.gateway_hint"));
    crate::ui::gateway::account_figures_ui(ui, "logs_gateway", rows, |id| {
        labels.get(&id).map(|l| l.name.clone()).unwrap_or_else(|| format!("#{id}"))
    });
}

fn site_stats_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    labels: &HashMap<AccountId, AccountLabel>,
    st: &crate::domain::usage_log::LogStats,
    cmds: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        let busy = state.logs.site_stats.is_loading();
        if ui
            .add_enabled(!busy, egui::Button::new(tr("logs.compare_site")))
            .on_hover_text(tr("logs.compare_site_hint"))
            .clicked()
        {
            cmds.push(Command::Logs(LogsCmd::CompareSiteStats));
        }
        if busy {
            ui.spinner();
        }
    });
    let Some(rows) = state.logs.site_stats.value() else { return };
    egui::Grid::new("logs_site_stats").striped(true).show(ui, |ui| {
        for key in ["logs.col.account", "logs.col.site_sum", "logs.col.local_sum"] {
            ui.strong(tr(key));
        }
        ui.end_row();
        let mut rows: Vec<_> = rows.iter().collect();
        rows.sort_by_key(|r| r.account_id);
        for r in rows {
            let l = labels.get(&r.account_id).cloned().unwrap_or_default();
            ui.label(&l.name);
            match &r.site_quota {
                Ok(Some(q)) => ui.label(l.currency.format_quota(*q)),
                Ok(None) => ui.weak(tr("logs.site_stat_none")),
                Err(e) => ui.colored_label(ui.visuals().error_fg_color, e),
            };
            let local = st.by_account.iter().find(|b| b.key == r.account_id.to_string()).map_or(0, |b| b.totals.quota);
            ui.label(l.currency.format_quota(local));
            ui.end_row();
        }
    });
    ui.separator();
}

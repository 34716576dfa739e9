//! Charts of the Usage tab (egui_plot): spend per day stacked by account or model,
//! requests per hour of a chosen day, balance history per account. Hover shows values.

use std::collections::{BTreeMap, BTreeSet};

use egui_plot::{Bar, BarChart, Legend, Line, Plot};

use crate::app::command::LogsCmd;
use crate::app::i18n::tr;
use crate::app::logs::account_labels;
use crate::app::{AppState, Command};
use crate::domain::AccountId;
use crate::domain::money::CurrencySettings;
use crate::domain::time::local_midnight;
use crate::store::{SeriesPoint, StackBy};
use crate::ui::logs::LogsPanel;

/// Day number (days since 0001-01-01) of `YYYY-MM-DD`.
fn day_number(day: &str) -> Option<f64> {
    use chrono::Datelike;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok().map(|d| f64::from(d.num_days_from_ce()))
}

fn day_label(n: f64) -> String {
    chrono::NaiveDate::from_num_days_from_ce_opt(n.round() as i32)
        .map(|d| d.format("%m-%d").to_string())
        .unwrap_or_default()
}

/// Stacked bar charts from points: one chart per series, a bar at every bucket.
fn stacked(
    points: &[SeriesPoint],
    x_of: impl Fn(&str) -> Option<f64>,
    value: impl Fn(&SeriesPoint) -> f64,
    name: impl Fn(&str) -> String,
    width: f64,
) -> Vec<BarChart> {
    let buckets: BTreeSet<&str> = points.iter().map(|p| p.bucket.as_str()).collect();
    let mut series: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for p in points {
        *series.entry(p.series.as_str()).or_default().entry(p.bucket.as_str()).or_default() += value(p);
    }
    let mut charts: Vec<BarChart> = Vec::new();
    for (s, values) in series {
        let bars: Vec<Bar> = buckets
            .iter()
            .filter_map(|b| x_of(b).map(|x| Bar::new(x, values.get(b).copied().unwrap_or(0.0)).width(width)))
            .collect();
        let chart = {
            let below: Vec<&BarChart> = charts.iter().collect();
            BarChart::new(name(s), bars).stack_on(&below)
        };
        charts.push(chart);
    }
    charts
}

fn c_by(charts: Option<&crate::app::logs::LogCharts>, fallback: StackBy) -> StackBy {
    charts.map_or(fallback, |c| c.by)
}

/// Draws the charts; asks for them when the filter, stacking or day changed.
pub fn charts_ui(panel: &mut LogsPanel, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    let day_start = local_midnight(panel.hour_days_ago);
    let charts = state.logs.charts.value();
    let stale = charts.is_none_or(|c| c.by != panel.stack_by || c.hour_day_start != day_start)
        || state.logs.charts.fetched_at().zip(state.logs.stats.fetched_at()).is_some_and(|(c, s)| c < s);
    if stale && !state.logs.charts.is_loading() && state.logs.filter.is_some() {
        cmds.push(Command::Logs(LogsCmd::LoadCharts { by: panel.stack_by, day_start }));
    }
    let labels = account_labels(&state.sites);
    let stack_by = c_by(charts, panel.stack_by);
    let series_name = |s: &str| match stack_by {
        StackBy::Account => s
            .parse::<AccountId>()
            .ok()
            .and_then(|id| labels.get(&id))
            .map(|l| l.name.clone())
            .unwrap_or_else(|| s.to_string()),
        StackBy::Model => s.to_string(),
    };
    ui.horizontal(|ui| {
        ui.label(tr("logs.chart.stack_by"));
        ui.selectable_value(&mut panel.stack_by, StackBy::Account, tr("logs.per_account"));
        ui.selectable_value(&mut panel.stack_by, StackBy::Model, tr("logs.per_model"));
        if state.logs.charts.is_loading() {
            ui.spinner();
        }
    });
    let Some(c) = charts else { return };
    if c.per_day.is_empty() && c.balances.iter().all(|(_, h)| h.is_empty()) {
        ui.label(tr("logs.chart.no_data"));
    }
    let cs = CurrencySettings::default();
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.strong(tr("logs.chart.spend_per_day"));
        let bars = stacked(&c.per_day, day_number, |p| cs.quota_to_usd(p.totals.quota), series_name, 0.8);
        Plot::new("logs_spend_per_day")
            .height(200.0)
            .legend(Legend::default())
            .allow_scroll(false)
            .x_axis_formatter(|m, _| day_label(m.value))
            .show(ui, |p| {
                for b in bars {
                    p.bar_chart(b);
                }
            });
        ui.horizontal(|ui| {
            ui.strong(tr("logs.chart.requests_per_hour"));
            if ui.button(tr("logs.chart.prev_day")).clicked() {
                panel.hour_days_ago += 1;
            }
            ui.label(crate::domain::time::local_text(day_start, "%Y-%m-%d"));
            if ui.add_enabled(panel.hour_days_ago > 0, egui::Button::new(tr("logs.chart.next_day"))).clicked() {
                panel.hour_days_ago -= 1;
            }
        });
        let hours = stacked(&c.per_hour, |h| h.parse::<f64>().ok(), |p| p.totals.requests as f64, series_name, 0.8);
        Plot::new("logs_requests_per_hour").height(180.0).legend(Legend::default()).allow_scroll(false).show(ui, |p| {
            for b in hours {
                p.bar_chart(b);
            }
        });
        ui.strong(tr("logs.chart.balance"));
        let lines: Vec<Line> = c
            .balances
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(id, h)| {
                let l = labels.get(id);
                let currency = l.map(|l| l.currency.clone()).unwrap_or_default();
                let pts: Vec<[f64; 2]> =
                    h.iter().filter_map(|d| Some([day_number(&d.day)?, d.balance.as_ref()?.usd(&currency)?])).collect();
                Line::new(l.map(|l| l.name.clone()).unwrap_or_else(|| id.to_string()), pts)
            })
            .collect();
        Plot::new("logs_balance_history")
            .height(180.0)
            .legend(Legend::default())
            .allow_scroll(false)
            .x_axis_formatter(|m, _| day_label(m.value))
            .show(ui, |p| {
                for l in lines {
                    p.line(l);
                }
            });
    });
}

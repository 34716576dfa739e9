//! 站点 Sites: the account workbench — totals, filters, the virtualised accounts
//! table, and the selected account's details.

use egui_extras::{Column, TableBuilder};

use crate::app::{AppState, Command};
use crate::ui::add_account::AddAccountDialog;
use crate::ui::i18n::{fill, tr};
use crate::ui::sites_detail::{DetailAction, DetailView};
use crate::ui::sites_rows::{Health, RowQuery, SiteRow, SortKey, StatusFilter, Totals, build_rows, totals};
use crate::ui::widgets;

/// View state of the Sites panel.
#[derive(Default)]
pub struct SitesPanel {
    query: RowQuery,
    add: AddAccountDialog,
    detail: DetailView,
    selected: Option<crate::domain::AccountId>,
    cache: Option<(u64, RowQuery, Vec<SiteRow>, Totals)>,
    /// When the cached rows were built (key-expiry alerts depend on the time).
    built_at: i64,
}

const COLUMNS: [(&str, SortKey); 9] = [
    ("sites.col.site", SortKey::Site),
    ("sites.col.account", SortKey::Account),
    ("sites.col.kind", SortKey::Kind),
    ("sites.col.balance", SortKey::Balance),
    ("sites.col.today", SortKey::Today),
    ("sites.col.keys", SortKey::Keys),
    ("sites.col.models", SortKey::Models),
    ("sites.col.updated", SortKey::Updated),
    ("sites.col.status", SortKey::Status),
];

impl SitesPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        self.add.ui(ui.ctx(), state, cmds);
        crate::ui::checkin_view::summary_window(ui.ctx(), state, cmds);
        if ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::N)) {
            self.add.open(cmds);
        }
        ui.horizontal(|ui| {
            ui.heading(tr("nav.sites"));
            if ui.button(tr("add.open")).on_hover_text("Ctrl+N").clicked() {
                self.add.open(cmds);
            }
            let checking = state.actions.checkin_all_running;
            if ui
                .add_enabled(!checking, egui::Button::new(tr("checkin.all")))
                .on_hover_text(tr("checkin.all_hint"))
                .clicked()
            {
                cmds.push(Command::CheckInAll);
            }
            if checking {
                ui.spinner();
            }
            if state.accounts.is_loading() {
                ui.spinner();
            }
            if let Some(err) = state.accounts.error() {
                ui.colored_label(ui.visuals().error_fg_color, err);
            }
        });
        let accounts = state.accounts.value().map(Vec::as_slice).unwrap_or_default();
        if accounts.is_empty() {
            if !state.accounts.is_loading() {
                widgets::empty_state_ui(ui, tr("sites.empty.title"), tr("sites.empty.hint"));
                ui.vertical_centered(|ui| {
                    if ui.button(tr("add.open")).clicked() {
                        self.add.open(cmds);
                    }
                });
            }
            return;
        }
        self.refresh_cache(state);
        let Some(cache) = self.cache.take() else { return };
        totals_ui(ui, &cache.3, state, cmds);
        self.toolbar_ui(ui, state);
        ui.separator();
        if let Some(id) = self.selected
            && let Some(account) = accounts.iter().find(|a| a.id == id)
        {
            let mut action = DetailAction::None;
            egui::Panel::right("account_detail").resizable(true).default_size(380.0).show(ui, |ui| {
                action = self.detail.ui(ui, account, state.states.get(&id), state, cmds);
            });
            match action {
                DetailAction::None => {}
                DetailAction::Close => self.selected = None,
                DetailAction::SignInAgain => self.add.open_for(account, cmds),
            }
        }
        if cache.2.is_empty() {
            ui.weak(tr("sites.no_match"));
        } else {
            self.table_ui(ui, &cache.2, state, cmds);
        }
        // A header click may have changed the query: the next frame rebuilds.
        self.cache = Some(cache);
    }

    fn refresh_cache(&mut self, state: &AppState) {
        let now = crate::store::now_unix();
        let fresh = self.cache.as_ref().is_some_and(|(v, q, _, _)| *v == state.data_version && *q == self.query)
            && now - self.built_at < 3600;
        if !fresh {
            self.built_at = now;
            let accounts = state.accounts.value().map(Vec::as_slice).unwrap_or_default();
            let rows = build_rows(accounts, &state.states, &self.query, &state.alerts, now);
            let sums = totals(&rows);
            self.cache = Some((state.data_version, self.query.clone(), rows, sums));
        }
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui, state: &AppState) {
        ui.horizontal_wrapped(|ui| {
            let label = ui.label(tr("common.search"));
            ui.add(
                egui::TextEdit::singleline(&mut self.query.search)
                    .hint_text(tr("sites.search_hint"))
                    .desired_width(260.0),
            )
            .labelled_by(label.id);
            ui.separator();
            for (f, key) in [
                (StatusFilter::All, "sites.filter.all"),
                (StatusFilter::Ok, "sites.filter.ok"),
                (StatusFilter::Failing, "sites.filter.error"),
                (StatusFilter::AuthNeeded, "sites.filter.auth"),
                (StatusFilter::HasAlerts, "sites.filter.alerts"),
            ] {
                ui.selectable_value(&mut self.query.status, f, tr(key));
            }
            ui.separator();
            let mut groups: Vec<String> = state
                .accounts
                .value()
                .map(|a| a.iter().map(|a| a.group_name.clone()).filter(|g| !g.is_empty()).collect())
                .unwrap_or_default();
            groups.sort();
            groups.dedup();
            if !groups.is_empty() {
                let label = ui.label(tr("sites.filter.group"));
                let current = self.query.group.clone().unwrap_or_else(|| tr("sites.filter.all_groups").to_string());
                egui::ComboBox::from_id_salt("group_filter")
                    .selected_text(current)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.query.group, None, tr("sites.filter.all_groups"));
                        for g in groups {
                            ui.selectable_value(&mut self.query.group, Some(g.clone()), g);
                        }
                    })
                    .response
                    .labelled_by(label.id);
            }
            ui.checkbox(&mut self.query.show_disabled, tr("sites.show_disabled"));
        });
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, rows: &[SiteRow], state: &AppState, cmds: &mut Vec<Command>) {
        let now = crate::store::now_unix();
        let busy = state.refresh.is_some();
        // A wide table must not reach under the detail panel: it would take its clicks.
        let clip = ui.clip_rect().intersect(ui.available_rect_before_wrap());
        ui.set_clip_rect(clip);
        let mut table = TableBuilder::new(ui).striped(true).resizable(true).sense(egui::Sense::click());
        for (i, _) in COLUMNS.iter().enumerate() {
            table = table.column(match i {
                0 => Column::auto().at_least(150.0),
                8 => Column::remainder().at_least(180.0),
                5 | 6 => Column::auto().at_least(45.0),
                _ => Column::auto().at_least(80.0),
            });
            if i == 7 {
                table = table.column(Column::auto().at_least(80.0)); // check-in
            }
        }
        let accounts = state.accounts.value().map(Vec::as_slice).unwrap_or_default();
        table
            .header(24.0, |mut h| {
                for (key, sort) in COLUMNS {
                    if sort == SortKey::Status {
                        h.col(|ui| {
                            ui.strong(tr("checkin.column"));
                        });
                    }
                    h.col(|ui| {
                        let arrow = match (self.query.sort == sort, self.query.descending) {
                            (true, false) => " ^",
                            (true, true) => " v",
                            _ => "",
                        };
                        if ui.button(egui::RichText::new(format!("{}{arrow}", tr(key))).strong()).clicked() {
                            if self.query.sort == sort {
                                self.query.descending = !self.query.descending;
                            } else {
                                self.query.sort = sort;
                                self.query.descending = false;
                            }
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(26.0, rows.len(), |mut row| {
                    let r = &rows[row.index()];
                    row.set_selected(self.selected == Some(r.id));
                    row.col(|ui| {
                        let color = match r.health {
                            Health::Ok => egui::Color32::from_rgb(60, 180, 90),
                            Health::Failing | Health::AuthNeeded => ui.visuals().error_fg_color,
                            Health::Never => ui.visuals().weak_text_color(),
                        };
                        ui.horizontal(|ui| {
                            ui.label(egui::RichText::new("●").color(color));
                            let name = if r.disabled {
                                format!("{} ({})", r.site, tr("sites.disabled"))
                            } else {
                                r.site.clone()
                            };
                            ui.label(name).on_hover_text(&r.url);
                            crate::ui::alerts_view::badge_ui(ui, &r.alerts);
                        });
                    });
                    row.col(|ui| {
                        ui.label(&r.account);
                    });
                    row.col(|ui| {
                        ui.label(r.kind);
                    });
                    row.col(|ui| {
                        if let Some(b) = &r.balance {
                            ui.label(b);
                        }
                    });
                    row.col(|ui| {
                        if let Some(t) = &r.today {
                            let resp = ui.label(t);
                            if let Some(n) = r.requests {
                                resp.on_hover_text(fill(tr("sites.requests"), &[("n", &n)]));
                            }
                        }
                    });
                    row.col(|ui| {
                        if let Some(k) = r.keys {
                            ui.label(k.to_string());
                        }
                    });
                    row.col(|ui| {
                        if let Some(m) = r.models {
                            ui.label(m.to_string());
                        }
                    });
                    row.col(|ui| {
                        match r.updated_at {
                            Some(t) => ui.label(widgets::age_text(t, now)),
                            None => ui.weak(tr("sites.never")),
                        };
                    });
                    row.col(|ui| {
                        if let Some(a) = accounts.iter().find(|a| a.id == r.id)
                            && let Some(text) = crate::ui::checkin_view::today_text(a, state.states.get(&r.id), state)
                        {
                            ui.label(text);
                        }
                    });
                    row.col(|ui| {
                        if ui
                            .add_enabled(!busy, egui::Button::new(tr("sites.refresh_one")).small())
                            .on_hover_text(tr("sites.refresh_one_hint"))
                            .clicked()
                        {
                            cmds.push(Command::RefreshAccounts(vec![r.id]));
                        }
                        match &r.error {
                            Some((kind, message)) => {
                                let title = tr(&format!("error.{kind}")).to_string();
                                ui.colored_label(ui.visuals().error_fg_color, format!("{title}: {message}"))
                                    .on_hover_text(message);
                            }
                            None if r.health == Health::Ok => {
                                ui.label(tr("sites.ok"));
                            }
                            None => {}
                        }
                    });
                    if row.response().clicked() {
                        self.selected = if self.selected == Some(r.id) { None } else { Some(r.id) };
                    }
                });
            });
    }
}

fn totals_ui(ui: &mut egui::Ui, t: &Totals, state: &AppState, cmds: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new(tr("sites.totals.balance")).weak());
        if t.balance.is_empty() {
            ui.label("-");
        }
        for (cur, amount) in &t.balance {
            ui.strong(format!("{amount:.2} {cur}"));
        }
        ui.separator();
        ui.label(egui::RichText::new(tr("sites.totals.today")).weak());
        ui.strong(format!("${:.2}", t.today_usd));
        ui.separator();
        ui.label(fill(tr("sites.totals.health"), &[("ok", &t.ok), ("failed", &t.failing)]));
        if t.alerts > 0 {
            ui.label(widgets::severity_text(
                &fill(tr("sites.totals.alerts"), &[("n", &t.alerts)]),
                crate::app::Severity::Warning,
                ui,
            ));
        }
        ui.separator();
        let mut schedule = state.schedule;
        ui.checkbox(&mut schedule.enabled, tr("sites.auto"));
        let label = ui.label(tr("sites.auto_interval"));
        ui.add_enabled(
            schedule.enabled,
            egui::DragValue::new(&mut schedule.interval_mins)
                .range(crate::engine::schedule::MIN_INTERVAL_MINS..=24 * 60)
                .speed(1.0),
        )
        .labelled_by(label.id);
        if schedule != state.schedule {
            cmds.push(Command::SetSchedule(schedule));
        }
        let hhmm = |at: i64| {
            chrono::DateTime::from_timestamp(at, 0)
                .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
                .unwrap_or_default()
        };
        let now = crate::store::now_unix();
        match (state.next_auto_refresh_at, state.offline_until) {
            (_, Some(until)) if until > now && state.schedule.enabled => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    fill(tr("sites.totals.offline"), &[("when", &hhmm(until))]),
                );
            }
            (Some(at), _) => {
                ui.label(fill(tr("sites.totals.next"), &[("when", &hhmm(at))]));
            }
            (None, _) => {
                ui.weak(tr("sites.totals.auto_off"));
            }
        }
    });
}

//! 站点 Sites: the account workbench — totals, filters, the virtualised accounts
//! table, and the selected account's details.

use egui_extras::{Column, TableBuilder};

use crate::app::command::{CheckinCmd, SitesCmd};
use crate::app::i18n::{fill, tr};
use crate::app::{AppState, Command};
use crate::domain::snapshot::AccountState;
use crate::ui::add_account::AddAccountDialog;
use crate::ui::fit::{self, ColumnFit};
use crate::ui::sites_detail::{DetailAction, DetailView};
use crate::ui::sites_rows::{
    self, Health, RowQuery, SiteRow, SortKey, StatusFilter, Totals, build_rows, narrow_rows, patch_rows, resort_rows,
    totals,
};
use crate::ui::widgets::{self, number_cell};

/// View state of the Sites panel.
#[derive(Default)]
pub struct SitesPanel {
    query: RowQuery,
    add: AddAccountDialog,
    detail: DetailView,
    selected: Option<crate::domain::AccountId>,
    cache: Option<(u64, RowQuery, Vec<SiteRow>, Totals)>,
    /// The row an account is being dragged over (last frame), to highlight it.
    drop_target: Option<crate::domain::AccountId>,
    /// When the cached rows were built (key-expiry alerts depend on the time).
    built_at: i64,
    /// Cell texts of the cached rows (same order), in the language they were made in:
    /// made when a row is first drawn, so a rebuild (a state landing during a refresh of
    /// every account) formats only the rows on screen.
    texts: Vec<Option<RowTexts>>,
    texts_lang: Option<crate::app::i18n::Lang>,
    /// The user groups of all accounts, sorted (for the group filter).
    groups: Vec<String>,
    /// Account id → its index in `state.sites.accounts`.
    index: std::collections::HashMap<crate::domain::AccountId, usize>,
    /// Columns the user hid with the column chooser (by index in `COLUMNS`).
    hidden: [bool; COLUMNS.len()],
    /// Columns folded away in the last frame because the table was too narrow.
    folded: [bool; COLUMNS.len()],
}

/// A row's formatted cells, made the first time the row is drawn after a rebuild, never per frame.
struct RowTexts {
    name: String,
    url: String,
    account: String,
    /// Balance and today's spend ([`sites_rows::money_texts`]).
    balance: Option<String>,
    today: Option<String>,
    requests: String,
    tokens: String,
    keys: String,
    models: String,
    /// "Title: message" of the last error, and the message.
    error: Option<(String, String)>,
}

impl RowTexts {
    /// `account` and `state`: the row's, as the rows were built from them.
    fn of(r: &SiteRow, account: Option<&crate::domain::Account>, state: Option<&AccountState>) -> RowTexts {
        let num = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let (balance, today) = account.map(|a| sites_rows::money_texts(a, state)).unwrap_or_default();
        let site = account.map(|a| a.site.name.as_str()).unwrap_or_default();
        RowTexts {
            name: if r.disabled { format!("{site} ({})", tr("sites.disabled")) } else { site.to_string() },
            url: account.map(|a| a.site.url.clone()).unwrap_or_default(),
            account: account.map(sites_rows::account_label).unwrap_or_default().to_string(),
            balance,
            today,
            requests: num(r.requests),
            tokens: r.tokens.map(widgets::compact_count).unwrap_or_default(),
            keys: num(r.keys.map(|k| k as i64)),
            models: num(r.models.map(|m| m as i64)),
            error: state.and_then(|s| s.last_error.as_ref()).map(|e| {
                let title = if r.sign_in_needed {
                    tr("sites.sign_in_needed.status").to_string()
                } else {
                    format!("{}: {}", tr(&format!("error.{}", e.kind)), e.message)
                };
                (title, e.message.clone())
            }),
        }
    }
}

/// Height of a table row.
const ROW_HEIGHT: f32 = 26.0;

/// The table's columns after the drag handle, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Site,
    Account,
    Kind,
    Balance,
    Today,
    Requests,
    Tokens,
    Keys,
    Models,
    Updated,
    Checkin,
    Status,
    Actions,
}

/// A column: header key, sort key, minimum and preferred width, fold rank (0: always
/// shown; the highest rank folds first when the table is narrow, its values stay in the
/// detail pane).
struct ColSpec {
    col: Col,
    key: &'static str,
    sort: Option<SortKey>,
    min: f32,
    preferred: f32,
    fold: u8,
}

const fn spec(col: Col, key: &'static str, sort: Option<SortKey>, min: f32, preferred: f32, fold: u8) -> ColSpec {
    ColSpec { col, key, sort, min, preferred, fold }
}

const COLUMNS: [ColSpec; 13] = [
    spec(Col::Site, "sites.col.site", Some(SortKey::Site), 120.0, 190.0, 0),
    spec(Col::Account, "sites.col.account", Some(SortKey::Account), 70.0, 120.0, 3),
    spec(Col::Kind, "sites.col.kind", Some(SortKey::Kind), 64.0, 80.0, 7),
    spec(Col::Balance, "sites.col.balance", Some(SortKey::Balance), 70.0, 115.0, 0),
    spec(Col::Today, "sites.col.today", Some(SortKey::Today), 55.0, 75.0, 2),
    spec(Col::Requests, "sites.col.requests", Some(SortKey::Requests), 45.0, 72.0, 6),
    spec(Col::Tokens, "sites.col.tokens", Some(SortKey::Tokens), 45.0, 72.0, 8),
    spec(Col::Keys, "sites.col.keys", Some(SortKey::Keys), 36.0, 52.0, 9),
    spec(Col::Models, "sites.col.models", Some(SortKey::Models), 40.0, 56.0, 9),
    spec(Col::Updated, "sites.col.updated", Some(SortKey::Updated), 70.0, 90.0, 5),
    spec(Col::Checkin, "checkin.column", None, 70.0, 110.0, 4),
    // The status cell takes what is left (`Column::remainder`).
    spec(Col::Status, "sites.col.status", Some(SortKey::Status), 110.0, 110.0, 0),
    spec(Col::Actions, "sites.col.actions", None, 60.0, 60.0, 0),
];

impl SitesPanel {
    /// The account whose detail pane is open.
    pub fn selected(&self) -> Option<crate::domain::AccountId> {
        self.selected
    }

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
            let checking = state.checkin.all_running;
            if ui
                .add_enabled(!checking, egui::Button::new(tr("checkin.all")))
                .on_hover_text(tr("checkin.all_hint"))
                .clicked()
            {
                cmds.push(Command::Checkin(CheckinCmd::CheckInAll));
            }
            if checking {
                ui.spinner();
            }
            if state.sites.accounts.is_loading() {
                ui.spinner();
            }
            if let Some(err) = state.sites.accounts.error() {
                ui.colored_label(ui.visuals().error_fg_color, err);
            }
        });
        let accounts = state.sites.accounts.value().map(Vec::as_slice).unwrap_or_default();
        if accounts.is_empty() {
            if !state.sites.accounts.is_loading() {
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
        self.toolbar_ui(ui);
        ui.separator();
        if let Some(id) = self.selected
            && let Some(account) = accounts.iter().find(|a| a.id == id)
        {
            let mut action = DetailAction::None;
            egui::Panel::right("account_detail").resizable(true).default_size(380.0).show(ui, |ui| {
                action = self.detail.ui(ui, account, state.sites.states.get(&id), state, cmds);
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
        let now = crate::domain::time::now_unix();
        let fresh = self.cache.as_ref().is_some_and(|(v, q, _, _)| *v == state.sites.data_version && *q == self.query)
            && now - self.built_at < 3600;
        if !fresh && (self.patch_cache(state, now) || self.follow_query(state, now)) {
            return;
        }
        if !fresh {
            self.built_at = now;
            let accounts = state.sites.accounts.value().map(Vec::as_slice).unwrap_or_default();
            let rows = build_rows(accounts, &state.sites.states, &self.query, &state.settings.alerts, now);
            let sums = totals(&rows);
            self.cache = Some((state.sites.data_version, self.query.clone(), rows, sums));
            self.texts_lang = None;
            self.index = accounts.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
            let mut groups: Vec<String> =
                accounts.iter().map(|a| a.group_name.clone()).filter(|g| !g.is_empty()).collect();
            groups.sort();
            groups.dedup();
            self.groups = groups;
        }
        let lang = crate::app::i18n::lang();
        if self.texts_lang != Some(lang)
            && let Some((_, _, rows, _)) = &self.cache
        {
            self.texts.clear();
            self.texts.resize_with(rows.len(), || None);
            self.texts_lang = Some(lang);
        }
    }

    /// Only some accounts' states changed since the rows were built (a refresh landing):
    /// patch those rows in place (their cell texts made again when next drawn) instead of
    /// rebuilding all. `false` when a rebuild is needed.
    fn patch_cache(&mut self, state: &AppState, now: i64) -> bool {
        let Some((version, query, rows, sums)) = &mut self.cache else { return false };
        if *query != self.query || now - self.built_at >= 3600 || self.texts_lang != Some(crate::app::i18n::lang()) {
            return false;
        }
        let Some(changed) = state.sites.states_changed_since(*version) else { return false };
        let accounts = state.sites.accounts.value().map(Vec::as_slice).unwrap_or_default();
        let before: Vec<_> = rows.iter().map(|r| r.id).collect();
        if !patch_rows(rows, &changed, accounts, &state.sites.states, query, &state.settings.alerts, now) {
            return false;
        }
        *version = state.sites.data_version;
        *sums = totals(rows);
        for (i, r) in rows.iter().enumerate() {
            // A changed row, or one a new sort order moved: its texts are made again.
            if (before[i] != r.id || changed.contains(&r.id))
                && let Some(t) = self.texts.get_mut(i)
            {
                *t = None;
            }
        }
        true
    }

    /// The data are those the rows were built from and only the query changed in a way the
    /// built rows can follow: the search grew (a character typed), so the rows it shows
    /// are among them and only those are searched again ([`narrow_rows`]); or only the sort
    /// changed (a header click): the same rows in another order ([`resort_rows`]). The row
    /// texts are made again when drawn (rows moved). `false`: rebuild.
    fn follow_query(&mut self, state: &AppState, now: i64) -> bool {
        let Some((version, query, rows, sums)) = &mut self.cache else { return false };
        if *version != state.sites.data_version
            || now - self.built_at >= 3600
            || self.texts_lang != Some(crate::app::i18n::lang())
        {
            return false;
        }
        let accounts = state.sites.accounts.value().map(Vec::as_slice).unwrap_or_default();
        if narrow_rows(rows, query, &self.query, accounts, &state.sites.states) {
            *sums = totals(rows);
        } else if !resort_rows(rows, query, &self.query, accounts) {
            return false;
        }
        *query = self.query.clone();
        self.texts.clear();
        self.texts.resize_with(rows.len(), || None);
        true
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui) {
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
            let groups = &self.groups;
            if !groups.is_empty() {
                let label = ui.label(tr("sites.filter.group"));
                let current = self.query.group.clone().unwrap_or_else(|| tr("sites.filter.all_groups").to_string());
                egui::ComboBox::from_id_salt("group_filter")
                    .selected_text(current)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.query.group, None, tr("sites.filter.all_groups"));
                        for g in groups {
                            ui.selectable_value(&mut self.query.group, Some(g.clone()), g.as_str());
                        }
                    })
                    .response
                    .labelled_by(label.id);
            }
            ui.checkbox(&mut self.query.show_disabled, tr("sites.show_disabled"));
            ui.menu_button(tr("sites.columns"), |ui| {
                for (i, c) in COLUMNS.iter().enumerate().filter(|(_, c)| c.fold > 0) {
                    let mut shown = !self.hidden[i];
                    ui.horizontal(|ui| {
                        ui.checkbox(&mut shown, tr(c.key));
                        if shown && self.folded[i] {
                            ui.weak(tr("sites.columns.folded"));
                        }
                    });
                    self.hidden[i] = !shown;
                }
            });
        });
    }

    /// Each column's width this frame (`None`: hidden or folded), the table `width` wide.
    fn column_widths(&mut self, ui: &egui::Ui, width: f32) -> [Option<f32>; COLUMNS.len()] {
        let fits: Vec<ColumnFit> = COLUMNS
            .iter()
            .zip(self.hidden)
            .map(|(c, hidden)| {
                // Room for the sort mark too, so sorting never cuts a header.
                let header = fit::header_width(ui, &format!("{} v", tr(c.key)));
                let actions = fit::header_width(ui, tr("sites.refresh_one"));
                let fit = if c.fold == 0 {
                    ColumnFit::fixed(c.min, c.preferred)
                } else {
                    ColumnFit { hidden, ..ColumnFit::folding(c.min, c.preferred, c.fold) }
                };
                if c.col == Col::Actions { fit.header(header.max(actions)) } else { fit.header(header) }
            })
            .collect();
        let gap = ui.spacing().item_spacing.x;
        let widths = fit::fit(width, gap, &fits);
        let mut out = [None; COLUMNS.len()];
        for (i, w) in widths.into_iter().enumerate() {
            out[i] = w;
            self.folded[i] = w.is_none() && !self.hidden[i];
        }
        out
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, rows: &[SiteRow], state: &AppState, cmds: &mut Vec<Command>) {
        let now = crate::domain::time::now_unix();
        // A wide table must not reach under the detail panel: it would take its clicks.
        let clip = ui.clip_rect().intersect(ui.available_rect_before_wrap());
        ui.set_clip_rect(clip);
        fit::note_rect(ui, "sites", ui.available_rect_before_wrap());
        // Text in the rows is not selectable: a click anywhere on a row selects the row.
        ui.style_mut().interaction.selectable_labels = false;
        // Drag handles reorder the user's order: only shown while the table is in it.
        let draggable = self.query.sort == SortKey::Manual;
        let handle = if draggable { 16.0 } else { 0.0 };
        let gap = ui.spacing().item_spacing.x;
        let widths = self.column_widths(ui, fit::table_width(ui) - handle - gap);
        let shown: Vec<(Col, &ColSpec)> =
            COLUMNS.iter().zip(widths).filter(|(_, w)| w.is_some()).map(|(c, _)| (c.col, c)).collect();
        let mut table = TableBuilder::new(ui)
            .striped(true)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .sense(egui::Sense::click());
        let hovered_drop = self.drop_target.take();
        table = table.column(Column::exact(handle).clip(false));
        // No column clips its cells (`exact` would): a clip rectangle per cell is a draw
        // call per cell (see `widgets::clip_to_cell`). Every cell keeps to its width itself.
        for (c, w) in COLUMNS.iter().zip(widths) {
            let Some(w) = w else { continue };
            table = table.column(match c.col {
                Col::Status => Column::remainder().at_least(w),
                _ => Column::exact(w).clip(false),
            });
        }
        let accounts = state.sites.accounts.value().map(Vec::as_slice).unwrap_or_default();
        let mut sign_in = None;
        table
            .header(24.0, |mut h| {
                h.col(|_| {});
                for (_, c) in &shown {
                    h.col(|ui| {
                        widgets::clip_to_cell(ui);
                        let Some(sort) = c.sort else {
                            ui.strong(tr(c.key));
                            return;
                        };
                        let arrow = match (self.query.sort == sort, self.query.descending) {
                            (true, false) => " ^",
                            (true, true) => " v",
                            _ => "",
                        };
                        if ui.button(egui::RichText::new(format!("{}{arrow}", tr(c.key))).strong()).clicked() {
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
                body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                    let r = &rows[row.index()];
                    let Some(t) = self.texts.get_mut(row.index()) else { return };
                    let t = &*t.get_or_insert_with(|| {
                        let account = self.index.get(&r.id).and_then(|i| accounts.get(*i));
                        RowTexts::of(r, account, state.sites.states.get(&r.id))
                    });
                    row.set_selected(self.selected == Some(r.id));
                    row.set_hovered(hovered_drop == Some(r.id));
                    row.col(|ui| {
                        if draggable {
                            let handle = ui
                                .add(egui::Label::new(egui::RichText::new("≡").weak()).sense(egui::Sense::drag()))
                                .on_hover_cursor(egui::CursorIcon::Grab)
                                .on_hover_text(tr("sites.drag_hint"));
                            handle.dnd_set_drag_payload(r.id);
                        }
                    });
                    for (col, _) in &shown {
                        row.col(|ui| {
                            if cell_ui(ui, *col, r, t, now, &self.index, accounts, state, cmds) {
                                sign_in = Some(r.id);
                            }
                        });
                    }
                    let resp = row.response();
                    if resp.clicked() {
                        self.selected = if self.selected == Some(r.id) { None } else { Some(r.id) };
                    }
                    if draggable {
                        // A cell whose text wraps makes the row's response taller than
                        // the row: test the pointer against the row's own band.
                        let band = egui::Rect::from_min_size(
                            resp.rect.min,
                            egui::vec2(resp.rect.width(), ROW_HEIGHT + resp.ctx.global_style().spacing.item_spacing.y),
                        );
                        let over = resp.ctx.pointer_latest_pos().is_some_and(|p| band.contains(p));
                        type Dragged = crate::domain::AccountId;
                        if over && egui::DragAndDrop::payload::<Dragged>(&resp.ctx).is_some_and(|src| *src != r.id) {
                            self.drop_target = Some(r.id);
                            if resp.ctx.input(|i| i.pointer.any_released())
                                && let Some(src) = egui::DragAndDrop::take_payload::<Dragged>(&resp.ctx)
                                && let Some(delta) = drop_delta(accounts, *src, r.id)
                            {
                                cmds.push(Command::Sites(SitesCmd::MoveAccount { id: *src, delta }));
                            }
                        }
                    }
                });
            });
        // The badge opens the account with the form to enter its credentials.
        if let Some(id) = sign_in
            && let Some(account) = accounts.iter().find(|a| a.id == id)
        {
            self.selected = Some(id);
            self.add.open_for(account, cmds);
        }
    }
}

/// The "sign-in needed" badge of a row whose credentials were reset or cannot be read.
fn sign_in_badge(ui: &mut egui::Ui) -> egui::Response {
    let text = egui::RichText::new(tr("sites.sign_in_needed")).small().color(ui.visuals().warn_fg_color);
    ui.add(egui::Button::new(text).small()).on_hover_text(tr("sites.sign_in_needed.hint"))
}

/// One cell of a row; true when the row's "sign-in needed" badge was clicked.
#[allow(clippy::too_many_arguments)]
fn cell_ui(
    ui: &mut egui::Ui,
    col: Col,
    r: &SiteRow,
    t: &RowTexts,
    now: i64,
    index: &std::collections::HashMap<crate::domain::AccountId, usize>,
    accounts: &[crate::domain::Account],
    state: &AppState,
    cmds: &mut Vec<Command>,
) -> bool {
    let mut sign_in = false;
    match col {
        Col::Site => {
            let color = match r.health {
                Health::Ok => egui::Color32::from_rgb(60, 180, 90),
                Health::Failing | Health::AuthNeeded => ui.visuals().error_fg_color,
                Health::Never => ui.visuals().weak_text_color(),
            };
            // The sign-in badge can leave the name less than nothing in a narrow column.
            if r.sign_in_needed {
                widgets::clip_to_cell(ui);
            }
            ui.horizontal(|ui| {
                ui.label(egui::RichText::new("●").color(color));
                crate::ui::alerts_view::badge_ui(ui, &r.alerts);
                if r.sign_in_needed && sign_in_badge(ui).clicked() {
                    sign_in = true;
                }
                ui.add(egui::Label::new(&t.name).truncate()).on_hover_text(&t.url);
            });
        }
        Col::Account => {
            ui.add(egui::Label::new(&t.account).truncate());
        }
        Col::Kind => {
            ui.add(egui::Label::new(r.kind).truncate());
        }
        Col::Balance => {
            if let Some(b) = &t.balance {
                number_cell(ui, b);
            }
        }
        Col::Today => {
            if let Some(today) = &t.today {
                number_cell(ui, today);
            }
        }
        Col::Requests => {
            number_cell(ui, &t.requests);
        }
        Col::Tokens => {
            if let Some(n) = r.tokens {
                number_cell(ui, &t.tokens).on_hover_ui(|ui| {
                    ui.label(n.to_string());
                });
            }
        }
        Col::Keys => {
            number_cell(ui, &t.keys);
        }
        Col::Models => {
            number_cell(ui, &t.models);
        }
        Col::Updated => {
            match r.updated_at {
                Some(t) => ui.add(egui::Label::new(widgets::age_text(t, now)).truncate()),
                None => ui.add(egui::Label::new(egui::RichText::new(tr("sites.never")).weak()).truncate()),
            };
        }
        Col::Checkin => {
            if let Some(a) = index.get(&r.id).and_then(|i| accounts.get(*i))
                && let Some(text) = crate::ui::checkin_view::today_text(a, state.sites.states.get(&r.id), state)
            {
                ui.add(egui::Label::new(text).truncate());
            }
        }
        Col::Status => match &t.error {
            Some((title, message)) => {
                let text = egui::RichText::new(title).color(ui.visuals().error_fg_color);
                ui.add(egui::Label::new(text).truncate()).on_hover_text(message);
            }
            None if r.health == Health::Ok => {
                ui.add(egui::Label::new(tr("sites.ok")).truncate());
            }
            None => {}
        },
        Col::Actions => {
            if ui
                // Always clickable: a refresh already holding the account says so.
                .add(super::widgets::row_action(ui, tr("sites.refresh_one")))
                .on_hover_text(tr("sites.refresh_one_hint"))
                .clicked()
            {
                cmds.push(Command::Sites(SitesCmd::RefreshAccounts(vec![r.id])));
            }
        }
    }
    sign_in
}

/// The move that puts `src` where `target` is in the user's order (`accounts` is in
/// that order): the same command the move buttons push.
fn drop_delta(
    accounts: &[crate::domain::Account],
    src: crate::domain::AccountId,
    target: crate::domain::AccountId,
) -> Option<i64> {
    let pos = |id| accounts.iter().position(|a| a.id == id);
    let delta = pos(target)? as i64 - pos(src)? as i64;
    (delta != 0).then_some(delta)
}

fn totals_ui(ui: &mut egui::Ui, t: &Totals, state: &AppState, cmds: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new(tr("sites.totals.balance")).weak());
        if t.balance.is_empty() {
            ui.label("-");
        }
        for (cur, amount) in &t.balance {
            ui.strong(format!("{} {cur}", crate::domain::money::amount_text(*amount)));
        }
        ui.separator();
        ui.label(egui::RichText::new(tr("sites.totals.today")).weak());
        if t.today.is_empty() {
            ui.label("-");
        }
        for (cur, amount) in &t.today {
            ui.strong(format!("{} {cur}", crate::domain::money::amount_text(*amount)));
        }
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
        let mut schedule = state.settings.refresh;
        ui.checkbox(&mut schedule.enabled, tr("sites.auto"));
        let label = ui.label(tr("sites.auto_interval"));
        ui.add_enabled(
            schedule.enabled,
            egui::DragValue::new(&mut schedule.interval_mins)
                .range(crate::engine::schedule::MIN_INTERVAL_MINS..=24 * 60)
                .speed(1.0),
        )
        .labelled_by(label.id);
        if schedule != state.settings.refresh {
            cmds.push(Command::Sites(SitesCmd::SetSchedule(schedule)));
        }
        let hhmm = |at: i64| crate::domain::time::local_text(at, "%H:%M");
        let now = crate::domain::time::now_unix();
        match (state.sites.next_auto_refresh_at, state.sites.offline_until) {
            (_, Some(until)) if until > now && state.settings.refresh.enabled => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Account, AuthMethod, Site, SiteKind};

    fn acc(id: i64) -> Account {
        Account {
            id,
            site: Site { id, name: format!("s{id}"), url: format!("https://s{id}"), kind: SiteKind::NewApi },
            user_id: id.to_string(),
            username: String::new(),
            auth: AuthMethod::AccessToken,
            group_name: String::new(),
            paid_per_usd: None,
            disabled: false,
            notes: String::new(),
            low_balance_threshold: None,
            refresh_interval_mins: None,
            name: String::new(),
        }
    }

    #[test]
    fn a_drop_moves_the_dragged_account_to_the_targets_place() {
        let order = vec![acc(7), acc(3), acc(9), acc(1)];
        assert_eq!(drop_delta(&order, 7, 9), Some(2), "down two");
        assert_eq!(drop_delta(&order, 1, 3), Some(-2), "up two");
        assert_eq!(drop_delta(&order, 3, 3), None, "onto itself: nothing");
        assert_eq!(drop_delta(&order, 3, 42), None, "gone: nothing");
    }
}

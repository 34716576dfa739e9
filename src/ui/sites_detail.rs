//! The selected account's details: user, today, keys, models, groups, notice, and the
//! account's own settings (group, paid ratio, notes, disabled), its site's network
//! settings, order and deletion.

use crate::app::command::SitesCmd;
use crate::app::i18n::{fill, tr};
use crate::app::{AppState, Command};
use crate::domain::Account;
use crate::domain::snapshot::{AccountState, Availability, Part};
use crate::store::AccountMeta;
use crate::ui::widgets;

/// What the detail view asks of the Sites panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailAction {
    /// Nothing.
    None,
    /// Close the view.
    Close,
    /// Open the add dialog on this account's site and user, to enter new credentials.
    SignInAgain,
}

/// View state of the detail panel.
#[derive(Debug, Default)]
pub struct DetailView {
    /// The account the form below was loaded from.
    form_for: Option<i64>,
    meta: AccountMeta,
    paid_text: String,
    threshold_text: String,
    interval_text: String,
    models_filter: String,
    confirm_delete: bool,
    keys: crate::ui::keys_view::KeysView,
    redeem_code: String,
    site_net: crate::ui::network_view::SiteNetworkForm,
}

/// A note under a part: partial, unsupported or failed.
pub fn part_note<T>(ui: &mut egui::Ui, part: &Part<T>) {
    match &part.availability {
        Availability::Complete => {}
        Availability::Partial(why) => {
            ui.weak(why);
        }
        Availability::Unsupported => {
            ui.weak(tr("detail.part_unsupported"));
        }
        Availability::Failed(e) => {
            ui.colored_label(ui.visuals().warn_fg_color, fill(tr("detail.part_failed"), &[("e", e)]));
        }
    }
}

impl DetailView {
    /// Draws the details of `account`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        account: &Account,
        st: Option<&AccountState>,
        app: &AppState,
        cmds: &mut Vec<Command>,
    ) -> DetailAction {
        if self.form_for != Some(account.id) {
            *self = DetailView {
                form_for: Some(account.id),
                meta: AccountMeta::of(account),
                paid_text: account.paid_per_usd.map(|p| p.to_string()).unwrap_or_default(),
                threshold_text: account.low_balance_threshold.map(|p| p.to_string()).unwrap_or_default(),
                interval_text: account.refresh_interval_mins.map(|p| p.to_string()).unwrap_or_default(),
                ..Default::default()
            };
        }
        let mut action = DetailAction::None;
        ui.horizontal(|ui| {
            ui.heading(&account.site.name);
            if ui.button(tr("common.close")).clicked() {
                action = DetailAction::Close;
            }
            let key = crate::app::exports::KeyRef { account: account.id, key: None };
            crate::ui::use_in::menu_ui(ui, key, crate::ui::use_in::MenuLook::Normal, cmds);
        });
        ui.horizontal(|ui| {
            ui.hyperlink_to(tr("detail.open_site"), &account.site.url);
            ui.hyperlink_to(tr("detail.open_topup"), account.site.kind.topup_url(&account.site.url));
        });
        let snap = st.and_then(|s| s.snapshot.as_ref());
        if let Some(e) = st.and_then(|s| s.last_error.as_ref()) {
            if e.is_sign_in_needed() {
                // Credentials reset after a lost key, or unreadable: say so in the user's
                // language, with the way back (the stored message is in English).
                ui.horizontal(|ui| {
                    ui.label(
                        egui::RichText::new(tr("sites.sign_in_needed")).strong().color(ui.visuals().warn_fg_color),
                    );
                    if ui.button(tr("detail.enter_credentials")).clicked() {
                        action = DetailAction::SignInAgain;
                    }
                });
                ui.label(tr("detail.sign_in_needed")).on_hover_text(&e.message);
            } else {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("{}: {}", tr(&format!("error.{}", e.kind)), e.message),
                );
                if e.kind == "auth" && ui.button(tr("detail.sign_in_again")).clicked() {
                    action = DetailAction::SignInAgain;
                }
            }
            if let Some(snap) = snap {
                let age = widgets::age_text(snap.fetched_at, crate::domain::time::now_unix());
                ui.weak(fill(tr("detail.status_age"), &[("age", &age)]));
            }
        }
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            crate::ui::checkin_view::account_actions_ui(ui, account, st, app, &mut self.redeem_code, cmds);
            if let Some(snap) = snap {
                self.snapshot_ui(ui, account, snap, app, cmds);
            }
            ui.separator();
            if self.settings_ui(ui, account, app, cmds) {
                action = DetailAction::Close;
            }
        });
        action
    }

    fn snapshot_ui(
        &mut self,
        ui: &mut egui::Ui,
        account: &Account,
        snap: &crate::domain::snapshot::Snapshot,
        app: &AppState,
        cmds: &mut Vec<Command>,
    ) {
        let cs = &snap.currency;
        if let Some(u) = &snap.user.value {
            egui::Grid::new("detail_user").num_columns(2).spacing([12.0, 4.0]).show(ui, |ui| {
                ui.label(tr("detail.user"));
                ui.label(format!("{} (#{})", u.username, u.id));
                ui.end_row();
                ui.label(tr("detail.group"));
                ui.label(&u.group);
                ui.end_row();
                ui.label(tr("detail.balance"));
                ui.strong(u.balance.text(cs));
                ui.end_row();
                if let Some(real) =
                    u.balance.usd(cs).and_then(|usd| crate::domain::money::real_cost(usd, account.paid_per_usd))
                {
                    ui.label(tr("detail.real_cost"));
                    ui.label(crate::domain::money::amount_text(real));
                    ui.end_row();
                }
                ui.label(tr("detail.used"));
                ui.label(u.used.text(cs));
                ui.end_row();
                ui.label(tr("detail.requests"));
                ui.label(u.request_count.to_string());
                ui.end_row();
                if let Some(t) = &snap.today.value {
                    ui.label(tr("sites.col.today"));
                    let mut text = t.spend.text(cs);
                    if let Some(n) = t.requests {
                        text.push_str(&format!(" · {}", fill(tr("sites.requests"), &[("n", &n)])));
                    }
                    ui.label(text);
                    ui.end_row();
                }
                if let Some(c) = snap.checkin.value.as_ref().filter(|c| c.supported) {
                    ui.label(tr("detail.checkin"));
                    ui.label(match c.checked_in_today {
                        Some(true) => tr("detail.checked_in"),
                        _ => tr("detail.not_checked_in"),
                    });
                    ui.end_row();
                }
            });
        }
        part_note(ui, &snap.today);
        if let Some(notice) = snap.notice.as_ref().filter(|n| !n.trim().is_empty()) {
            ui.collapsing(tr("detail.notice"), |ui| {
                ui.label(notice);
            });
        }
        self.keys.ui(ui, account, snap, app, cmds);
        self.models_ui(ui, snap);
        ui.collapsing(tr("detail.groups"), |ui| {
            part_note(ui, &snap.groups);
            for g in snap.groups.value.iter().flatten() {
                let ratio = g.ratio.map(|r| format!("× {r}")).unwrap_or_else(|| "-".into());
                ui.label(format!("{}  {ratio}  {}", g.name, g.desc));
            }
        });
    }

    fn models_ui(&mut self, ui: &mut egui::Ui, snap: &crate::domain::snapshot::Snapshot) {
        let models = snap.models.value.as_deref().unwrap_or_default();
        ui.collapsing(format!("{} ({})", tr("detail.models"), models.len()), |ui| {
            part_note(ui, &snap.models);
            ui.horizontal(|ui| {
                let l = ui.label(tr("detail.models_filter"));
                ui.text_edit_singleline(&mut self.models_filter).labelled_by(l.id);
                if ui.small_button(tr("detail.copy_all")).clicked() {
                    ui.ctx().copy_text(models.join("\n"));
                }
            });
            let needle = self.models_filter.to_lowercase();
            for m in models.iter().filter(|m| crate::domain::search::contains_folded(m, &needle)) {
                ui.horizontal(|ui| {
                    ui.monospace(m);
                    if ui.small_button(tr("detail.copy")).on_hover_text(m).clicked() {
                        ui.ctx().copy_text(m.clone());
                    }
                });
            }
        });
    }

    /// The account's own settings. Returns true when the account was deleted.
    fn settings_ui(&mut self, ui: &mut egui::Ui, account: &Account, app: &AppState, cmds: &mut Vec<Command>) -> bool {
        let _ = app;
        let mut deleted = false;
        ui.strong(tr("detail.settings"));
        egui::Grid::new("detail_meta").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            let l = ui.label(tr("detail.meta_group"));
            ui.text_edit_singleline(&mut self.meta.group_name).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(tr("detail.paid"));
            ui.text_edit_singleline(&mut self.paid_text).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(tr("detail.low_balance"));
            ui.add(
                egui::TextEdit::singleline(&mut self.threshold_text)
                    .hint_text(tr("detail.low_balance_hint"))
                    .desired_width(120.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label(tr("detail.refresh_interval"));
            ui.add(
                egui::TextEdit::singleline(&mut self.interval_text)
                    .hint_text(tr("detail.refresh_interval_hint"))
                    .desired_width(120.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label(tr("detail.notes"));
            ui.text_edit_multiline(&mut self.meta.notes).labelled_by(l.id);
            ui.end_row();
        });
        ui.checkbox(&mut self.meta.disabled, tr("detail.disabled"));
        let paid = self.paid_text.trim().replace(',', ".");
        let paid_ok = paid.is_empty() || paid.parse::<f64>().is_ok_and(|p| p.is_finite() && p >= 0.0);
        let threshold = crate::domain::alerts::parse_threshold(&self.threshold_text);
        let threshold_ok = self.threshold_text.trim().is_empty() || threshold.is_some();
        let interval = self.interval_text.trim().parse::<u32>().ok();
        let interval_ok = self.interval_text.trim().is_empty()
            || interval.is_some_and(|m| m >= crate::engine::schedule::MIN_INTERVAL_MINS);
        if !threshold_ok || !interval_ok {
            let key = if threshold_ok { "detail.refresh_interval_bad" } else { "alerts.bad_number" };
            ui.colored_label(ui.visuals().error_fg_color, tr(key));
        }
        ui.horizontal(|ui| {
            if ui.add_enabled(paid_ok && threshold_ok && interval_ok, egui::Button::new(tr("detail.save"))).clicked() {
                let mut meta = self.meta.clone();
                meta.paid_per_usd = paid.parse().ok();
                meta.low_balance_threshold = threshold;
                meta.refresh_interval_mins = interval;
                cmds.push(Command::Sites(SitesCmd::UpdateAccountMeta { id: account.id, meta }));
            }
            if ui.button(tr("detail.move_up")).clicked() {
                cmds.push(Command::Sites(SitesCmd::MoveAccount { id: account.id, delta: -1 }));
            }
            if ui.button(tr("detail.move_down")).clicked() {
                cmds.push(Command::Sites(SitesCmd::MoveAccount { id: account.id, delta: 1 }));
            }
        });
        ui.add_space(8.0);
        self.site_net.ui(ui, account, app, cmds);
        ui.add_space(8.0);
        if self.confirm_delete {
            let who = if account.username.is_empty() { &account.user_id } else { &account.username };
            let name = format!("{} / {who}", account.site.name);
            ui.colored_label(ui.visuals().warn_fg_color, fill(tr("detail.delete_confirm"), &[("name", &name)]));
            ui.horizontal(|ui| {
                if ui.button(tr("detail.delete_yes")).clicked() {
                    cmds.push(Command::Sites(SitesCmd::DeleteAccount(account.id)));
                    self.confirm_delete = false;
                    deleted = true;
                }
                if ui.button(tr("detail.cancel")).clicked() {
                    self.confirm_delete = false;
                }
            });
        } else if ui.button(tr("detail.delete")).clicked() {
            self.confirm_delete = true;
        }
        deleted
    }
}

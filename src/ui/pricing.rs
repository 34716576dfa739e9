//! 价格对比 Pricing comparison: one long table "model · site · group · in · out · cache ·
//! per call · real cost · effective" over [`AppState::pricing`], with filters, units, workload
//! presets, the cheapest row per model highlighted and, for the selected row, the formula
//! and every account offering the model.
//!
//! The comparison rows are computed by the pricing controller off the UI thread
//! ([`crate::app::pricing::Compared`]): the panel asks for its options
//! (`PricingCmd::Compare`) when they differ from what the controller has, and draws the
//! newest comparison that landed (a spinner until the first one); a frame only formats
//! the visible rows of the virtualised table.

#[path = "pricing_detail.rs"]
mod detail;
#[path = "pricing_table.rs"]
mod table;
#[path = "pricing_try.rs"]
pub mod try_ui;

use crate::app::command::{PricingCmd, SitesCmd};
use crate::app::i18n::{fill, tr};
use crate::app::pricing::Compared;
use crate::app::{AppState, Command};
use crate::domain::pricing::compare::indexed_offers;
use crate::domain::pricing::{BillingType, CompareOptions, CompareRow, Preset, PriceUnit, PricingBook, Weights};
use crate::ui::widgets;

pub use table::Selection;

/// View state of the Pricing panel.
#[derive(Default)]
pub struct PricingPanel {
    /// Filter, unit, weights and sort (the weights follow `preset` and `custom`).
    opts: CompareOptions,
    /// Workload preset.
    preset: Preset,
    /// Weights of the custom preset.
    custom: Weights,
    /// The selected row (shows the formula and the model's detail).
    selected: Option<Selection>,
    /// The generation of the comparison drawn last (a new one clears the formatted cells).
    seen: u64,
    /// Every account offering the selected model, derived when the selection or the comparison changes.
    offers: Option<(Selection, u64, Vec<CompareRow>)>,
    /// The open "Try a model" window.
    try_dialog: Option<try_ui::TryDialog>,
    /// Formatted cells of the rows seen since the last comparison landed.
    texts: table::RowTextCache,
}

impl PricingPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.heading(tr("nav.pricing"));
            if state.pricing.book.is_loading() {
                ui.spinner();
                ui.label(tr("pricing.status.loading"));
            }
            if let Some(err) = state.pricing.book.error() {
                ui.colored_label(ui.visuals().error_fg_color, fill(tr("pricing.status.error"), &[("error", &err)]));
            }
        });
        let Some(book) = state.pricing.book.value().filter(|b| b.row_count() > 0) else {
            empty_ui(ui, state, cmds);
            return;
        };
        let compared = state.pricing.comparison.value();
        if let Some(c) = compared {
            self.landed(c);
        }
        // The detail panel first, so the table gets the remaining height.
        if let (Some(sel), Some(c)) = (self.selected.clone(), compared) {
            let fresh = self.offers.as_ref().is_some_and(|(s, g, _)| *s == sel && *g == c.generation);
            if !fresh {
                self.offers =
                    Some((sel.clone(), c.generation, indexed_offers(&c.book, &c.offers, &sel.model, &c.opts)));
            }
            let offers = self.offers.as_ref().map(|o| o.2.as_slice()).unwrap_or_default();
            let out = detail::detail_panel_ui(ui, &c.book, &sel, &c.opts, offers, &state.pricing.tries);
            if out.closed {
                self.selected = None;
            }
            if let Some(a) = out.try_account.and_then(|i| c.book.accounts.get(i)) {
                self.try_dialog = Some(try_ui::TryDialog::new(a.account_id, table::account_text(a), &sel.model));
            }
        }
        if let Some(d) = &mut self.try_dialog
            && !try_ui::try_window_ui(ui.ctx(), d, state, cmds)
        {
            self.try_dialog = None;
        }
        status_ui(ui, book, state, cmds);
        self.toolbar_ui(ui, book, compared.map(|c| &**c));
        self.opts.weights = self.preset.weights(Some(self.custom));
        if state.pricing.wanted() != Some(&self.opts) {
            cmds.push(Command::Pricing(PricingCmd::Compare(self.opts.clone())));
        }
        let computing = state.pricing.comparison.is_loading();
        let Some(c) = compared else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(tr("pricing.status.comparing"));
            });
            return;
        };
        let comparison = &c.comparison;
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new(fill(
                    tr("pricing.count"),
                    &[("rows", &comparison.rows.len()), ("models", &comparison.model_count)],
                ))
                .weak(),
            );
            if computing {
                ui.spinner();
                ui.label(egui::RichText::new(tr("pricing.status.comparing")).weak());
            }
        });
        if comparison.rows.is_empty() {
            widgets::empty_state_ui(ui, tr("pricing.no_match"), tr("pricing.no_match_hint"));
            ui.vertical_centered(|ui| {
                if ui.button(tr("pricing.clear_filter")).clicked() {
                    self.opts.filter = Default::default();
                }
            });
            return;
        }
        let view = table::TableView {
            opts: &c.opts,
            selected: self.selected.as_ref(),
            verified: &state.pricing.tries.verified,
        };
        let out = table::table_ui(ui, &c.book, comparison, &view, &mut self.texts);
        if let Some(sort) = out.sort {
            if self.opts.sort == sort {
                self.opts.descending = !self.opts.descending;
            } else {
                self.opts.sort = sort;
                self.opts.descending = false;
            }
        }
        if let Some(sel) = out.select {
            self.selected = if self.selected.as_ref() == Some(&sel) { None } else { Some(sel) };
        }
    }

    /// The selected row, if any (its formula and model detail are shown).
    pub fn selected(&self) -> Option<&Selection> {
        self.selected.as_ref()
    }

    /// A comparison landed: forget the formatted cells, and keep the selection only if it
    /// still points at the same model in the comparison's book.
    fn landed(&mut self, c: &Compared) {
        if self.seen == c.generation {
            return;
        }
        self.seen = c.generation;
        self.texts.clear();
        if let Some(sel) = &self.selected {
            let still = c
                .book
                .accounts
                .get(sel.account)
                .and_then(|a| a.rows.get(sel.row))
                .is_some_and(|r| r.model == sel.model);
            if !still {
                self.selected = None;
            }
        }
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui, book: &PricingBook, compared: Option<&Compared>) {
        let (vendors, sites): (&[String], &[String]) = match compared {
            Some(c) => (&c.comparison.vendors, &c.comparison.sites),
            None => (&[], &[]),
        };
        let f = &mut self.opts.filter;
        ui.horizontal_wrapped(|ui| {
            let label = ui.label(tr("pricing.filter.model"));
            ui.add(
                egui::TextEdit::singleline(&mut f.model_pattern)
                    .hint_text(tr("pricing.filter.model_hint"))
                    .desired_width(180.0),
            )
            .labelled_by(label.id);
            name_combo_ui(ui, "pricing.filter.vendor", &mut f.vendor, vendors);
            name_combo_ui(ui, "pricing.filter.site", &mut f.site, sites);
            let billing = [
                (None, tr("pricing.filter.any").to_string()),
                (Some(BillingType::PerToken), tr("pricing.billing.per_token").to_string()),
                (Some(BillingType::PerCall), tr("pricing.billing.per_call").to_string()),
            ];
            combo_ui(ui, "pricing.filter.billing", &mut f.billing, &billing);
            ui.checkbox(&mut f.all_groups, tr("pricing.filter.all_groups"))
                .on_hover_text(tr("pricing.filter.all_groups_hint"));
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(tr("pricing.unit.label"));
            let units = [
                (PriceUnit::Usd, "pricing.unit.usd", "pricing.unit.usd_hint"),
                (PriceUnit::SiteCurrency, "pricing.unit.site", "pricing.unit.site_hint"),
                (PriceUnit::RealCost, "pricing.unit.real", "pricing.unit.real_hint"),
            ];
            for (unit, key, hint) in units {
                let hint = fill(tr(hint), &[("currency", &book.paid_currency)]);
                ui.selectable_value(&mut self.opts.unit, unit, tr(key)).on_hover_text(hint);
            }
            ui.separator();
            let presets: Vec<_> = Preset::ALL.iter().map(|p| (*p, tr(preset_key(*p)).to_string())).collect();
            combo_ui(ui, "pricing.preset.label", &mut self.preset, &presets);
            if self.preset == Preset::Custom {
                let w = &mut self.custom;
                for (key, v) in [
                    ("pricing.weight.input", &mut w.input_pct),
                    ("pricing.weight.output", &mut w.output_pct),
                    ("pricing.weight.cache_read", &mut w.cache_read_pct),
                    ("pricing.weight.cache_write", &mut w.cache_write_pct),
                ] {
                    let label = ui.label(tr(key));
                    ui.add(egui::DragValue::new(v).range(0.0..=100.0).speed(0.1).suffix("%")).labelled_by(label.id);
                }
            }
        });
    }
}

/// The translation key of a preset's name.
pub fn preset_key(p: Preset) -> &'static str {
    match p {
        Preset::Chat => "pricing.preset.chat",
        Preset::CodingAgent => "pricing.preset.coding_agent",
        Preset::Custom => "pricing.preset.custom",
    }
}

/// A labelled combo box (label first, tied to the box for screen readers and tests).
fn combo_ui<T: PartialEq + Clone>(ui: &mut egui::Ui, label_key: &'static str, value: &mut T, options: &[(T, String)]) {
    let label = ui.label(tr(label_key));
    let selected = options.iter().find(|(v, _)| v == value).map(|(_, t)| t.as_str()).unwrap_or_default();
    egui::ComboBox::from_id_salt(label_key)
        .selected_text(selected)
        .show_ui(ui, |ui| {
            for (v, text) in options {
                ui.selectable_value(value, v.clone(), text);
            }
        })
        .response
        .labelled_by(label.id);
}

/// A labelled combo box over names plus "any"; the list is only walked while it is open
/// (no per-frame copies of the site and vendor names).
fn name_combo_ui(ui: &mut egui::Ui, label_key: &'static str, value: &mut Option<String>, names: &[String]) {
    let label = ui.label(tr(label_key));
    let any = tr("pricing.filter.any");
    egui::ComboBox::from_id_salt(label_key)
        .selected_text(value.as_deref().unwrap_or(any))
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, any);
            for n in names {
                if ui.selectable_label(value.as_deref() == Some(n.as_str()), n.as_str()).clicked() {
                    *value = Some(n.clone());
                }
            }
        })
        .response
        .labelled_by(label.id);
}

fn status_ui(ui: &mut egui::Ui, book: &PricingBook, state: &AppState, cmds: &mut Vec<Command>) {
    let fetched_at = state.pricing.book.fetched_at();
    let now = crate::domain::time::now_unix();
    let mut text = fill(tr("pricing.status.accounts"), &[("n", &book.accounts.len())]);
    if let Some(at) = fetched_at {
        text.push_str(" · ");
        text.push_str(&fill(tr("pricing.status.updated"), &[("age", &widgets::age_text(at, now))]));
    }
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(text).weak());
        let busy = state.pricing.book.is_loading() || state.sites.accounts.is_loading();
        if ui.add_enabled(!busy, egui::Button::new(tr("pricing.refresh")).small()).clicked() {
            cmds.push(Command::Sites(SitesCmd::RefreshAll));
        }
    });
}

fn empty_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    if state.pricing.book.is_loading() {
        return;
    }
    let has_accounts = state.sites.accounts.value().is_some_and(|a| !a.is_empty());
    if has_accounts {
        widgets::empty_state_ui(ui, tr("pricing.empty.title"), tr("pricing.empty.hint_refresh"));
        ui.vertical_centered(|ui| {
            if ui.button(tr("top.refresh_all")).clicked() {
                cmds.push(Command::Sites(SitesCmd::RefreshAll));
            }
        });
    } else {
        widgets::empty_state_ui(ui, tr("pricing.empty.title"), tr("pricing.empty.hint"));
    }
}

//! The Pricing panel's detail panel (below the table): the formula behind the selected price and every account
//! offering the model, with its balance and last refresh state.

use super::table::{Selection, account_text, cheapest_color, effective_text, price_text};
use super::try_ui::verified_ui;
use crate::app::i18n::{fill, tr};
use crate::app::pricing::TryState;
use crate::domain::pricing::{CompareOptions, CompareRow, PriceUnit, PricingBook, RefreshState, explain};
use crate::ui::widgets;

/// What the user did in the detail panel.
#[derive(Debug, Default)]
pub struct DetailOutput {
    /// The panel was closed.
    pub closed: bool,
    /// "Try" was clicked on this account (index into `book.accounts`).
    pub try_account: Option<usize>,
}

/// Draws the side panel.
pub fn detail_panel_ui(
    ui: &mut egui::Ui,
    book: &PricingBook,
    sel: &Selection,
    opts: &CompareOptions,
    offers: &[CompareRow],
    tries: &TryState,
) -> DetailOutput {
    let mut out = DetailOutput::default();
    let Some(account) = book.accounts.get(sel.account) else {
        out.closed = true;
        return out;
    };
    let Some(row) = account.rows.get(sel.row) else {
        out.closed = true;
        return out;
    };
    egui::Panel::bottom("pricing_detail").resizable(true).default_size(250.0).show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.heading(&row.model);
            ui.label(account_text(account));
            if ui.button(tr("pricing.close")).clicked() {
                out.closed = true;
            }
        });
        egui::ScrollArea::vertical().id_salt("pricing_detail_scroll").show(ui, |ui| {
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.strong(tr("pricing.formula.title"));
                    egui::Grid::new("pricing_formula").num_columns(2).striped(true).show(ui, |ui| {
                        for line in explain(row, account, &opts.weights, &book.paid_currency) {
                            ui.label(tr(line.label_key));
                            match line.expr {
                                Some(e) => ui.monospace(e),
                                None => ui.weak(tr("pricing.unknown")),
                            };
                            ui.end_row();
                        }
                    });
                });
                ui.separator();
                ui.vertical(|ui| {
                    ui.strong(fill(tr("pricing.detail.title"), &[("model", &row.model)]));
                    out.try_account = offers_ui(ui, book, opts, offers, sel, tries);
                });
            });
        });
    });
    out
}

fn offers_ui(
    ui: &mut egui::Ui,
    book: &PricingBook,
    opts: &CompareOptions,
    offers: &[CompareRow],
    sel: &Selection,
    tries: &TryState,
) -> Option<usize> {
    let mut try_account = None;
    let now = crate::domain::time::now_unix();
    egui::Grid::new("pricing_offers").num_columns(7).striped(true).show(ui, |ui| {
        for key in [
            "pricing.detail.account",
            "pricing.col.group",
            "pricing.col.effective",
            "pricing.detail.verified",
            "pricing.detail.balance",
            "pricing.detail.state",
        ] {
            ui.strong(tr(key));
        }
        ui.label("");
        ui.end_row();
        for r in offers {
            let a = &book.accounts[r.account];
            let p = &a.rows[r.row];
            let mut name = egui::RichText::new(account_text(a));
            if r.account == sel.account {
                name = name.strong();
            }
            ui.label(name);
            match &p.group {
                Some(g) => ui.label(g),
                None => ui.weak(tr("pricing.no_group")),
            };
            let mut price = egui::RichText::new(effective_text(r, p, opts, book));
            if r.cheapest {
                price = price.strong().color(cheapest_color(ui));
            }
            ui.label(price);
            verified_ui(ui, tries.verified(a.account_id, &p.model), now);
            // A balance is money on the site: shown in USD or the site's currency, never re-priced.
            let balance_unit = if opts.unit == PriceUnit::RealCost { PriceUnit::SiteCurrency } else { opts.unit };
            ui.label(price_text(a.balance_usd, balance_unit, a, &book.paid_currency));
            let age = a.fetched_at_unix.map(|t| widgets::age_text(t, now)).unwrap_or_default();
            match &a.status {
                RefreshState::Ok => ui.label(fill(tr("pricing.state.ok"), &[("age", &age)])),
                RefreshState::Never => ui.weak(tr("pricing.state.never")),
                RefreshState::Error(e) => ui.colored_label(
                    ui.visuals().error_fg_color,
                    fill(tr("pricing.state.error"), &[("error", e), ("age", &age)]),
                ),
            };
            let running = tries.is_running(a.account_id, &p.model);
            let button = ui.add_enabled(!running, egui::Button::new(tr("pricing.try.button")).small());
            if button.on_hover_text(tr("pricing.try.button_hint")).clicked() {
                try_account = Some(r.account);
            }
            ui.end_row();
        }
    });
    try_account
}

//! The Pricing panel's virtualised table and the cell formatting it shares with the detail view.

use egui_extras::{Column, TableBuilder};

use crate::app::i18n::tr;
use crate::domain::pricing::compare::{format_amount, in_unit};
use crate::domain::pricing::{
    AccountPricing, BillingType, CompareOptions, CompareRow, Comparison, PriceRow, PriceUnit, PricingBook, SortColumn,
    VerifiedMap, currency_symbol,
};
use crate::ui::fit::{self, ColumnFit};
use crate::ui::widgets;

/// The selected row: indices into the book and the model (to notice a changed book).
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Index into `book.accounts`.
    pub account: usize,
    /// Index into that account's rows.
    pub row: usize,
    /// The row's model.
    pub model: String,
}

/// What the user did in the table this frame.
#[derive(Debug, Default)]
pub struct TableOutput {
    /// A header was clicked.
    pub sort: Option<SortColumn>,
    /// A row was clicked.
    pub select: Option<Selection>,
}

const ROW_HEIGHT: f32 = 22.0;

/// The formatted cells of one comparison row: made the first time the row is visible,
/// kept until the comparison is rebuilt (a frame only formats rows it has not seen).
#[derive(Debug, Clone)]
pub struct RowText {
    account: String,
    /// Input, output, cache read, per call.
    prices: [String; 4],
    real: String,
    effective: String,
}

/// Formatted rows by index into the comparison; cleared on every rebuild and language change.
#[derive(Debug, Default)]
pub struct RowTextCache {
    rows: std::collections::HashMap<usize, RowText>,
    lang: Option<crate::app::i18n::Lang>,
}

impl RowTextCache {
    /// Forgets every formatted row (the comparison changed).
    pub fn clear(&mut self) {
        self.rows.clear();
    }

    fn get(&mut self, index: usize, r: &CompareRow, book: &PricingBook, opts: &CompareOptions) -> &RowText {
        let lang = crate::app::i18n::lang();
        // Bounded: a long scroll through 100,000 rows does not keep them all.
        if self.lang != Some(lang) || self.rows.len() > 4_096 {
            self.rows.clear();
            self.lang = Some(lang);
        }
        self.rows.entry(index).or_insert_with(|| {
            let account = &book.accounts[r.account];
            let p = &account.rows[r.row];
            let paid = book.paid_currency.as_str();
            let price = |usd| price_text(usd, opts.unit, account, paid);
            RowText {
                account: account_text(account),
                prices: [
                    price(p.input_usd_per_1m),
                    price(p.output_usd_per_1m),
                    price(p.cache_read_usd_per_1m),
                    price(p.usd_per_call),
                ],
                real: real_text(r, p, book),
                effective: effective_text(r, p, opts, book),
            }
        })
    }
}

/// Columns: (sort column, translation key, hover hint key, minimum width, preferred
/// width, fold rank: 0 always shown, the highest folds first on a narrow window; the
/// model detail beside the table shows every price of the selected row).
const COLUMNS: [(SortColumn, &str, &str, f32, f32, u8); 9] = [
    (SortColumn::Model, "pricing.col.model", "pricing.col.model_hint", 110.0, 200.0, 0),
    (SortColumn::Site, "pricing.col.site", "pricing.col.site_hint", 80.0, 150.0, 0),
    (SortColumn::Group, "pricing.col.group", "pricing.col.group_hint", 50.0, 100.0, 3),
    (SortColumn::Input, "pricing.col.input", "pricing.col.per_1m_hint", 60.0, 88.0, 0),
    (SortColumn::Output, "pricing.col.output", "pricing.col.per_1m_hint", 60.0, 88.0, 1),
    (SortColumn::Cache, "pricing.col.cache", "pricing.col.cache_hint", 60.0, 88.0, 5),
    (SortColumn::PerCall, "pricing.col.per_call", "pricing.col.per_call_hint", 60.0, 88.0, 4),
    (SortColumn::RealCost, "pricing.col.real", "pricing.col.real_hint", 60.0, 88.0, 2),
    // The effective price is the row's action (it opens the formula): always shown.
    (SortColumn::Effective, "pricing.col.effective", "pricing.col.effective_hint", 110.0, 140.0, 0),
];

/// A USD price in the chosen unit, or "unknown".
pub fn price_text(usd: Option<f64>, unit: PriceUnit, account: &AccountPricing, paid_currency: &str) -> String {
    match usd.and_then(|u| in_unit(u, unit, account, paid_currency)) {
        Some((v, sym)) => format!("{sym}{}", format_amount(v)),
        None => tr("pricing.unknown").to_string(),
    }
}

/// The effective price in the unit, with "/call" for per-call rows.
pub fn effective_text(r: &CompareRow, row: &PriceRow, opts: &CompareOptions, book: &PricingBook) -> String {
    let account = &book.accounts[r.account];
    let mut s = price_text(r.effective_usd, opts.unit, account, &book.paid_currency);
    if r.effective_usd.is_some() && row.billing_type() == Some(BillingType::PerCall) {
        s.push_str(tr("pricing.per_call_suffix"));
    }
    s
}

/// The real cost of the effective price in the book's paid currency, or "unknown".
pub fn real_text(r: &CompareRow, row: &PriceRow, book: &PricingBook) -> String {
    match r.effective_real {
        Some(v) => {
            let per_call =
                if row.billing_type() == Some(BillingType::PerCall) { tr("pricing.per_call_suffix") } else { "" };
            format!("{}{}{per_call}", currency_symbol(&book.paid_currency), format_amount(v))
        }
        None => tr("pricing.unknown").to_string(),
    }
}

/// "Site · account".
pub fn account_text(a: &AccountPricing) -> String {
    if a.account_label.is_empty() { a.site_name.clone() } else { format!("{} · {}", a.site_name, a.account_label) }
}

/// The colour of the cheapest price.
pub fn cheapest_color(ui: &egui::Ui) -> egui::Color32 {
    if ui.visuals().dark_mode {
        egui::Color32::from_rgb(0x5c, 0xd6, 0x7d)
    } else {
        egui::Color32::from_rgb(0x1a, 0x7f, 0x37)
    }
}

/// What the table shows besides the rows.
pub struct TableView<'a> {
    /// Filter, unit, weights and sort.
    pub opts: &'a CompareOptions,
    /// The selected row.
    pub selected: Option<&'a Selection>,
    /// Last tries, marked beside the effective price.
    pub verified: &'a VerifiedMap,
}

/// Draws the table over the precomputed comparison (only visible rows are laid out).
pub fn table_ui(
    ui: &mut egui::Ui,
    book: &PricingBook,
    comparison: &Comparison,
    view: &TableView<'_>,
    texts: &mut RowTextCache,
) -> TableOutput {
    let mut out = TableOutput::default();
    table_inner_ui(ui, book, comparison, view, texts, &mut out);
    out
}

fn table_inner_ui(
    ui: &mut egui::Ui,
    book: &PricingBook,
    comparison: &Comparison,
    view: &TableView<'_>,
    texts: &mut RowTextCache,
    out: &mut TableOutput,
) {
    let (opts, selected) = (view.opts, view.selected);
    let now = crate::domain::time::now_unix();
    fit::note_rect(ui, "pricing", ui.available_rect_before_wrap());
    // Columns that do not fit fold away (the sort mark has room in the header).
    let fits: Vec<ColumnFit> = COLUMNS
        .iter()
        .map(|(_, key, _, min, preferred, fold)| {
            let header = fit::header_width(ui, &format!("{} ▼", tr(key))) + ui.spacing().item_spacing.x;
            let c = if *fold == 0 {
                ColumnFit::fixed(*min, *preferred)
            } else {
                ColumnFit::folding(*min, *preferred, *fold)
            };
            c.header(header)
        })
        .collect();
    let widths = fit::fit(fit::table_width(ui), ui.spacing().item_spacing.x, &fits);
    let shown: Vec<SortColumn> = COLUMNS.iter().zip(&widths).filter(|(_, w)| w.is_some()).map(|(c, _)| c.0).collect();
    let mut table = TableBuilder::new(ui)
        .id_salt("pricing_table")
        .striped(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .sense(egui::Sense::click());
    for ((col, ..), w) in COLUMNS.iter().zip(&widths) {
        let Some(w) = *w else { continue };
        // No column clips its cells: each cell keeps to its width itself (see
        // `widgets::clip_to_cell`: a clip rectangle per cell is a draw call per cell).
        table = table.column(match col {
            SortColumn::Effective => Column::remainder().at_least(w),
            _ => Column::exact(w).clip(false),
        });
    }
    table
        .header(ROW_HEIGHT, |mut h| {
            for (col, key, hint, ..) in COLUMNS.iter().filter(|c| shown.contains(&c.0)) {
                let col = *col;
                h.col(|ui| {
                    widgets::clip_to_cell(ui);
                    ui.horizontal(|ui| {
                        let sorted = opts.sort == col;
                        let resp = ui.add(egui::Button::selectable(sorted, egui::RichText::new(tr(key)).strong()));
                        let resp = resp.on_hover_text(tr(hint));
                        if sorted {
                            ui.label(if opts.descending { "▼" } else { "▲" });
                        }
                        if resp.clicked() {
                            out.sort = Some(col);
                        }
                    });
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, comparison.rows.len(), |mut row| {
                let index = row.index();
                let r = &comparison.rows[index];
                let p = &book.accounts[r.account].rows[r.row];
                let text = texts.get(index, r, book, opts);
                let is_selected = selected.is_some_and(|s| s.account == r.account && s.row == r.row);
                row.set_selected(is_selected);
                let mut clicked = false;
                for col in &shown {
                    row.col(|ui| match col {
                        SortColumn::Model => {
                            ui.add(egui::Label::new(p.model.as_str()).truncate());
                        }
                        SortColumn::Site => {
                            ui.add(egui::Label::new(text.account.as_str()).truncate());
                        }
                        SortColumn::Group => {
                            match &p.group {
                                Some(g) => ui.add(egui::Label::new(g).truncate()),
                                None => ui.add(
                                    egui::Label::new(egui::RichText::new(tr("pricing.no_group")).weak()).truncate(),
                                ),
                            };
                        }
                        SortColumn::Input | SortColumn::Output | SortColumn::Cache | SortColumn::PerCall => {
                            let i = match col {
                                SortColumn::Input => 0,
                                SortColumn::Output => 1,
                                SortColumn::Cache => 2,
                                _ => 3,
                            };
                            // Right-aligned, so the digits line up.
                            if let Some(price) = text.prices.get(i) {
                                widgets::number_cell(ui, price);
                            }
                        }
                        SortColumn::RealCost => {
                            widgets::number_cell(ui, &text.real);
                        }
                        SortColumn::Effective => {
                            let mut label = egui::RichText::new(text.effective.as_str());
                            if r.cheapest {
                                label = label.strong().color(cheapest_color(ui));
                            }
                            let verified = view.verified.get(book.accounts[r.account].account_id, &p.model);
                            let mark = verified.map(|v| {
                                if v.ok { ("✓", cheapest_color(ui)) } else { ("×", ui.visuals().error_fg_color) }
                            });
                            // The button is cut with "…" so that it and the mark fit the column.
                            let mark_width = mark.map_or(0.0, |(m, _)| {
                                let galley = egui::WidgetText::from(m).into_galley(
                                    ui,
                                    Some(egui::TextWrapMode::Extend),
                                    f32::INFINITY,
                                    egui::TextStyle::Body,
                                );
                                galley.size().x + ui.spacing().item_spacing.x
                            });
                            let button = egui::Button::selectable(is_selected, label).truncate();
                            let resp = ui
                                .scope(|ui| {
                                    ui.set_max_width((ui.available_width() - mark_width).max(0.0));
                                    ui.add(button)
                                })
                                .inner
                                .on_hover_text(if r.cheapest {
                                    tr("pricing.cheapest_hint")
                                } else {
                                    tr("pricing.show_formula")
                                });
                            clicked |= resp.clicked();
                            if let (Some(v), Some((mark, color))) = (verified, mark) {
                                ui.colored_label(color, mark).on_hover_ui(|ui| {
                                    super::try_ui::verified_ui(ui, Some(v), now);
                                });
                            }
                        }
                    });
                }
                if clicked || row.response().clicked() {
                    out.select = Some(Selection { account: r.account, row: r.row, model: p.model.clone() });
                }
            });
        });
}

//! Tables that fit their window: each column has a minimum width (at least its header),
//! a preferred width and a fold rank; the columns that do not fit fold away, highest
//! rank first, and what is left is shared out up to the preferred widths. Tables record
//! the rectangle they were given (`note_rect`) so tests can check that nothing is cut.

/// What a column needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnFit {
    /// Narrowest width that still shows the header and a typical cell.
    pub min: f32,
    /// Width it gets when there is room.
    pub preferred: f32,
    /// 0: never folds. A larger rank folds before a smaller one; on a tie the right one first.
    pub fold: u8,
    /// The user hid it (column chooser).
    pub hidden: bool,
}

impl ColumnFit {
    /// A column that never folds.
    pub fn fixed(min: f32, preferred: f32) -> ColumnFit {
        ColumnFit { min, preferred: preferred.max(min), fold: 0, hidden: false }
    }

    /// A column that folds with rank `fold` (> 0) when the table is narrow.
    pub fn folding(min: f32, preferred: f32, fold: u8) -> ColumnFit {
        ColumnFit { min, preferred: preferred.max(min), fold, hidden: false }
    }

    /// Its minimum widened to `header` (the header's own width) when that is wider.
    pub fn header(mut self, header: f32) -> ColumnFit {
        self.min = self.min.max(header);
        self.preferred = self.preferred.max(self.min);
        self
    }
}

/// Widths of the columns that fit in `avail` with `gap` between columns (`None`: folded
/// or hidden). Columns that never fold are always kept, even when they alone overflow.
pub fn fit(avail: f32, gap: f32, cols: &[ColumnFit]) -> Vec<Option<f32>> {
    let mut shown: Vec<bool> = cols.iter().map(|c| !c.hidden).collect();
    let need = |shown: &[bool]| {
        let n = shown.iter().filter(|s| **s).count();
        cols.iter().zip(shown).filter(|(_, s)| **s).map(|(c, _)| c.min).sum::<f32>() + gap * n.saturating_sub(1) as f32
    };
    while need(&shown) > avail {
        // The highest rank, rightmost on a tie.
        let next = cols
            .iter()
            .enumerate()
            .filter(|(i, c)| shown[*i] && c.fold > 0)
            .max_by_key(|(i, c)| (c.fold, *i))
            .map(|(i, _)| i);
        match next {
            Some(i) => shown[i] = false,
            None => break,
        }
    }
    let spare = (avail - need(&shown)).max(0.0);
    let growth: f32 = cols.iter().zip(&shown).filter(|(_, s)| **s).map(|(c, _)| c.preferred - c.min).sum();
    let share = if growth > 0.0 { (spare / growth).min(1.0) } else { 0.0 };
    cols.iter().zip(&shown).map(|(c, s)| s.then(|| c.min + (c.preferred - c.min) * share)).collect()
}

/// The width of a header button showing `text` in the strong button font, padding included.
pub fn header_width(ui: &egui::Ui, text: &str) -> f32 {
    let font = egui::TextStyle::Button.resolve(ui.style());
    let galley = ui.painter().layout_no_wrap(text.to_owned(), font, ui.visuals().strong_text_color());
    galley.size().x + 2.0 * ui.spacing().button_padding.x + 2.0
}

/// The width a table in `ui` can use: what is left of the row, less a vertical scroll bar.
pub fn table_width(ui: &egui::Ui) -> f32 {
    let scroll = &ui.spacing().scroll;
    let bar = if scroll.floating { scroll.floating_allocated_width } else { scroll.bar_width };
    (ui.available_width() - bar - scroll.bar_outer_margin - scroll.bar_inner_margin).max(0.0)
}

fn rect_id(table: &str) -> egui::Id {
    egui::Id::unique(("table_rect", table))
}

/// Records the rectangle `table` was given this frame.
pub fn note_rect(ui: &egui::Ui, table: &str, rect: egui::Rect) {
    ui.ctx().data_mut(|d| d.insert_temp(rect_id(table), rect));
}

/// The rectangle `table` was given in the last frame it was drawn.
pub fn table_rect(ctx: &egui::Context, table: &str) -> Option<egui::Rect> {
    ctx.data(|d| d.get_temp(rect_id(table)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<ColumnFit> {
        vec![
            ColumnFit::fixed(100.0, 200.0),
            ColumnFit::folding(50.0, 80.0, 2),
            ColumnFit::folding(50.0, 80.0, 1),
            ColumnFit::folding(50.0, 60.0, 2),
            ColumnFit::fixed(60.0, 60.0),
        ]
    }

    #[test]
    fn wide_tables_get_their_preferred_widths() {
        let w = fit(1000.0, 10.0, &cols());
        assert_eq!(w, vec![Some(200.0), Some(80.0), Some(80.0), Some(60.0), Some(60.0)]);
    }

    #[test]
    fn spare_room_is_shared_up_to_the_preferred_widths() {
        // Minimums 310 + 4 gaps of 10 = 350; 50 to share of a growth of 170.
        let w = fit(400.0, 10.0, &cols());
        let total: f32 = w.iter().flatten().sum::<f32>() + 40.0;
        assert!((total - 400.0).abs() < 0.01, "{w:?}");
        assert!((w[0].unwrap() - (100.0 + 100.0 * 50.0 / 170.0)).abs() < 0.01);
    }

    #[test]
    fn narrow_tables_fold_the_highest_rank_rightmost_first_and_keep_fixed_columns() {
        let shown = |avail: f32| fit(avail, 10.0, &cols()).iter().map(Option::is_some).collect::<Vec<_>>();
        // Without column 3 (rank 2, rightmost): 260 + 3 gaps = 290.
        assert_eq!(shown(300.0), [true, true, true, false, true]);
        let w = fit(300.0, 10.0, &cols());
        assert!((w.iter().flatten().sum::<f32>() + 30.0 - 300.0).abs() < 0.01, "the rest is shared: {w:?}");
        // Then column 1 (rank 2), then column 2 (rank 1).
        assert_eq!(shown(230.0), [true, false, true, false, true]);
        assert_eq!(shown(175.0), [true, false, false, false, true]);
        // Too narrow even for the fixed ones: they stay (the table scrolls), nothing else.
        assert_eq!(fit(50.0, 10.0, &cols()), vec![Some(100.0), None, None, None, Some(60.0)]);
    }

    #[test]
    fn hidden_columns_never_show_and_leave_room_for_others() {
        let mut c = cols();
        c[2].hidden = true;
        let w = fit(300.0, 10.0, &c);
        assert_eq!(w[2], None);
        assert!(w[1].is_some() && w[3].is_some(), "{w:?}");
    }
}

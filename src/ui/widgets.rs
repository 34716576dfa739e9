//! Small shared widgets and formatting helpers.

use crate::app::Severity;
use crate::app::i18n::{fill, tr};

/// Coloured text for a severity.
pub fn severity_text(text: &str, severity: Severity, ui: &egui::Ui) -> egui::RichText {
    let visuals = ui.visuals();
    let color = match severity {
        Severity::Info => visuals.text_color(),
        Severity::Warning => visuals.warn_fg_color,
        Severity::Error => visuals.error_fg_color,
    };
    egui::RichText::new(text).color(color)
}

/// "just now", "3 min ago", "2 h ago", "5 d ago" in the current language.
pub fn age_text(then_unix: i64, now_unix: i64) -> String {
    use crate::domain::time::{Age, age};
    match age(then_unix, now_unix) {
        Age::JustNow => tr("age.just_now").to_string(),
        Age::Minutes(n) => fill(tr("age.minutes"), &[("n", &n)]),
        Age::Hours(n) => fill(tr("age.hours"), &[("n", &n)]),
        Age::Days(n) => fill(tr("age.days"), &[("n", &n)]),
    }
}

/// Clips what `ui` draws to its cell, for a table cell whose content can be wider than
/// its column (a button, a row of badges).
///
/// Only such cells clip: the tables' columns do not (`Column::clip(false)`), and their
/// text cells truncate instead. Shapes with different clip rectangles cannot share a mesh,
/// so a clipped cell is a draw call of its own, and the row stripe painted between two
/// clipped cells another: with every column clipped, the Sites table was ~16 draw calls a
/// row, 495 for the screen. Under a software renderer (llvmpipe) each draw call also keeps
/// a copy of the pipeline state in the frame's scene until the next frame: 11.7 MB of RSS
/// with 1,000 accounts (benches/footprint.sh).
pub fn clip_to_cell(ui: &mut egui::Ui) {
    let cell = ui.max_rect().intersect(ui.clip_rect());
    ui.set_clip_rect(cell);
}

/// A button repeated on every row of a list (a Sites row's Refresh, a key's Copy, Edit…):
/// small, in the link colour, with no frame until hovered. A frame per row was ~2,500 of
/// the Sites screen's 9,600 triangles a frame (benches/frames); under a software renderer
/// the frame's triangles stay in its scene until the next frame.
pub fn row_action(ui: &egui::Ui, text: &str) -> egui::Button<'static> {
    let text = egui::RichText::new(text).color(ui.visuals().hyperlink_color);
    egui::Button::new(text).small().frame_when_inactive(false)
}

/// A cell whose text is a number: right-aligned, one line, described to screen readers
/// as a label. Painted into the cell directly: a right-to-left child `Ui` per number cell
/// (six per row) was 8.5% of the Sites panel's instructions (callgrind, benches/frames).
pub fn number_cell(ui: &mut egui::Ui, text: &str) -> egui::Response {
    let cell = ui.available_rect_before_wrap();
    let layout = |mode, width| egui::WidgetText::from(text).into_galley(ui, Some(mode), width, egui::TextStyle::Body);
    let galley = layout(egui::TextWrapMode::Extend, f32::INFINITY);
    // Wider than the column (a narrow window, a long balance): cut at the end with "…"
    // from the left edge, never its leading digits cut off on the left.
    let fits = galley.size().x <= cell.width();
    let galley = if fits { galley } else { layout(egui::TextWrapMode::Truncate, cell.width().max(0.0)) };
    let x = if fits { cell.right() - galley.size().x } else { cell.left() };
    let pos = egui::pos2(x, cell.center().y - galley.size().y / 2.0);
    let mut response = ui.allocate_rect(egui::Rect::from_min_size(pos, galley.size()), egui::Sense::hover());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, ui.is_enabled(), text));
    if ui.is_rect_visible(response.rect) {
        ui.painter().galley(pos, galley, ui.visuals().text_color());
    }
    if !fits {
        response = response.on_hover_text(text);
    }
    response
}

/// A centred empty-state message with a title and a hint.
pub fn empty_state_ui(ui: &mut egui::Ui, title: &str, hint: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.25);
        ui.heading(title);
        ui.add_space(8.0);
        ui.label(egui::RichText::new(hint).weak());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::i18n::{Lang, set_lang};

    #[test]
    fn ages_read_naturally() {
        set_lang(Lang::En);
        assert_eq!(age_text(100, 110), "just now");
        assert_eq!(age_text(0, 180), "3 min ago");
        assert_eq!(age_text(0, 7200), "2 h ago");
        assert_eq!(age_text(0, 86400 * 5), "5 d ago");
        assert_eq!(age_text(10, 0), "just now", "clock skew is not negative");
    }

    /// Draws `number_cell(text)` in a cell `width` points wide; the cell and the drawn rect.
    fn cell(width: f32, text: &str) -> (egui::Rect, egui::Rect) {
        let ctx = egui::Context::default();
        let mut out = None;
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 26.0), egui::Sense::hover());
            let mut child = ui.new_child(egui::UiBuilder::new().max_rect(rect));
            out = Some((rect, number_cell(&mut child, text).rect));
        });
        output.textures_delta.clear();
        out.unwrap()
    }

    #[test]
    fn a_number_wider_than_its_column_is_cut_at_the_end_never_at_its_leading_digits() {
        // Fits: right-aligned in the cell.
        let (c, r) = cell(200.0, "$1.00");
        assert!((r.right() - c.right()).abs() < 0.5 && r.left() > c.left(), "{c:?} {r:?}");
        // Too wide: starts at the cell's left edge and stays inside it (elided), instead
        // of running out on the left where a clipped column cuts "¥1,205.12 (≈40.31)" to "5.12 (≈40.31)".
        let (c, r) = cell(60.0, "¥1,205.12 (≈40.31)");
        assert!((r.left() - c.left()).abs() < 0.5, "{c:?} {r:?}");
        assert!(r.right() <= c.right() + 0.5, "{c:?} {r:?}");
    }
}

/// A count in a short form for narrow columns: `950`, `12.3k`, `4.56M`, `1.2B`.
pub fn compact_count(n: i64) -> String {
    let a = n.unsigned_abs() as f64;
    let sign = if n < 0 { "-" } else { "" };
    match a {
        a if a < 1_000.0 => n.to_string(),
        a if a < 1_000_000.0 => format!("{sign}{:.1}k", a / 1e3),
        a if a < 1_000_000_000.0 => format!("{sign}{:.2}M", a / 1e6),
        a => format!("{sign}{:.2}B", a / 1e9),
    }
}

#[cfg(test)]
mod compact_tests {
    use super::compact_count;

    #[test]
    fn counts_are_short() {
        assert_eq!(compact_count(0), "0");
        assert_eq!(compact_count(950), "950");
        assert_eq!(compact_count(12_345), "12.3k");
        assert_eq!(compact_count(4_560_000), "4.56M");
        assert_eq!(compact_count(1_200_000_000), "1.20B");
        assert_eq!(compact_count(-2_500), "-2.5k");
    }
}

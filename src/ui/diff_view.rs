//! The side-by-side diff of a file a "Use in…" write would change: the file now on the
//! left, after on the right, line numbers, removed lines red, added lines green, equal
//! lines plain. Rows come from `exports::safe_write::Preview::side_by_side` (secrets
//! already masked); only the rows on screen are laid out.

use crate::exports::safe_write::{DiffRow, NumberedLine};

/// Draws `rows` in a scroll area `max_height` tall. `id` keeps each file's scroll apart.
pub fn side_by_side_ui(ui: &mut egui::Ui, id: &str, rows: &[DiffRow], max_height: f32) {
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 2.0;
    let visuals = ui.visuals().clone();
    let (removed, added) = if visuals.dark_mode {
        (egui::Color32::from_rgb(90, 30, 30), egui::Color32::from_rgb(25, 75, 35))
    } else {
        (egui::Color32::from_rgb(255, 220, 220), egui::Color32::from_rgb(215, 245, 215))
    };
    egui::ScrollArea::both().id_salt(id).max_height(max_height).auto_shrink([false, true]).show_rows(
        ui,
        row_height,
        rows.len(),
        |ui, range| {
            let half = ((ui.available_width() - ui.spacing().item_spacing.x) / 2.0).max(200.0);
            for row in &rows[range] {
                let equal = row.is_equal();
                ui.horizontal(|ui| {
                    cell_ui(ui, half, row_height, row.old.as_ref(), (!equal).then_some(removed));
                    cell_ui(ui, half, row_height, row.new.as_ref(), (!equal).then_some(added));
                });
            }
        },
    );
}

fn cell_ui(ui: &mut egui::Ui, width: f32, height: f32, line: Option<&NumberedLine>, fill: Option<egui::Color32>) {
    let fill = if line.is_some() { fill.unwrap_or(egui::Color32::TRANSPARENT) } else { egui::Color32::TRANSPARENT };
    egui::Frame::new().fill(fill).show(ui, |ui| {
        ui.set_width(width);
        ui.set_height(height);
        if let Some((n, text)) = line {
            ui.horizontal(|ui| {
                ui.add(egui::Label::new(egui::RichText::new(format!("{n:>4}")).monospace().weak()).selectable(false));
                ui.add(egui::Label::new(egui::RichText::new(text).monospace()).extend());
            });
        }
    });
}

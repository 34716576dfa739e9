//! A bare eframe window the size of API Hub Desk's, with one label: what eframe itself
//! costs in binary size and memory.

fn main() -> eframe::Result {
    let viewport = eframe::egui::ViewportBuilder::default().with_title("floor").with_inner_size([1200.0, 760.0]);
    let options = eframe::NativeOptions { viewport, ..Default::default() };
    eframe::run_native("floor", options, Box::new(|_cc| Ok(Box::new(Floor))))
}

struct Floor;

impl eframe::App for Floor {
    /// `FLOOR_ATLAS_SIDE=4096` caps the glyph atlas's width as API Hub Desk does
    /// (`fonts::cap_atlas_side`): benches/footprint.sh measures the floor both ways.
    fn raw_input_hook(&mut self, _ctx: &eframe::egui::Context, raw: &mut eframe::egui::RawInput) {
        let cap = std::env::var("FLOOR_ATLAS_SIDE").ok().and_then(|v| v.parse::<usize>().ok());
        if let (Some(cap), Some(side)) = (cap, raw.max_texture_side.as_mut()) {
            *side = (*side).min(cap);
        }
    }

    fn ui(&mut self, ui: &mut eframe::egui::Ui, _frame: &mut eframe::Frame) {
        eframe::egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("Hello");
            ui.label("The floor: eframe with the same features and release profile.");
        });
    }
}

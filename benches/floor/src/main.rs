//! A bare eframe window the size of API Hub Desk's, with one label: what eframe itself
//! costs in binary size and memory.

fn main() -> eframe::Result {
    let viewport = eframe::egui::ViewportBuilder::default().with_title("floor").with_inner_size([1200.0, 760.0]);
    let options = eframe::NativeOptions { viewport, ..Default::default() };
    eframe::run_native("floor", options, Box::new(|_cc| Ok(Box::new(Floor))))
}

struct Floor;

impl eframe::App for Floor {
    fn ui(&mut self, ui: &mut eframe::egui::Ui, _frame: &mut eframe::Frame) {
        eframe::egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("Hello");
            ui.label("The floor: eframe with the same features and release profile.");
        });
    }
}

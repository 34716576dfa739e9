//! Frame timing shared by the UI benches: a frame is `run_ui` + tessellation in a bare
//! `egui::Context` at 1280×800, timed on the CPU.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How many meshes (draw calls) the last timed frame was tessellated into.
static LAST_MESHES: AtomicUsize = AtomicUsize::new(0);

/// How many triangles the last timed frame's meshes hold.
static LAST_TRIANGLES: AtomicUsize = AtomicUsize::new(0);

/// How many meshes (draw calls) the last timed frame was tessellated into.
pub fn last_meshes() -> usize {
    LAST_MESHES.load(Ordering::Relaxed)
}

/// How many triangles the last timed frame's meshes hold: what a software GL driver
/// (llvmpipe) bins, and keeps, for the frame on screen.
pub fn last_triangles() -> usize {
    LAST_TRIANGLES.load(Ordering::Relaxed)
}

fn input(frame: usize, events: Vec<egui::Event>) -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0))),
        time: Some(frame as f64 / 60.0),
        events,
        ..Default::default()
    }
}

/// Runs and times one frame that draws `draw` in a central panel.
pub fn timed(ctx: &egui::Context, n: usize, events: Vec<egui::Event>, draw: impl FnMut(&mut egui::Ui)) -> Duration {
    let mut draw = draw;
    let t = Instant::now();
    let mut out = ctx.run_ui(input(n, events), |ui| {
        egui::CentralPanel::default().show(ui, |ui| draw(ui));
    });
    // What a real frame also does on the CPU before the GPU upload.
    let primitives = ctx.tessellate(std::mem::take(&mut out.shapes), out.pixels_per_point);
    let elapsed = t.elapsed();
    LAST_MESHES.store(primitives.len(), Ordering::Relaxed);
    let triangles = primitives
        .iter()
        .map(|p| match &p.primitive {
            egui::epaint::Primitive::Mesh(m) => m.indices.len() / 3,
            egui::epaint::Primitive::Callback(_) => 0,
        })
        .sum();
    LAST_TRIANGLES.store(triangles, Ordering::Relaxed);
    std::hint::black_box(primitives);
    out.textures_delta.clear();
    elapsed
}

/// The events of one mouse-wheel step of `dy` points over `over`.
pub fn wheel(over: egui::Pos2, dy: f32) -> Vec<egui::Event> {
    vec![
        egui::Event::PointerMoved(over),
        egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, dy),
            phase: egui::TouchPhase::Move,
            modifiers: egui::Modifiers::NONE,
            source: egui::MouseWheelSource::Unknown,
        },
    ]
}

/// Prints mean / min / p95 / max of frame times.
pub fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
    let max = times[times.len() - 1];
    // The minimum is the figure least disturbed by other work on a busy machine.
    println!(
        "{name:<34} mean {mean:6.3} ms   min {:6.3} ms   p95 {:6.3} ms   max {:6.3} ms   ({} frames)",
        ms(times[0]),
        ms(p95),
        ms(max),
        times.len()
    );
}

//! Chinese fonts. egui's default fonts have no CJK glyphs, and eframe's automatic
//! fallback takes the *Japanese* face of Noto Sans CJK. We locate a Simplified
//! Chinese face explicitly with `fontdb`, memory-map its file (the Noto file is
//! ~20 MB) and add it as a fallback after the default fonts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Preferred Simplified Chinese families, best first.
pub const PREFERRED_FAMILIES: &[&str] = &[
    "Microsoft YaHei",
    "Microsoft YaHei UI",
    "PingFang SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
];

/// Files checked before a full system scan (fast path at start-up).
const KNOWN_FILES: &[&str] = &[
    "C:\\Windows\\Fonts\\msyh.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
];

/// A located Chinese face.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CjkFace {
    /// Font file.
    pub path: PathBuf,
    /// Face index inside a collection (`.ttc`).
    pub index: u32,
    /// Family name.
    pub family: String,
}

/// What happened to the Chinese font; shown in Settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontStatus {
    /// Still looking (background thread).
    Loading,
    /// Installed.
    Loaded(CjkFace),
    /// No system font: only the embedded UI subset is installed, so the UI's own
    /// Chinese strings render but Chinese text from sites may show as boxes.
    EmbeddedOnly,
}

fn rank(family: &str) -> Option<usize> {
    PREFERRED_FAMILIES.iter().position(|f| f.eq_ignore_ascii_case(family))
}

fn best_in(db: &fontdb::Database) -> Option<CjkFace> {
    let mut best: Option<(usize, CjkFace)> = None;
    for face in db.faces() {
        let fontdb::Source::File(path) = &face.source else { continue };
        if face.weight != fontdb::Weight::NORMAL || face.style != fontdb::Style::Normal {
            continue;
        }
        for (family, _) in &face.families {
            if let Some(r) = rank(family)
                && best.as_ref().is_none_or(|(br, _)| r < *br)
            {
                best = Some((r, CjkFace { path: path.clone(), index: face.index, family: family.clone() }));
            }
        }
    }
    best.map(|(_, f)| f)
}

/// Finds the best Simplified Chinese face: `APIHUB_CJK_FONT`, then known files,
/// then a scan of the system fonts.
pub fn locate_cjk_face() -> Option<CjkFace> {
    let mut db = fontdb::Database::new();
    if let Some(p) = std::env::var_os("APIHUB_CJK_FONT") {
        db.load_font_file(PathBuf::from(p)).ok();
        if let Some(face) = best_in(&db).or_else(|| first_face(&db)) {
            return Some(face);
        }
    }
    for file in KNOWN_FILES {
        let path = Path::new(file);
        if path.is_file() {
            db.load_font_file(path).ok();
        }
    }
    if let Some(face) = best_in(&db) {
        return Some(face);
    }
    let mut db = fontdb::Database::new();
    db.load_system_fonts();
    best_in(&db)
}

fn first_face(db: &fontdb::Database) -> Option<CjkFace> {
    db.faces().find_map(|f| match &f.source {
        fontdb::Source::File(p) => Some(CjkFace {
            path: p.clone(),
            index: f.index,
            family: f.families.first().map(|(n, _)| n.clone()).unwrap_or_default(),
        }),
        _ => None,
    })
}

/// Memory-maps the face's file and builds egui font data for it.
pub fn load_face(face: &CjkFace) -> std::io::Result<egui::FontData> {
    let file = std::fs::File::open(&face.path)?;
    // SAFETY: the font file is opened read-only; a font file changing under a
    // running app is outside what any text renderer guards against.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(egui::FontData::from_blob(Arc::new(map), face.index))
}

/// The Simplified Chinese face of Noto Sans CJK (OFL) cut down to the UI strings;
/// see `assets/fonts/make_ui_subset.py`.
pub const UI_SUBSET: &[u8] = include_bytes!("../../assets/fonts/ui-sc-subset.otf");

/// egui's default fonts, then the system Chinese face (if any), then the embedded
/// UI subset, as fallbacks of both families. Latin text keeps egui's fonts.
pub fn definitions(system: Option<(&CjkFace, egui::FontData)>) -> egui::FontDefinitions {
    let mut defs = egui::FontDefinitions::default();
    let mut names = Vec::new();
    if let Some((face, data)) = system {
        let name = format!("cjk:{}", face.family);
        defs.font_data.insert(name.clone(), Arc::new(data));
        names.push(name);
    }
    defs.font_data.insert("cjk:ui-subset".into(), Arc::new(egui::FontData::from_static(UI_SUBSET)));
    names.push("cjk:ui-subset".into());
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        defs.families.entry(family).or_default().extend(names.iter().cloned());
    }
    defs
}

/// Locates, maps and installs the Chinese font now (UI tests call this through
/// `with_context_setup`; the app does the lookup in the background instead).
pub fn install_blocking(ctx: &egui::Context) -> FontStatus {
    match locate_and_map() {
        Some((face, data)) => {
            ctx.set_fonts(definitions(Some((&face, data))));
            FontStatus::Loaded(face)
        }
        None => {
            ctx.set_fonts(definitions(None));
            FontStatus::EmbeddedOnly
        }
    }
}

/// Looks up and maps the font (the slow part) off the UI thread.
pub fn locate_and_map() -> Option<(CjkFace, egui::FontData)> {
    let face = locate_cjk_face()?;
    match load_face(&face) {
        Ok(data) => Some((face, data)),
        Err(e) => {
            log::warn!("cannot map font {}: {e}", face.path.display());
            None
        }
    }
}

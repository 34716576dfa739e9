//! Chinese fonts. egui's default fonts have no CJK glyphs, and eframe's automatic
//! fallback takes the *Japanese* face of Noto Sans CJK. We locate a Simplified
//! Chinese face explicitly with `fontdb`, memory-map its file (the Noto file is
//! ~20 MB) and add it as a fallback after the default fonts.
//!
//! Without a system face (a fresh Linux desktop, a container, portable use) the built-in
//! subset serves: all of GB 2312 and level 1 of the 通用规范汉字表, zlib-compressed in the
//! binary (~1.3 MB) and inflated (~1.5 MB) only then, on the blocking pool, by
//! [`locate_and_map`]. The tiny UI subset is installed before the first frame either way.

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

/// `APIHUB_CJK_FONT` naming the built-in subset instead of a file (skips the system).
pub const BUILTIN_ENV_VALUE: &str = "builtin";

/// Finds the best Simplified Chinese face: `APIHUB_CJK_FONT`, then known files,
/// then a scan of the system fonts.
pub fn locate_cjk_face() -> Option<CjkFace> {
    let mut db = fontdb::Database::new();
    if let Some(p) = std::env::var_os("APIHUB_CJK_FONT").filter(|p| p != BUILTIN_ENV_VALUE) {
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

/// The same face cut down to GB 2312 + level 1 of the 通用规范汉字表 + the UI strings,
/// zlib-compressed; see `assets/fonts/make_cjk_subset.py`.
pub const COMMON_SUBSET_ZLIB: &[u8] = include_bytes!("../../assets/fonts/cjk-sc-common.otf.z");

/// Inflated size limit of the built-in subset (it is ~1.5 MB).
const COMMON_SUBSET_MAX_BYTES: usize = 8 << 20;

impl CjkFace {
    /// Whether this is the built-in subset rather than a system face.
    pub fn is_builtin(&self) -> bool {
        self.family == builtin_family()
    }
}

fn builtin_family() -> String {
    crate::app::i18n::tr("settings.font.builtin").to_string()
}

/// Inflates the built-in common-characters subset (the slow part, ~10 ms: call it off
/// the UI thread). `None` only if the embedded data is damaged.
///
/// The inflated face (2.6 MB) is kept in a file in the user's cache directory and mapped
/// from there, so that only the pages of the glyphs drawn are resident; on the heap it
/// was all resident for as long as the window is open. Without a usable cache directory
/// (read-only, full) it is held on the heap as before.
pub fn builtin_face() -> Option<(CjkFace, egui::FontData)> {
    let cache = directories::ProjectDirs::from("", "", "API Hub Desk").map(|d| d.cache_dir().to_path_buf());
    builtin_face_in(cache.as_deref())
}

/// [`builtin_face`] with the inflated face kept in `cache` (none: on the heap).
pub fn builtin_face_in(cache: Option<&std::path::Path>) -> Option<(CjkFace, egui::FontData)> {
    // Settings shows "{family} ({path})": the path line carries the hint on installing a
    // system face for full coverage.
    let hint = crate::app::i18n::tr("settings.font.builtin_hint");
    let face = CjkFace { path: PathBuf::from(hint), index: 0, family: builtin_family() };
    if let Some(dir) = cache {
        match mapped_builtin(dir) {
            Ok(map) => return Some((face, egui::FontData::from_blob(Arc::new(map), 0))),
            Err(e) => log::info!("built-in Chinese font kept in memory: {} ({e})", dir.display()),
        }
    }
    match inflate_builtin() {
        Ok(bytes) => Some((face, egui::FontData::from_owned(bytes))),
        Err(e) => {
            log::error!("built-in Chinese font unreadable: {e}");
            None
        }
    }
}

fn inflate_builtin() -> std::io::Result<Vec<u8>> {
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(COMMON_SUBSET_ZLIB, COMMON_SUBSET_MAX_BYTES)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{e:?}")))
}

/// The Adler-32 of the inflated face: the last four bytes of its zlib stream.
fn builtin_adler32() -> u32 {
    let n = COMMON_SUBSET_ZLIB.len();
    COMMON_SUBSET_ZLIB.get(n.saturating_sub(4)..).and_then(|b| b.try_into().ok()).map_or(0, u32::from_be_bytes)
}

/// Maps the inflated built-in face from `dir`, writing it there first when no intact copy
/// is there. A copy is intact when its Adler-32 is the one the embedded stream ends with
/// (read through a small buffer, so checking does not make the face resident).
fn mapped_builtin(dir: &std::path::Path) -> std::io::Result<memmap2::Mmap> {
    use std::io::{Read, Write};
    let sum = builtin_adler32();
    let path = dir.join(format!("cjk-sc-common-{sum:08x}.otf"));
    let intact = |path: &std::path::Path| -> std::io::Result<bool> {
        let mut file = std::fs::File::open(path)?;
        let mut adler = adler2::Adler32::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(adler.checksum() == sum);
            }
            adler.write_slice(&buf[..n]);
        }
    };
    if !intact(&path).unwrap_or(false) {
        let bytes = inflate_builtin()?;
        std::fs::create_dir_all(dir)?;
        // Written aside and renamed: another process never maps half a file.
        let tmp = path.with_extension(format!("{}.part", std::process::id()));
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        if !intact(&path)? {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "written copy does not check"));
        }
    }
    let file = std::fs::File::open(&path)?;
    // SAFETY: mapped read-only. The file is ours and only ever replaced by a rename, which
    // leaves this mapping on the old contents.
    unsafe { memmap2::Mmap::map(&file) }
}

/// The widest glyph atlas the window lets egui make. egui makes it as wide as the
/// largest texture the GPU takes (16,384 px under Mesa's llvmpipe, 8,192–16,384 on most
/// GPUs) and 32 px high, doubling the height as glyphs fill it: 16,384 × 32 px is 2 MiB of
/// RGBA, held twice (egui's image and the driver's texture), while the glyphs of a screen
/// of 1,000 accounts, or of the Chinese Settings panel, fill a quarter of that one row
/// (the atlas size is logged with `-v` at each idle trim). 4,096 px wide holds them in a
/// quarter of the memory, and at 4,096 × 4,096 still some 50,000 Chinese glyphs at 14 px.
/// The window shows no image textures, so this bounds only the atlas.
pub const MAX_ATLAS_SIDE: usize = 4096;

/// Caps the texture side the window reports to egui at [`MAX_ATLAS_SIDE`] (the window's
/// `raw_input_hook`, every frame, so the atlas is made at that width from the first).
pub fn cap_atlas_side(raw: &mut egui::RawInput) {
    if let Some(side) = raw.max_texture_side.as_mut() {
        *side = (*side).min(MAX_ATLAS_SIDE);
    }
}

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

/// Looks up and maps the font (the slow part) off the UI thread: the system face, or
/// the built-in subset when there is none (or `APIHUB_CJK_FONT=builtin`).
pub fn locate_and_map() -> Option<(CjkFace, egui::FontData)> {
    let forced_builtin = std::env::var_os("APIHUB_CJK_FONT").is_some_and(|v| v == BUILTIN_ENV_VALUE);
    let system = if forced_builtin { None } else { locate_cjk_face() };
    let Some(face) = system else {
        log::info!("no Simplified Chinese system font; using the built-in common-characters subset");
        return builtin_face();
    };
    match load_face(&face) {
        Ok(data) => Some((face, data)),
        Err(e) => {
            log::warn!("cannot map font {}: {e}; using the built-in subset", face.path.display());
            builtin_face()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_glyph_atlas_is_made_at_most_max_atlas_side_wide() {
        // What llvmpipe reports, capped; a smaller side is kept; none stays none.
        let mut raw = egui::RawInput { max_texture_side: Some(16_384), ..Default::default() };
        cap_atlas_side(&mut raw);
        assert_eq!(raw.max_texture_side, Some(MAX_ATLAS_SIDE));
        let mut small = egui::RawInput { max_texture_side: Some(2048), ..Default::default() };
        cap_atlas_side(&mut small);
        assert_eq!(small.max_texture_side, Some(2048));
        let mut unknown = egui::RawInput::default();
        cap_atlas_side(&mut unknown);
        assert_eq!(unknown.max_texture_side, None);
        // egui makes its atlas as wide as the side it is given (what the cap relies on).
        let ctx = egui::Context::default();
        let mut out = ctx.run_ui(raw, |ui| {
            ui.label("Hello, 1,000 accounts");
        });
        out.textures_delta.clear();
        assert_eq!(ctx.fonts(|f| f.font_image_size())[0], MAX_ATLAS_SIDE);
    }

    /// Non-ASCII characters of string literals in the views and controllers (not in
    /// comments or assertions): symbols drawn next to translated text.
    fn literal_chars(src: &str) -> String {
        let mut out = String::new();
        for line in src.lines().map(str::trim).filter(|l| !l.starts_with("//") && !l.contains("assert")) {
            let mut inside = false;
            let mut escaped = false;
            for c in line.chars() {
                match (inside, escaped, c) {
                    (true, false, '\\') => escaped = true,
                    (_, false, '"') => inside = !inside,
                    (true, _, c) => {
                        escaped = false;
                        if !c.is_ascii() {
                            out.push(c);
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    #[test]
    fn every_character_the_ui_draws_has_a_glyph_without_a_system_face() {
        let ctx = egui::Context::default();
        ctx.set_fonts(definitions(None));
        ctx.run_ui(egui::RawInput::default(), |_| {}).textures_delta.clear();
        let mut text = String::new();
        for table in [include_str!("../../assets/i18n/en.json"), include_str!("../../assets/i18n/zh-CN.json")] {
            let table: std::collections::BTreeMap<String, String> = serde_json::from_str(table).unwrap();
            text.extend(table.into_values());
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for dir in ["ui", "app"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "rs") {
                    text.push_str(&literal_chars(&std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        let font = egui::FontId::proportional(14.0);
        let mut missing: Vec<char> = text
            .chars()
            .filter(|c| !c.is_ascii() && !c.is_whitespace() && !ctx.fonts_mut(|f| f.has_glyph(&font, *c)))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        assert!(missing.is_empty(), "drawn as boxes with egui's fonts and the UI subset: {missing:?}");
    }

    #[test]
    fn the_builtin_face_is_mapped_from_the_cache_and_a_damaged_copy_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let (_, first) = builtin_face_in(Some(&cache)).expect("a face");
        let files: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let inflated = inflate_builtin().unwrap();
        assert!((*first.font).as_ref() == inflated.as_slice(), "the mapped face is the embedded one");
        assert_eq!(std::fs::read(&files[0]).unwrap(), inflated);
        #[cfg(target_os = "linux")]
        {
            // Mapped from that file, not a copy on the heap.
            let at = (*first.font).as_ref().as_ptr() as usize;
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
            let file = files[0].file_name().unwrap().to_str().unwrap();
            let mapped = maps.lines().any(|l| {
                let range = l.split(' ').next().unwrap_or("");
                let (lo, hi) = range.split_once('-').unwrap_or(("0", "0"));
                let (lo, hi) = (usize::from_str_radix(lo, 16).unwrap(), usize::from_str_radix(hi, 16).unwrap());
                (lo..hi).contains(&at) && l.ends_with(file)
            });
            assert!(mapped, "the face at {at:#x} is not a mapping of {file}");
        }
        // A damaged copy (a crash mid-write before this code, a disk error) is not used.
        std::fs::write(&files[0], b"not a font").unwrap();
        let (_, again) = builtin_face_in(Some(&cache)).expect("a face");
        assert!((*again.font).as_ref() == inflated.as_slice());
        assert_eq!(std::fs::read(&files[0]).unwrap(), inflated, "written again");
        // A cache that cannot be written: the face is held in memory instead.
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, b"").unwrap();
        let (_, held) = builtin_face_in(Some(&blocked.join("sub"))).expect("a face");
        assert!((*held.font).as_ref() == inflated.as_slice());
    }

    #[test]
    fn the_builtin_subset_covers_gb2312_and_level_one_and_inflates_lazily() {
        let (face, data) = builtin_face_in(None).expect("embedded subset inflates");
        assert!(face.is_builtin());
        assert!(COMMON_SUBSET_ZLIB.len() < 1_600_000, "compressed size {}", COMMON_SUBSET_ZLIB.len());
        let font = ttf_parser::Face::parse((*data.font).as_ref(), 0).expect("a font");
        // Samples across GB 2312 levels, the two level-1 characters outside GB 2312,
        // site-name text seen as boxes before, and the UI's symbols.
        for c in "公益站啰瞭矗罐鑫旮亍龠齄￥。，…≈中转云雾星河".chars() {
            assert!(font.glyph_index(c).is_some(), "{c} missing");
        }
        assert!(font.number_of_glyphs() > 7_000);
    }
}

//! Where the data lives: `--data-dir`, portable mode, or the platform data dir.

use std::path::{Path, PathBuf};

/// Why a data dir was chosen; shown in Settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirSource {
    /// `--data-dir DIR` on the command line.
    CommandLine,
    /// A `data/` folder or a `portable` file beside the executable.
    Portable,
    /// The platform's per-user data directory.
    Platform,
}

/// Resolves the data directory. Order: explicit flag, portable mode, platform dir.
pub fn resolve_data_dir(explicit: Option<&Path>) -> (PathBuf, DataDirSource) {
    if let Some(dir) = explicit {
        return (dir.to_path_buf(), DataDirSource::CommandLine);
    }
    if let Some(exe_dir) = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf))
        && let Some(dir) = portable_dir(&exe_dir)
    {
        return (dir, DataDirSource::Portable);
    }
    let platform = directories::ProjectDirs::from("", "", "API Hub Desk")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("apihub-data"));
    (platform, DataDirSource::Platform)
}

/// Portable mode: a `data/` folder or a file named `portable` beside the executable
/// puts all data in `<exe dir>/data`.
pub fn portable_dir(exe_dir: &Path) -> Option<PathBuf> {
    let data = exe_dir.join("data");
    (data.is_dir() || exe_dir.join("portable").is_file()).then_some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_wins() {
        let (d, src) = resolve_data_dir(Some(Path::new("/tmp/x")));
        assert_eq!(d, PathBuf::from("/tmp/x"));
        assert_eq!(src, DataDirSource::CommandLine);
    }

    #[test]
    fn portable_marker_file_or_data_folder() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(portable_dir(tmp.path()), None);
        std::fs::write(tmp.path().join("portable"), "").unwrap();
        assert_eq!(portable_dir(tmp.path()), Some(tmp.path().join("data")));
        let tmp2 = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp2.path().join("data")).unwrap();
        assert_eq!(portable_dir(tmp2.path()), Some(tmp2.path().join("data")));
    }
}

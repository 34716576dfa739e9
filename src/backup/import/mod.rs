//! Importers for other tools' files.

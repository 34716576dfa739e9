//! Release check.

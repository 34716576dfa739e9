//! Alert notifications end to end (issue 17): each HTTP channel against a fake of its
//! service (`http`), email against an SMTP server in the test (`smtp`), events from
//! prepared stores (`events`), the commands through the built binary (`cli`), and the
//! Settings panel's Notifications section in the running app (`ui`).
//! One test binary; the fake services are one shared server (`fakes`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
#[path = "../common/mod.rs"]
mod common;
mod events;
#[path = "../fake_relay/mod.rs"]
mod fake_relay;
mod fakes;
mod http;
mod smtp;
mod ui;

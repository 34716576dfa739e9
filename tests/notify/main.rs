//! Alert notifications end to end (issue 17): each HTTP channel against a fake of its
//! service (`http`), email against an SMTP server in the test (`smtp`), events from
//! prepared stores (`events`), and the commands through the built binary (`cli`).
//! One test binary; the fake services are one shared server (`fakes`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod events;
#[path = "../fake_relay/mod.rs"]
mod fake_relay;
mod fakes;
mod http;
mod smtp;

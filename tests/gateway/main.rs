//! The local gateway against fake upstreams on 127.0.0.1: every endpoint streaming and
//! not, each policy, each failure class (attempts counted per upstream), failures after the
//! first byte, client disconnects, cool-down and recovery, the local key, bad input,
//! accounting, and `apihub serve` / `apihub gateway` through the binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod endpoints;
mod failover;
mod input;
mod policies;
mod rig;
mod streams;
mod upstream;

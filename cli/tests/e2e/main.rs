//! End-to-end tests: the real `kiln` binary, as root, in temp state roots.

#![allow(clippy::unwrap_used)]

mod build;
mod cache;
mod check;
mod deep;
mod errors;
mod harness;
mod image;
mod prune;
mod run;
mod sandbox;
mod store;

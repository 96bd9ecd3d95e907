//! End-to-end tests: the real `kiln` binary, as root, in temp state roots.

#![allow(clippy::unwrap_used)]

mod build;
mod cache;
mod check;
mod errors;
mod harness;
mod image;
mod labels;
mod pipes;
mod prune;
mod run;
mod sandbox;
mod store;

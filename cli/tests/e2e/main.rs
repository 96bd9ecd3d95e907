//! End-to-end tests: the real `kiln` binary, as root, in temp state roots.

#![allow(clippy::unwrap_used)]

mod add;
mod behaviour;
mod build;
mod build_flags;
mod cache;
mod check;
mod concurrent;
mod copy_flags;
mod copy_sources;
mod corpus;
mod deep;
mod errors;
mod full_disk;
mod harness;
mod heredoc;
mod holes;
mod hostile;
mod image;
mod image_commands;
mod labels;
mod load;
mod onbuild;
mod outputs;
mod pipes;
mod prune;
mod registry;
mod run;
mod sandbox;
mod stdin_context;
mod store;

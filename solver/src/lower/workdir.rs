//! Lowering WORKDIR: the image config's working directory, and a vertex creating it.

use super::instruction::{Lowered, StepInputs};
use super::state::{StageState, clean_absolute};
use crate::error::Result;
use crate::op::{FileOp, Op};
use kiln_parser::Span;

pub(super) fn lower(state: &mut StageState, raw: &str, span: Span) -> Result<Lowered> {
    // As BuildKit: the config keeps an absolute path as written (`/usr/src/`), a
    // relative one is joined to the previous and cleaned.
    let requested = state.expand(raw, span)?;
    let written = if requested.starts_with('/') {
        requested
    } else {
        clean_absolute(&format!("{}/{requested}", state.workdir()))
    };
    let path = clean_absolute(&written);
    let created_by = format!("WORKDIR {written}");
    state.config.working_dir = Some(written);
    if path == "/" {
        // As BuildKit: `/` always exists, so no step and no layer.
        return Ok((None, created_by));
    }
    let owner = state.config.user.clone().filter(|u| !u.is_empty());
    let op = Op::File(FileOp::Mkdir { path, owner });
    Ok((Some((op, StepInputs::on(state))), created_by))
}

//! Lowering one instruction: the ones that add vertices go to a file per feature
//! (`run.rs`, `copy.rs`, `add.rs`, `workdir.rs`), the rest to [`super::config`]. Every vertex
//! goes through [`add_step`] with its [`StepInputs`].

use super::Lowering;
use super::state::{HistoryStep, StageState};
use crate::error::{Result, SolveError};
use crate::op::{Edge, Node, Op, Role};
use kiln_parser::{Instruction, InstructionKind, Span};

/// Whether the instruction adds a vertex (and so a progress line).
pub(super) fn makes_vertex(kind: &InstructionKind) -> bool {
    matches!(
        kind,
        InstructionKind::Run(_)
            | InstructionKind::Copy(_)
            | InstructionKind::Add(_)
            | InstructionKind::Workdir(_)
    )
}

pub(super) fn invalid(message: impl Into<String>, span: Span) -> SolveError {
    SolveError::Dockerfile {
        message: message.into(),
        span,
    }
}

pub(super) fn lower(
    lowering: &mut Lowering<'_>,
    state: &mut StageState,
    instr: &Instruction,
    name: String,
) -> Result<()> {
    let span = instr.span;
    if let InstructionKind::Onbuild(trigger) = &instr.kind {
        // Config only, and without a history entry, as in BuildKit.
        super::onbuild::record(state, trigger);
        return Ok(());
    }
    let (step, created_by) = match &instr.kind {
        InstructionKind::Run(run) => super::run::lower(lowering, state, run, span)?,
        InstructionKind::Copy(copy) => super::copy::lower(lowering, state, copy, span)?,
        InstructionKind::Workdir(raw) => super::workdir::lower(state, raw, span)?,
        InstructionKind::Add(add) => super::add::lower(state, add, span)?,
        kind => (None, super::config::apply(lowering, state, kind, span)?),
    };
    // As BuildKit, `--no-cache-filter` reruns RUN, COPY and ADD, not WORKDIR's mkdir.
    let ignore_cache =
        !matches!(instr.kind, InstructionKind::Workdir(_)) && lowering.ignores_cache();
    let node = step.map(|(op, inputs)| {
        let node = lowering.add(op, inputs.edges, name, instr.original.clone(), span);
        lowering.graph[node].sources = inputs.labels;
        lowering.graph[node].ignore_cache |= ignore_cache;
        state.node = Some(node);
        node
    });
    state.steps.push(HistoryStep { created_by, node });
    Ok(())
}

/// What lowering one instruction gives: the vertex it adds, if any, and its history
/// text (`created_by`).
pub(super) type Lowered = (Option<(Op, StepInputs)>, String);

/// The inputs of a step being lowered: the stage's filesystem so far as its parent
/// (slot 0, unless the stage is still empty), then each source it reads.
pub(super) struct StepInputs {
    edges: Vec<(Node, Edge)>,
    /// How messages name each source, by slot.
    labels: Vec<(usize, String)>,
}

impl StepInputs {
    /// Inputs that change the stage's current filesystem.
    pub fn on(state: &StageState) -> Self {
        let edges = state
            .node
            .map(|n| {
                let edge = Edge {
                    role: Role::Parent,
                    slot: 0,
                };
                (n, edge)
            })
            .into_iter()
            .collect();
        Self {
            edges,
            labels: Vec::new(),
        }
    }

    /// Adds `node` as a filesystem the step reads; returns its slot.
    pub fn source(&mut self, node: Node, label: String) -> usize {
        let slot = self.edges.len();
        let edge = Edge {
            role: Role::Source,
            slot,
        };
        self.edges.push((node, edge));
        self.labels.push((slot, label));
        slot
    }
}

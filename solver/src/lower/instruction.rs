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

/// Lowers `instr`; `label` (`[2/4]`) starts its vertices' progress names.
pub(super) fn lower(
    lowering: &mut Lowering<'_>,
    state: &mut StageState,
    instr: &Instruction,
    label: &str,
) -> Result<()> {
    let span = instr.span;
    if let InstructionKind::Onbuild(trigger) = &instr.kind {
        // Config only, and without a history entry, as in BuildKit.
        super::onbuild::record(state, trigger);
        return Ok(());
    }
    let step = Step {
        name: format!("{label} {}", instr.original),
        original: &instr.original,
        span,
    };
    let (step_op, created_by) = match &instr.kind {
        InstructionKind::Run(run) => super::run::lower(lowering, state, run, span)?,
        InstructionKind::Copy(copy) => super::copy::lower(lowering, state, copy, &step)?,
        InstructionKind::Workdir(raw) => super::workdir::lower(state, raw, span)?,
        InstructionKind::Add(add) => super::add::lower(lowering, state, add, &step)?,
        kind => (None, super::config::apply(lowering, state, kind, span)?),
    };
    let step = step_op.map(|(op, inputs)| {
        // As BuildKit names the merge of a `--link` copy.
        let name = match op {
            Op::Merge { .. } => format!("{label} LINK {}", instr.original),
            _ => step.name,
        };
        (op, inputs, name)
    });
    // As BuildKit, `--no-cache-filter` reruns RUN, COPY and ADD, not WORKDIR's mkdir.
    let ignore_cache =
        !matches!(instr.kind, InstructionKind::Workdir(_)) && lowering.ignores_cache();
    let node = step.map(|(op, inputs, name)| {
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

/// The instruction whose vertices are being added, for a step that adds more than one.
pub(super) struct Step<'a> {
    /// Its vertex's progress name (`[2/4] COPY …`).
    pub name: String,
    /// Its text, for cache records.
    pub original: &'a str,
    pub span: Span,
}

/// `COPY --link`/`ADD --link`, as BuildKit's `dispatchCopy` makes them: the copy `op`
/// (with `inputs` that hold no parent) becomes a vertex of its own, made on an empty
/// filesystem, so its key never depends on the stage; the step is a merge of the
/// stage's filesystem and that copy's diff.
pub(super) fn link(
    lowering: &mut Lowering<'_>,
    state: &StageState,
    (op, inputs): (Op, StepInputs),
    step: &Step<'_>,
) -> (Op, StepInputs) {
    let layer = lowering.add(
        op,
        inputs.edges,
        step.name.clone(),
        step.original.to_string(),
        step.span,
    );
    lowering.graph[layer].sources = inputs.labels;
    let mut merge = StepInputs::on(state);
    let slot = merge.source(layer, "the --link layer".into());
    (Op::Merge { layer: slot }, merge)
}

/// The inputs of a step being lowered: the stage's filesystem so far as its parent
/// (slot 0, unless the stage is still empty), then each source it reads.
pub(super) struct StepInputs {
    edges: Vec<(Node, Edge)>,
    /// How messages name each source, by slot.
    labels: Vec<(usize, String)>,
}

impl StepInputs {
    /// Inputs without a parent: a step made on an empty filesystem (`--link`).
    pub fn empty() -> Self {
        Self {
            edges: Vec::new(),
            labels: Vec::new(),
        }
    }

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

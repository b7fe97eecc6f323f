//! Walkers: pre-order traversal of the ops of a body (iterative, so depth never overflows the
//! stack), the labels enclosing each op along such a walk, and traversal of nested isolated
//! bodies.

use crate::{Body, Op, Region};

/// The labels (ops a branch may target) enclosing each op of a pre-order walk, outermost
/// first, at the cost of one entry per op. When an op is visited, the first `depth[op]`
/// entries of the stack are exactly its enclosing labels: a label writes only its own level,
/// and a subtree is contiguous in pre-order, so no later label overwrites an ancestor's.
#[derive(Debug)]
pub struct EnclosingLabels {
    depth: Vec<u32>,
    is_label: Vec<bool>,
    stack: Vec<Op>,
}

impl EnclosingLabels {
    /// For a walk over `body`'s ops.
    pub fn new(body: &Body) -> Self {
        let n = body.op_capacity();
        Self { depth: vec![0; n], is_label: vec![false; n], stack: Vec::new() }
    }

    /// Visits `op` (every op after its parent, in pre-order) and returns the labels enclosing
    /// it; `is_label` says whether `op` itself is one.
    pub fn visit(&mut self, body: &Body, op: Op, is_label: bool) -> &[Op] {
        let depth =
            body.parent_op(op).map_or(0, |p| self.depth[p.index()] + u32::from(self.is_label[p.index()]));
        self.depth[op.index()] = depth;
        self.is_label[op.index()] = is_label;
        let depth = depth as usize;
        if is_label {
            self.stack.truncate(depth);
            self.stack.push(op);
        }
        &self.stack[..depth]
    }
}

impl Body {
    /// Every live op reachable from the root regions, in pre-order (an op before the ops
    /// nested in its regions). Ops of child bodies are not included.
    pub fn preorder(&self) -> Vec<Op> {
        let mut out = Vec::new();
        for &r in self.roots() {
            self.preorder_region_into(r, &mut out);
        }
        out
    }

    /// The ops nested in `region`, in pre-order.
    pub fn preorder_region(&self, region: Region) -> Vec<Op> {
        let mut out = Vec::new();
        self.preorder_region_into(region, &mut out);
        out
    }

    fn preorder_region_into(&self, region: Region, out: &mut Vec<Op>) {
        // The stack holds ops still to visit, last first, so siblings come out in order.
        let mut stack: Vec<Op> = Vec::new();
        let push_region = |stack: &mut Vec<Op>, r: Region| {
            for &b in self.region_blocks(r).iter().rev() {
                let start = stack.len();
                stack.extend(self.block_ops(b));
                stack[start..].reverse();
            }
        };
        push_region(&mut stack, region);
        while let Some(op) = stack.pop() {
            out.push(op);
            for &r in self.op_regions(op).iter().rev() {
                push_region(&mut stack, r);
            }
        }
    }

    /// Calls `f` on this body and, recursively, on the bodies of its live isolated ops.
    pub fn for_each_body(&self, f: &mut dyn FnMut(&Body)) {
        f(self);
        for op in self.preorder() {
            if let Some(child) = self.child(op) {
                child.for_each_body(f);
            }
        }
    }

    /// Number of live ops in this body and all nested bodies.
    pub fn total_op_count(&self) -> usize {
        let mut n = 0;
        self.for_each_body(&mut |b| n += b.preorder().len());
        n
    }
}

//! Walkers: pre-order traversal of the ops of a body (iterative, so depth never overflows the
//! stack) and traversal of nested isolated bodies.

use crate::{Body, Op, Region};

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

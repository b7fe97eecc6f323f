//! A function body's last steps before encoding: peepholes over adjacent instructions, local
//! numbering, and the renumbering of type indices that parallel emission needs.

use std::cmp::Reverse;
use wasm_encoder::{Function, Instruction as I, ValType};

/// A function body ready to encode: its declared locals and its instructions.
pub(crate) struct EmittedFunction {
    locals: Vec<ValType>,
    code: Vec<I<'static>>,
}

impl EmittedFunction {
    /// Applies the peepholes and numbers the locals of a body's instructions; `local_types`
    /// are the types of every local by its index, parameters first.
    pub(crate) fn finish(code: Vec<I<'static>>, num_params: usize, local_types: &[ValType]) -> Self {
        let mut out = peephole(code);
        let locals = reorder_locals(num_params, local_types, &mut out);
        EmittedFunction { locals, code: out }
    }

    /// Whether the body names a data segment (`memory.init`, `data.drop`): the module then
    /// needs a data count section.
    pub(crate) fn uses_data_segments(&self) -> bool {
        self.code.iter().any(|i| matches!(i, I::MemoryInit { .. } | I::DataDrop(_)))
    }

    /// Renumbers the type indices from `first` on (types a function added while emitted in
    /// parallel) to `to[index - first]`: every place the emitter writes a type index.
    pub(crate) fn renumber_types(&mut self, first: u32, to: &[u32]) {
        if to.is_empty() {
            return;
        }
        let index = |i: &mut u32| {
            if *i >= first {
                *i = to[(*i - first) as usize];
            }
        };
        let heap = |h: &mut wasm_encoder::HeapType| {
            if let wasm_encoder::HeapType::Concrete(i) = h {
                index(i);
            }
        };
        let val = |v: &mut ValType| {
            if let ValType::Ref(r) = v {
                heap(&mut r.heap_type);
            }
        };
        self.locals.iter_mut().for_each(val);
        for insn in &mut self.code {
            match insn {
                I::Block(bt) | I::Loop(bt) | I::If(bt) => match bt {
                    wasm_encoder::BlockType::FunctionType(i) => index(i),
                    wasm_encoder::BlockType::Result(v) => val(v),
                    wasm_encoder::BlockType::Empty => {}
                },
                I::CallIndirect { type_index, .. } | I::ReturnCallIndirect { type_index, .. } => {
                    index(type_index)
                }
                I::CallRef(i) | I::ReturnCallRef(i) => index(i),
                I::RefNull(h) => heap(h),
                I::TypedSelect(v) => val(v),
                _ => {}
            }
        }
    }

    /// The encoded body.
    pub(crate) fn encode(&self) -> Function {
        let mut f = Function::new_with_locals_types(self.locals.iter().copied());
        for insn in &self.code {
            f.instruction(insn);
        }
        f
    }
}

/// Local rewrites of adjacent instructions that the stackifier's choices leave:
/// `local.set x; local.get x` is `local.tee x`, `local.tee x; drop` is `local.set x`, and
/// `local.get x; drop` is nothing.
fn peephole(code: Vec<I<'_>>) -> Vec<I<'_>> {
    let mut out: Vec<I<'_>> = Vec::with_capacity(code.len());
    for insn in code {
        match (out.last(), &insn) {
            (Some(I::LocalSet(a)), I::LocalGet(b)) if a == b => {
                let l = *a;
                *out.last_mut().expect("a last instruction") = I::LocalTee(l);
            }
            (Some(I::LocalTee(a)), I::Drop) => {
                let l = *a;
                *out.last_mut().expect("a last instruction") = I::LocalSet(l);
            }
            (Some(I::LocalGet(_)), I::Drop) => {
                out.pop();
            }
            _ => out.push(insn),
        }
    }
    out
}

/// Renumbers the locals after the parameters, as Binaryen's reorder-locals does: an index
/// below 128 takes one byte of LEB128 and one above two, so when there are more than 128 the
/// most used come first. Within each side of that line locals are grouped by type (each run of
/// one type is one entry of the declaration), in order of first use, and unused ones go.
/// Returns the types of the declared locals.
fn reorder_locals(num_params: usize, types: &[ValType], out: &mut [I<'_>]) -> Vec<ValType> {
    let index = |insn: &I<'_>| match *insn {
        I::LocalGet(l) | I::LocalSet(l) | I::LocalTee(l) => Some(l as usize),
        _ => None,
    };
    let mut count = vec![0u32; types.len()];
    let mut first = vec![usize::MAX; types.len()];
    for (at, insn) in out.iter().enumerate() {
        if let Some(l) = index(insn) {
            count[l] += 1;
            first[l] = first[l].min(at);
        }
    }
    let mut used: Vec<usize> = (num_params..types.len()).filter(|&l| count[l] > 0).collect();
    used.sort_by_key(|&l| (Reverse(count[l]), first[l]));
    let short = 128usize.saturating_sub(num_params).min(used.len());
    let (hot, cold) = used.split_at_mut(short);
    for side in [hot, cold] {
        // Types in order of their first use on this side, then locals by first use.
        let mut rank: Vec<ValType> = Vec::new();
        let mut by_first: Vec<usize> = side.to_vec();
        by_first.sort_by_key(|&l| first[l]);
        for &l in &by_first {
            if !rank.contains(&types[l]) {
                rank.push(types[l]);
            }
        }
        side.sort_by_key(|&l| (rank.iter().position(|t| *t == types[l]), first[l]));
    }
    let mut renumber: Vec<u32> = (0..types.len() as u32).collect();
    for (i, &l) in used.iter().enumerate() {
        renumber[l] = (num_params + i) as u32;
    }
    for insn in out.iter_mut() {
        match insn {
            I::LocalGet(l) | I::LocalSet(l) | I::LocalTee(l) => *l = renumber[*l as usize],
            _ => {}
        }
    }
    used.iter().map(|&l| types[l]).collect()
}

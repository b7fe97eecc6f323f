//! `bce`'s call graph: which functions call which, for the interprocedural rules (a closed
//! function's parameters are checked as far as every caller checked its arguments, and a
//! call's results as far as every return of the callee checked them).

use wasmir_ir::{
    AttrData, Context, FxHashMap, FxHashSet, Module, Op, Traits, is_private_symbol, symbol_name,
};

/// The direct calls between a module's functions, for the interprocedural rules.
pub(super) struct CallGraph {
    /// Every function with a body, with its name, in module order.
    pub(super) funcs: Vec<(Op, String)>,
    /// The closed functions (private, referenced only as the callee of direct calls), each
    /// with the functions that call it.
    pub(super) callers: FxHashMap<String, Vec<String>>,
    /// Per function (by position in `funcs`), the functions with bodies it calls directly.
    pub(super) callees: Vec<Vec<usize>>,
}

impl CallGraph {
    pub(super) fn of(ctx: &Context, module: &Module) -> CallGraph {
        let body = module.body();
        let mut funcs = Vec::new();
        let mut escaping: FxHashSet<String> = FxHashSet::default();
        let mut callers: FxHashMap<String, Vec<String>> = FxHashMap::default();
        let mut called: Vec<Vec<String>> = Vec::new();
        for op in body.block_ops(module.block()) {
            let name = symbol_name(ctx, body, op).unwrap_or_default().to_string();
            if !is_private_symbol(ctx, body, op) {
                escaping.insert(name.clone());
            }
            // References from module-level ops (exports, start, element segments, global
            // initializers) escape.
            let mut escape = |a| {
                crate::for_each_symbol_ref(ctx, a, &mut |n| {
                    if n != name {
                        escaping.insert(n.to_string());
                    }
                })
            };
            escape(body.op_attrs(op));
            let Some(child) = body.child(op) else {
                for &region in body.op_regions(op) {
                    body.preorder_region(region).into_iter().for_each(|inner| escape(body.op_attrs(inner)));
                }
                continue;
            };
            let mut callees = Vec::new();
            child.for_each_body(&mut |b| {
                for inner in b.preorder() {
                    let def = ctx.op_def(b.op_kind(inner));
                    let AttrData::Dict(entries) = ctx.attr_data(b.op_attrs(inner)) else { continue };
                    for &(key, value) in entries.iter() {
                        let is_call = def.has(Traits::CALL_LIKE) && ctx.ident_str(key) == "callee";
                        crate::for_each_symbol_ref(ctx, value, &mut |n| {
                            if is_call {
                                callers.entry(n.to_string()).or_default().push(name.clone());
                                callees.push(n.to_string());
                            } else {
                                escaping.insert(n.to_string());
                            }
                        });
                    }
                }
            });
            funcs.push((op, name));
            called.push(callees);
        }
        let index: FxHashMap<&str, usize> =
            funcs.iter().enumerate().map(|(i, (_, n))| (n.as_str(), i)).collect();
        let callees = called
            .iter()
            .map(|names| {
                let mut out: Vec<usize> =
                    names.iter().filter_map(|n| index.get(n.as_str()).copied()).collect();
                out.sort_unstable();
                out.dedup();
                out
            })
            .collect();
        callers.retain(|callee, _| index.contains_key(callee.as_str()) && !escaping.contains(callee));
        for list in callers.values_mut() {
            list.sort();
            list.dedup();
        }
        // A closed function nobody calls has no call sites: it is dead, and gets no facts.
        CallGraph { funcs, callers, callees }
    }

    /// The functions, each after all its callers where the calls form no cycle (a cycle is
    /// entered at its first function in module order).
    pub(super) fn callers_first(&self) -> Vec<(Op, String)> {
        let index: FxHashMap<&str, usize> =
            self.funcs.iter().enumerate().map(|(i, (_, n))| (n.as_str(), i)).collect();
        let mut waiting: Vec<usize> = vec![0; self.funcs.len()];
        let mut callees: Vec<Vec<usize>> = vec![Vec::new(); self.funcs.len()];
        for (callee, callers) in &self.callers {
            let Some(&to) = index.get(callee.as_str()) else { continue };
            for caller in callers {
                if let Some(&from) = index.get(caller.as_str())
                    && from != to
                {
                    waiting[to] += 1;
                    callees[from].push(to);
                }
            }
        }
        let mut ready: std::collections::BTreeSet<usize> =
            (0..self.funcs.len()).filter(|&i| waiting[i] == 0).collect();
        let mut done = vec![false; self.funcs.len()];
        let mut order = Vec::with_capacity(self.funcs.len());
        let mut next_unvisited = 0;
        while order.len() < self.funcs.len() {
            let i = match ready.pop_first() {
                Some(i) => i,
                None => {
                    while done[next_unvisited] {
                        next_unvisited += 1;
                    }
                    next_unvisited
                }
            };
            if done[i] {
                continue;
            }
            done[i] = true;
            order.push(self.funcs[i].clone());
            for &to in &callees[i] {
                waiting[to] = waiting[to].saturating_sub(1);
                if waiting[to] == 0 && !done[to] {
                    ready.insert(to);
                }
            }
        }
        order
    }

    /// The functions, each after every function it calls directly where the calls form no
    /// cycle (a depth-first post-order from each function in module order).
    pub(super) fn callees_first(&self) -> Vec<(Op, String)> {
        let mut state = vec![0u8; self.funcs.len()]; // 0 new, 1 on the stack, 2 done
        let mut order = Vec::with_capacity(self.funcs.len());
        for root in 0..self.funcs.len() {
            if state[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            state[root] = 1;
            while let Some(&mut (f, ref mut next)) = stack.last_mut() {
                if let Some(&callee) = self.callees[f].get(*next) {
                    *next += 1;
                    if state[callee] == 0 {
                        state[callee] = 1;
                        stack.push((callee, 0));
                    }
                } else {
                    state[f] = 2;
                    order.push(self.funcs[f].clone());
                    stack.pop();
                }
            }
        }
        order
    }
}

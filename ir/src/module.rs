//! `Module`: the root of a program (a `builtin.module` op and its body), and symbol tables.

use crate::body::NewOp;
use crate::registry::Traits;
use crate::{Block, Body, Builder, Context, Location, Op};
use indexmap::IndexMap;

/// The one op name the core knows: the top-level container every parsed file ends up in.
pub const MODULE_OP: &str = "builtin.module";

/// A top-level `builtin.module` with its body.
#[derive(Clone, Debug)]
pub struct Module {
    root: Body,
    op: Op,
}

impl Module {
    /// An empty module. The context must have the builtin dialect registered.
    pub fn new(ctx: &Context) -> Self {
        let (inner, _) = Body::with_root_block();
        Self::wrap(ctx, inner, Location::Unknown)
    }

    /// Makes `inner` (a body whose root region holds the module's block) the body of a new
    /// `builtin.module`.
    pub fn wrap(ctx: &Context, inner: Body, loc: Location) -> Self {
        let kind = ctx
            .registry()
            .lookup_op(MODULE_OP)
            .expect("the builtin dialect must be registered to build a module");
        let (mut root, block) = Body::with_root_block();
        let mut new = NewOp::new(kind, loc);
        new.child = Some(inner);
        let op = root.create_op(new);
        root.append_op(block, op);
        Self { root, op }
    }

    /// Takes a parsed top-level body: one `builtin.module` in it is the module; anything else
    /// is wrapped in an implicit module, as MLIR does.
    pub fn from_top_level(ctx: &Context, top: Body, loc: Location) -> Self {
        if let Some(&region) = top.roots().first()
            && let Some(&block) = top.region_blocks(region).first()
        {
            let mut ops = top.block_ops(block);
            if let (Some(only), None) = (ops.next(), ops.next())
                && ctx.op_def(top.op_kind(only)).name == MODULE_OP
            {
                return Self { root: top, op: only };
            }
        }
        Self::wrap(ctx, top, loc)
    }

    /// The `builtin.module` op in [`Module::root`].
    pub fn op(&self) -> Op {
        self.op
    }
    /// The body holding the module op itself.
    pub fn root(&self) -> &Body {
        &self.root
    }
    /// The body holding the module op itself, mutably.
    pub fn root_mut(&mut self) -> &mut Body {
        &mut self.root
    }
    /// The module's own body: its functions and globals.
    pub fn body(&self) -> &Body {
        self.root.child(self.op).expect("a module op always owns a body")
    }
    /// The module's own body, mutably.
    pub fn body_mut(&mut self) -> &mut Body {
        self.root.child_mut(self.op).expect("a module op always owns a body")
    }
    /// The single block of the module's body.
    pub fn block(&self) -> Block {
        let body = self.body();
        body.region_blocks(body.roots()[0])[0]
    }
    /// A builder appending to the module's block.
    pub fn builder<'a>(&'a mut self, ctx: &'a Context) -> Builder<'a> {
        let block = self.block();
        Builder::at_end(ctx, self.body_mut(), block)
    }
}

/// Symbols defined directly in one symbol-table block, by name, in definition order.
#[derive(Debug, Default, Clone)]
pub struct SymbolTable {
    symbols: IndexMap<String, Op>,
}

impl SymbolTable {
    /// Collects the symbols of `block`. Later duplicates are reported by the verifier; the
    /// table keeps the first definition.
    pub fn build(ctx: &Context, body: &Body, block: Block) -> Self {
        let mut symbols = IndexMap::new();
        for op in body.block_ops(block) {
            if let Some(name) = symbol_name(ctx, body, op) {
                symbols.entry(name.to_string()).or_insert(op);
            }
        }
        Self { symbols }
    }
    /// The op defining `name`.
    pub fn lookup(&self, name: &str) -> Option<Op> {
        self.symbols.get(name).copied()
    }
    /// All symbols in definition order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Op)> {
        self.symbols.iter().map(|(k, &v)| (k.as_str(), v))
    }
    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}

/// The name a symbol op defines, if `op` is one.
pub fn symbol_name<'a>(ctx: &'a Context, body: &Body, op: Op) -> Option<&'a str> {
    let def = ctx.op_def(body.op_kind(op));
    if !def.has(Traits::SYMBOL) {
        return None;
    }
    ctx.dict_get(body.op_attrs(op), "sym_name").and_then(|a| ctx.attr_as_str(a))
}

/// Whether a symbol op is private (`sym_visibility = "private"`), so unused copies may go.
pub fn is_private_symbol(ctx: &Context, body: &Body, op: Op) -> bool {
    ctx.dict_get(body.op_attrs(op), "sym_visibility").and_then(|a| ctx.attr_as_str(a)) == Some("private")
}

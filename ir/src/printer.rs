//! The textual IR printer: the generic form and each op's custom form, from the same
//! declarations the parser reads, so that `print(parse(x))` is a fixed point.

use crate::lexer::escape_into;
use crate::registry::{AttrConstraint, Fmt, OpDef, Syntax};
use crate::{
    Attr, AttrData, Block, Body, Context, Location, Module, Op, OpRef, Param, Region, Signedness, Type,
    TypeData, Value, group_range,
};

/// Deepest indentation printed, in levels.
const MAX_INDENT: usize = 64;

/// How to print.
#[derive(Copy, Clone, Debug, Default)]
pub struct PrintOptions {
    /// Print every op in the generic form.
    pub generic: bool,
    /// Print `loc(...)` after every op that has a location.
    pub debug_info: bool,
}

/// Prints a whole module.
pub fn print_module(ctx: &Context, module: &Module, opts: PrintOptions) -> String {
    let mut out = String::with_capacity(module.body().op_capacity() * 48 + 64);
    let root = module.root();
    let names = ValueNames::for_body(root);
    let mut p = OpPrinter { ctx, out: &mut out, opts, body: root, names: &names, indent: 0 };
    p.print_op(module.op());
    out
}

/// Prints one op (and everything nested in it) of `body`.
pub fn print_op(ctx: &Context, body: &Body, op: Op, opts: PrintOptions) -> String {
    let mut out = String::new();
    let names = ValueNames::for_body(body);
    let mut p = OpPrinter { ctx, out: &mut out, opts, body, names: &names, indent: 0 };
    p.print_op(op);
    out
}

/// The printed names of the values of one body: `%N` (`%N#i` for multi-result ops) and
/// `%argN`, numbered in print order.
#[derive(Debug)]
pub struct ValueNames {
    slots: Vec<NameSlot>,
}

#[derive(Copy, Clone, Debug, Default)]
struct NameSlot {
    /// 0: unnamed; 1: op result; 2: block argument.
    kind: u8,
    number: u32,
    /// Index within a multi-result group, or `u32::MAX` for a single result.
    sub: u32,
}

impl ValueNames {
    /// Numbers every value of `body` in the order the printer visits them.
    pub fn for_body(body: &Body) -> Self {
        let mut slots = Vec::new();
        let mut next_result = 0u32;
        let mut next_arg = 0u32;
        let set = |slots: &mut Vec<NameSlot>, v: Value, slot: NameSlot| {
            if slots.len() <= v.index() {
                slots.resize(v.index() + 1, NameSlot::default());
            }
            slots[v.index()] = slot;
        };
        let name_region_args = |slots: &mut Vec<NameSlot>, r: Region, next_arg: &mut u32| {
            for &b in body.region_blocks(r) {
                for &a in body.block_args(b) {
                    set(slots, a, NameSlot { kind: 2, number: *next_arg, sub: u32::MAX });
                    *next_arg += 1;
                }
            }
        };
        for &r in body.roots() {
            name_region_args(&mut slots, r, &mut next_arg);
        }
        for op in body.preorder() {
            let results = body.results(op);
            let multi = results.len() > 1;
            for (i, &v) in results.iter().enumerate() {
                let sub = if multi { i as u32 } else { u32::MAX };
                set(&mut slots, v, NameSlot { kind: 1, number: next_result, sub });
            }
            if !results.is_empty() {
                next_result += 1;
            }
            for &r in body.op_regions(op) {
                name_region_args(&mut slots, r, &mut next_arg);
            }
        }
        Self { slots }
    }

    fn write(&self, out: &mut String, v: Value) {
        match self.slots.get(v.index()).copied().unwrap_or_default() {
            NameSlot { kind: 1, number, sub } => {
                out.push('%');
                push_u32(out, number);
                if sub != u32::MAX {
                    out.push('#');
                    push_u32(out, sub);
                }
            }
            NameSlot { kind: 2, number, .. } => {
                out.push_str("%arg");
                push_u32(out, number);
            }
            _ => out.push_str("%<<unknown value>>"),
        }
    }

    fn group_number(&self, v: Value) -> Option<u32> {
        self.slots.get(v.index()).filter(|s| s.kind == 1).map(|s| s.number)
    }
}

fn push_u32(out: &mut String, mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

/// Writes ops, regions, values, types and attributes; the interface custom print hooks use.
pub struct OpPrinter<'o, 'a> {
    ctx: &'a Context,
    out: &'o mut String,
    opts: PrintOptions,
    body: &'a Body,
    names: &'o ValueNames,
    indent: usize,
}

impl std::fmt::Debug for OpPrinter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpPrinter(indent {})", self.indent)
    }
}

impl<'a> OpPrinter<'_, 'a> {
    /// The context.
    pub fn ctx(&self) -> &'a Context {
        self.ctx
    }
    /// Writes raw text.
    pub fn write(&mut self, s: &str) {
        self.out.push_str(s);
    }
    /// Writes a value's name.
    pub fn print_operand(&mut self, v: Value) {
        self.names.write(self.out, v);
    }
    /// Writes values separated by `, `.
    pub fn print_operands(&mut self, values: &[Value]) {
        for (i, &v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.names.write(self.out, v);
        }
    }
    /// Writes a type.
    pub fn print_type(&mut self, t: Type) {
        write_type(self.out, self.ctx, t);
    }
    /// Writes types separated by `, `.
    pub fn print_types(&mut self, types: &[Type]) {
        for (i, &t) in types.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            write_type(self.out, self.ctx, t);
        }
    }
    /// Writes result types after `->`: bare when there is one plain type.
    pub fn print_result_types(&mut self, types: &[Type]) {
        write_result_types(self.out, self.ctx, types);
    }
    /// Writes an attribute value.
    pub fn print_attr(&mut self, a: Attr) {
        write_attr(self.out, self.ctx, a);
    }
    /// Writes `@name`, quoted when needed.
    pub fn print_symbol(&mut self, name: &str) {
        write_symbol(self.out, name);
    }
    /// Writes `%arg0: i32`.
    pub fn print_arg_decl(&mut self, v: Value) {
        self.names.write(self.out, v);
        self.out.push_str(": ");
        write_type(self.out, self.ctx, self.body.value_type(v));
    }
    /// Writes ` {a = 1, b}` with the entries not in `elided`; nothing when none remain.
    pub fn print_attr_dict(&mut self, attrs: Attr, elided: &[&str]) {
        self.print_dict_inner(attrs, elided, " ");
    }
    /// Writes ` attributes {a = 1}` with the entries not in `elided`.
    pub fn print_attr_dict_with_keyword(&mut self, attrs: Attr, elided: &[&str]) {
        self.print_dict_inner(attrs, elided, " attributes ");
    }
    fn print_dict_inner(&mut self, attrs: Attr, elided: &[&str], lead: &str) {
        let ctx = self.ctx;
        let entries: Vec<_> =
            ctx.dict_entries(attrs).iter().filter(|(k, _)| !elided.contains(&ctx.ident_str(*k))).collect();
        if entries.is_empty() {
            return;
        }
        self.out.push_str(lead);
        write_dict_entries(self.out, ctx, entries.into_iter().copied());
    }

    /// Runs `f` with a printer in the scope of `op`'s regions: for an isolated op, a printer
    /// over its child body (whose values are numbered once, here); otherwise this printer.
    /// The regions passed to `f` are valid in the printer passed to `f`.
    pub fn with_region_scope<R>(
        &mut self,
        op: OpRef<'_>,
        f: impl FnOnce(&mut OpPrinter<'_, 'a>, &[Region]) -> R,
    ) -> R {
        match self.body.child(op.op) {
            Some(child) => {
                let names = ValueNames::for_body(child);
                let mut inner = OpPrinter {
                    ctx: self.ctx,
                    out: &mut *self.out,
                    opts: self.opts,
                    body: child,
                    names: &names,
                    indent: self.indent,
                };
                f(&mut inner, child.roots())
            }
            None => {
                let body = self.body;
                f(self, body.op_regions(op.op))
            }
        }
    }

    /// The arguments of a region's entry block (none for a region without blocks).
    pub fn entry_args(&self, region: Region) -> Vec<Value> {
        self.body.region_blocks(region).first().map(|&b| self.body.block_args(b).to_vec()).unwrap_or_default()
    }

    /// Whether region `index` of `op` has no blocks.
    pub fn region_is_empty(&self, op: OpRef<'_>, index: usize) -> bool {
        let (body, regions) = op.regions();
        regions.get(index).is_none_or(|&r| body.region_blocks(r).is_empty())
    }

    /// Writes a region of the current scope. `args_printed`: the op's syntax already declared
    /// the entry block's arguments, so no block header is needed.
    /// Regions nest as deep as the input does: the stack grows on the heap when it runs low.
    pub fn print_region(&mut self, region: Region, args_printed: bool) {
        stacker::maybe_grow(crate::STACK_RED_ZONE, crate::STACK_SEGMENT, || {
            self.out.push('{');
            self.out.push('\n');
            let blocks = self.body.region_blocks(region);
            for &block in blocks {
                self.print_block(block, args_printed);
            }
            self.push_indent();
            self.out.push('}');
        })
    }

    fn print_block(&mut self, block: Block, args_printed: bool) {
        let args = self.body.block_args(block);
        let empty = self.body.block_first(block).is_none();
        if (!args_printed && !args.is_empty()) || (empty && args.is_empty() && !args_printed) {
            self.push_indent();
            self.out.push_str("^bb0");
            if !args.is_empty() {
                self.out.push('(');
                for (i, &a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.print_arg_decl(a);
                }
                self.out.push(')');
            }
            self.out.push_str(":\n");
        }
        self.indent += 1;
        let mut next = self.body.block_first(block);
        while let Some(op) = next {
            self.print_op(op);
            next = self.body.next_op(op);
        }
        self.indent -= 1;
    }

    /// Two spaces per level, up to `MAX_INDENT` levels: deeper ops (Wasm allows any nesting)
    /// print at that depth, so the text stays linear in the size of the IR.
    fn push_indent(&mut self) {
        for _ in 0..self.indent.min(MAX_INDENT) {
            self.out.push_str("  ");
        }
    }

    fn print_op(&mut self, op: Op) {
        self.push_indent();
        let results = self.body.results(op);
        if let Some(&first) = results.first() {
            if results.len() == 1 {
                self.names.write(self.out, first);
            } else {
                self.out.push('%');
                push_u32(self.out, self.names.group_number(first).unwrap_or(0));
                self.out.push(':');
                push_u32(self.out, results.len() as u32);
            }
            self.out.push_str(" = ");
        }
        let view = OpRef::new(self.ctx, self.body, op);
        let def = view.def();
        // Custom forms assume the declared shape; IR that skipped verification may not have
        // it, and the generic form prints anything.
        let custom = !self.opts.generic && view.shape_problem().is_none();
        match def.syntax {
            Syntax::Format(fmt) if custom => {
                self.out.push_str(custom_name(def));
                self.print_format(view, fmt);
            }
            Syntax::Custom { print, .. } if custom => {
                self.out.push_str(custom_name(def));
                print(self, view);
            }
            _ => self.print_generic(view),
        }
        if self.opts.debug_info {
            self.print_loc(self.body.op_loc(op));
        }
        self.out.push('\n');
    }

    fn print_loc(&mut self, loc: Location) {
        let (name, line, col) = match loc {
            Location::Span { file, start, .. } => match self.ctx.sources().get(file) {
                Some(f) => {
                    let (l, c) = f.line_col(start);
                    (f.name.clone(), l, c)
                }
                None => return,
            },
            Location::LineCol { file, line, col } => (self.ctx.ident_str(file).to_string(), line, col),
            Location::Offset { file, offset } => match self.ctx.sources().get(file) {
                Some(f) => (f.name.clone(), 0, offset),
                None => return,
            },
            Location::Unknown => return,
        };
        self.out.push_str(" loc(");
        escape_into(self.out, &name);
        self.out.push(':');
        push_u32(self.out, line);
        self.out.push(':');
        push_u32(self.out, col);
        self.out.push(')');
    }

    fn print_generic(&mut self, view: OpRef<'_>) {
        let def = view.def();
        escape_into(self.out, def.name);
        self.out.push('(');
        self.print_operands(view.operands());
        self.out.push(')');
        if !view.regions().1.is_empty() {
            self.out.push_str(" (");
            self.with_region_scope(view, |p, regions| {
                for (i, &r) in regions.iter().enumerate() {
                    if i > 0 {
                        p.out.push_str(", ");
                    }
                    p.print_region(r, false);
                }
            });
            self.out.push(')');
        }
        self.print_attr_dict(view.attrs(), &[]);
        self.out.push_str(" : ");
        self.out.push('(');
        let operand_types = view.operand_types();
        self.print_types(&operand_types);
        self.out.push_str(") -> ");
        let result_types = view.result_types();
        self.print_result_types(&result_types);
    }

    fn print_format(&mut self, view: OpRef<'_>, fmt: &[Fmt]) {
        let def = view.def();
        // Every attribute the format prints by itself is left out of `attr-dict`, wherever
        // in the format it stands.
        let printed_attrs: Vec<&str> =
            fmt.iter().filter_map(|e| if let Fmt::Attr(name) = e { Some(*name) } else { None }).collect();
        // A space separates elements, except around brackets and before commas.
        let mut glue = true;
        for element in fmt {
            let tight = matches!(element, Fmt::Lit("," | ")" | "]" | "(" | "["));
            match *element {
                Fmt::Operands(name) => {
                    let values = view.operand_group(name);
                    if values.is_empty() {
                        continue;
                    }
                    self.space(glue, false);
                    self.print_operands(values);
                }
                Fmt::Attr(name) => {
                    let Some(a) = view.attr(name) else { continue };
                    self.space(glue, false);
                    match def.attr_spec(name).map(|s| s.kind) {
                        Some(AttrConstraint::Enum(_)) => {
                            let word = self.ctx.attr_as_str(a).unwrap_or("?");
                            self.out.push_str(word);
                        }
                        _ => self.print_attr(a),
                    }
                }
                Fmt::Lit(text) => {
                    self.space(glue, tight);
                    self.out.push_str(text);
                }
                Fmt::AttrDict => {
                    let before = self.out.len();
                    self.print_attr_dict(view.attrs(), &printed_attrs);
                    if self.out.len() == before {
                        continue;
                    }
                }
                Fmt::Type(name) => {
                    self.space(glue, false);
                    let types = group_types(view, name);
                    self.print_types(&types);
                }
                Fmt::OptionalTypes(name) => {
                    let types = group_types(view, name);
                    if types.is_empty() {
                        continue;
                    }
                    self.out.push_str(" : ");
                    self.print_types(&types);
                }
                Fmt::FunctionalType => {
                    self.space(glue, false);
                    self.out.push('(');
                    let operand_types = view.operand_types();
                    self.print_types(&operand_types);
                    self.out.push_str(") -> ");
                    let result_types = view.result_types();
                    self.print_result_types(&result_types);
                }
                Fmt::Region(name) => {
                    let index = def.regions.iter().position(|r| r.name == name).unwrap_or(0);
                    self.space(glue, false);
                    self.with_region_scope(view, |p, regions| p.print_region(regions[index], false));
                }
            }
            glue = !matches!(element, Fmt::Lit("(" | "["));
        }
    }

    fn space(&mut self, glue: bool, tight: bool) {
        if glue && !tight {
            self.out.push(' ');
        }
    }
}

fn group_types(view: OpRef<'_>, name: &str) -> Vec<Type> {
    let def = view.def();
    let values = if let Some(r) = group_range(def.operands, view.operands().len(), name) {
        &view.operands()[r]
    } else if let Some(r) = group_range(def.results, view.results().len(), name) {
        &view.results()[r]
    } else {
        &[][..]
    };
    values.iter().map(|&v| view.value_type(v)).collect()
}

/// The name an op is printed with in the custom form (`builtin.` is implied).
pub fn custom_name(def: &OpDef) -> &'static str {
    def.name.strip_prefix("builtin.").unwrap_or(def.name)
}

/// A type as text.
pub fn type_to_string(ctx: &Context, t: Type) -> String {
    let mut s = String::new();
    write_type(&mut s, ctx, t);
    s
}

/// An attribute as text.
pub fn attr_to_string(ctx: &Context, a: Attr) -> String {
    let mut s = String::new();
    write_attr(&mut s, ctx, a);
    s
}

/// Writes a type.
pub fn write_type(out: &mut String, ctx: &Context, t: Type) {
    match ctx.type_data(t) {
        TypeData::None => out.push_str("none"),
        TypeData::Int { width, signedness } => {
            out.push(if *signedness == Signedness::Unsigned { 'u' } else { 'i' });
            push_u32(out, u32::from(*width));
        }
        TypeData::Float(crate::FloatKind::F32) => out.push_str("f32"),
        TypeData::Float(crate::FloatKind::F64) => out.push_str("f64"),
        TypeData::Function { inputs, results } => {
            out.push('(');
            for (i, &ty) in inputs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_type(out, ctx, ty);
            }
            out.push_str(") -> ");
            write_result_types(out, ctx, results);
        }
        TypeData::Dialect { name, params } => {
            out.push('!');
            out.push_str(ctx.ident_str(*name));
            write_params(out, ctx, params);
        }
    }
}

fn write_result_types(out: &mut String, ctx: &Context, types: &[Type]) {
    let bare = types.len() == 1 && !matches!(ctx.type_data(types[0]), TypeData::Function { .. });
    if !bare {
        out.push('(');
    }
    for (i, &ty) in types.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_type(out, ctx, ty);
    }
    if !bare {
        out.push(')');
    }
}

fn write_params(out: &mut String, ctx: &Context, params: &[Param]) {
    if params.is_empty() {
        return;
    }
    out.push('<');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match p {
            Param::Type(t) => write_type(out, ctx, *t),
            // A bare integer parameter parses as an i64, so that is how one prints.
            Param::Attr(a) => match ctx.attr_data(*a) {
                crate::AttrData::Int { value, ty: Type::I64 } => out.push_str(&value.to_string()),
                _ => write_attr(out, ctx, *a),
            },
            Param::Keyword(k) => out.push_str(ctx.ident_str(*k)),
        }
    }
    out.push('>');
}

fn is_bare_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
}

fn write_symbol(out: &mut String, name: &str) {
    out.push('@');
    let plain = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'-'));
    if plain {
        out.push_str(name);
    } else {
        escape_into(out, name);
    }
}

fn write_dict_entries(out: &mut String, ctx: &Context, entries: impl Iterator<Item = (crate::Ident, Attr)>) {
    out.push('{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let key = ctx.ident_str(k);
        if is_bare_name(key) && !matches!(key, "true" | "false" | "unit") {
            out.push_str(key);
        } else {
            escape_into(out, key);
        }
        if v != Attr::UNIT {
            out.push_str(" = ");
            write_attr(out, ctx, v);
        }
    }
    out.push('}');
}

/// Writes an attribute value.
pub fn write_attr(out: &mut String, ctx: &Context, a: Attr) {
    match ctx.attr_data(a) {
        AttrData::Unit => out.push_str("unit"),
        AttrData::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttrData::Int { value, ty } => {
            match ctx.int_info(*ty) {
                Some((width, Signedness::Unsigned)) if width < 64 => {
                    out.push_str(&(*value as u64 & ((1u64 << width) - 1)).to_string())
                }
                Some((_, Signedness::Unsigned)) => out.push_str(&(*value as u64).to_string()),
                _ => out.push_str(&value.to_string()),
            }
            out.push_str(" : ");
            write_type(out, ctx, *ty);
        }
        AttrData::Float { bits, ty } => {
            write_float(out, *bits, *ty == Type::F32);
            out.push_str(" : ");
            write_type(out, ctx, *ty);
        }
        AttrData::String(s) => escape_into(out, s),
        AttrData::Bytes(b) => crate::lexer::escape_bytes_into(out, b),
        AttrData::Type(t) => write_type(out, ctx, *t),
        AttrData::SymbolRef(path) => {
            for (i, &p) in path.iter().enumerate() {
                if i > 0 {
                    out.push_str("::");
                }
                write_symbol(out, ctx.ident_str(p));
            }
        }
        AttrData::Array(items) => {
            out.push('[');
            for (i, &item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_attr(out, ctx, item);
            }
            out.push(']');
        }
        AttrData::Dict(entries) => write_dict_entries(out, ctx, entries.iter().copied()),
        AttrData::Dialect { name, params } => {
            out.push('#');
            out.push_str(ctx.ident_str(*name));
            write_params(out, ctx, params);
        }
    }
}

/// Finite floats print in Rust's shortest round-trip form; NaNs and infinities as their
/// exact bits in hex, so every payload survives.
fn write_float(out: &mut String, bits: u64, is_f32: bool) {
    use std::fmt::Write;
    if is_f32 {
        let v = f32::from_bits(bits as u32);
        if v.is_finite() {
            let _ = write!(out, "{v:?}");
        } else {
            let _ = write!(out, "0x{:08X}", bits as u32);
        }
    } else {
        let v = f64::from_bits(bits);
        if v.is_finite() {
            let _ = write!(out, "{v:?}");
        } else {
            let _ = write!(out, "0x{bits:016X}");
        }
    }
}

//! The textual IR parser: MLIR's generic form, each op's declarative format or custom hook,
//! scoped SSA names, and a nesting limit so hostile input can never overflow the stack.

use crate::diagnostics::Diagnostic;
use crate::lexer::{Lexer, TokKind, Token, unescape, unescape_bytes};
use crate::registry::{AttrConstraint, Fmt, OpDef, OpKind, Syntax, Traits, TypeConstraint};
use crate::{
    Attr, AttrData, Block, Body, Context, FileId, FxHashMap, Location, Module, NewOp, Param, Region,
    Signedness, SmallVec, Type, TypeData, Value, group_ranges,
};
use std::ops::Range;

/// The result of a parsing step: the first error stops the parse, as in MLIR.
pub type PResult<T> = Result<T, Diagnostic>;

/// Limits and switches of the parser.
#[derive(Copy, Clone, Debug)]
pub struct ParseOptions {
    /// Deepest nesting of regions, attributes and types accepted. Each level costs a few
    /// stack frames, so the default stays far below what an 8 MiB stack holds.
    pub max_nesting: u32,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { max_nesting: 1000 }
    }
}

/// Parses `src[range]` of a registered file into a module.
pub fn parse_module(
    ctx: &Context,
    file: FileId,
    range: Range<usize>,
    opts: &ParseOptions,
) -> PResult<Module> {
    let src =
        ctx.sources().get(file).ok_or_else(|| Diagnostic::error(Location::Unknown, "unknown source file"))?;
    let text: &str = &src.text;
    let start = range.start.min(text.len());
    let mut parser = Parser::new(ctx, text, file, start, range.end, *opts);
    let loc = parser.here();
    let top = parser.parse_top_level()?;
    Ok(Module::from_top_level(ctx, top, loc))
}

/// Registers `text` under `name` and parses all of it.
pub fn parse_str(ctx: &Context, name: &str, text: &str) -> PResult<Module> {
    let file = ctx.sources().add(name, text);
    parse_module(ctx, file, 0..text.len(), &ParseOptions::default())
}

/// What a parsed op will be made of.
#[derive(Debug)]
pub struct OperationState {
    pub kind: OpKind,
    pub loc: Location,
    pub operands: SmallVec<[Value; 3]>,
    /// Result types, when the syntax states them all; otherwise they are inferred.
    pub result_types: Option<SmallVec<[Type; 1]>>,
    /// Result types stated per declared result group (declarative formats).
    pub result_group_types: SmallVec<[Option<SmallVec<[Type; 1]>>; 1]>,
    pub attrs: Vec<(crate::Ident, Attr)>,
    pub regions: SmallVec<[Region; 1]>,
}

impl OperationState {
    fn new(kind: OpKind, def: &OpDef, loc: Location) -> Self {
        Self {
            kind,
            loc,
            operands: SmallVec::new(),
            result_types: None,
            result_group_types: smallvec::smallvec![None; def.results.len()],
            attrs: Vec::new(),
            regions: SmallVec::new(),
        }
    }

    /// Adds an attribute.
    pub fn add_attr(&mut self, ctx: &Context, name: &str, value: Attr) {
        self.attrs.push((ctx.ident(name), value));
    }
}

type Scope<'a> = FxHashMap<&'a str, SmallVec<[Value; 1]>>;

/// The parser state: one source buffer, the current token, and the SSA name scopes of the
/// isolated body being parsed.
pub struct Parser<'a> {
    ctx: &'a Context,
    src: &'a str,
    file: FileId,
    lexer: Lexer<'a>,
    tok: Token,
    /// End of the previous token: where "expected X" points when the input ended.
    prev_end: u32,
    depth: u32,
    opts: ParseOptions,
    scopes: Vec<Scope<'a>>,
}

impl std::fmt::Debug for Parser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parser at {:?}", self.tok)
    }
}

/// A region argument declared in a custom syntax: `%name: type`.
#[derive(Copy, Clone, Debug)]
pub struct ArgDecl<'a> {
    pub name: &'a str,
    pub ty: Type,
    pub loc: Location,
}

impl<'a> Parser<'a> {
    fn new(
        ctx: &'a Context,
        src: &'a str,
        file: FileId,
        start: usize,
        end: usize,
        opts: ParseOptions,
    ) -> Self {
        let mut lexer = Lexer::new(src, start, end);
        let tok = lexer.next_token();
        Self {
            ctx,
            src,
            file,
            lexer,
            tok,
            prev_end: start as u32,
            depth: 0,
            opts,
            scopes: vec![Scope::default()],
        }
    }

    // ----- tokens -----

    fn text(&self, tok: Token) -> &'a str {
        self.src.get(tok.start as usize..tok.end as usize).unwrap_or("")
    }
    fn advance(&mut self) -> Token {
        let t = self.tok;
        self.prev_end = t.end;
        self.tok = self.lexer.next_token();
        t
    }
    fn loc_of(&self, tok: Token) -> Location {
        Location::Span { file: self.file, start: tok.start, end: tok.end }
    }
    fn here(&self) -> Location {
        self.loc_of(self.tok)
    }
    fn error_at(&self, tok: Token, msg: impl Into<String>) -> Diagnostic {
        if tok.kind == TokKind::Eof {
            // Point right after the last token, not at whatever follows this input.
            let at = self.prev_end;
            return Diagnostic::error(Location::Span { file: self.file, start: at, end: at }, msg);
        }
        Diagnostic::error(self.loc_of(tok), msg)
    }
    fn describe(&self, tok: Token) -> String {
        match tok.kind {
            TokKind::Eof => "end of input".to_string(),
            TokKind::Error if self.text(tok).starts_with('"') || self.text(tok).starts_with("@\"") => {
                "an unterminated string".to_string()
            }
            TokKind::Error => format!("invalid token `{}`", self.text(tok).escape_debug()),
            _ => format!("`{}`", self.text(tok)),
        }
    }
    fn expected(&self, what: &str) -> Diagnostic {
        self.error_at(self.tok, format!("expected {what}, found {}", self.describe(self.tok)))
    }
    fn expect(&mut self, kind: TokKind, what: &str) -> PResult<Token> {
        if self.tok.kind == kind { Ok(self.advance()) } else { Err(self.expected(what)) }
    }
    fn eat(&mut self, kind: TokKind) -> bool {
        if self.tok.kind == kind {
            self.advance();
            true
        } else {
            false
        }
    }
    fn is_keyword(&self, kw: &str) -> bool {
        self.tok.kind == TokKind::BareId && self.text(self.tok) == kw
    }
    /// Enters one nesting level opened by token `at` (a bracket already consumed).
    fn enter(&mut self, at: Token) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.opts.max_nesting {
            return Err(self
                .error_at(at, format!("nesting is too deep (more than {} levels)", self.opts.max_nesting)));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ----- SSA names -----

    fn lookup_value(&self, tok: Token) -> PResult<Value> {
        let text = self.text(tok);
        let (name, index) = match text.split_once('#') {
            Some((n, i)) => (n, i.parse::<usize>().ok()),
            None => (text, None),
        };
        let group = self.scopes.iter().rev().find_map(|s| s.get(name));
        let Some(group) = group else {
            return Err(self.error_at(tok, format!("use of undeclared SSA value `{name}`")));
        };
        match index {
            None if group.len() == 1 => Ok(group[0]),
            None => {
                Err(self.error_at(tok, format!("`{name}` names {} results; use `{name}#N`", group.len())))
            }
            Some(i) => group
                .get(i)
                .copied()
                .ok_or_else(|| self.error_at(tok, format!("result number {i} is out of range for `{name}`"))),
        }
    }

    fn define(&mut self, name: &'a str, values: SmallVec<[Value; 1]>, loc: Token) -> PResult<()> {
        if self.scopes.iter().any(|s| s.contains_key(name)) {
            return Err(self.error_at(loc, format!("redefinition of SSA value `{name}`")));
        }
        self.scopes.last_mut().expect("a scope is always open").insert(name, values);
        Ok(())
    }

    // ----- top level and ops -----

    fn parse_top_level(&mut self) -> PResult<Body> {
        let (mut body, block) = Body::with_root_block();
        while self.tok.kind != TokKind::Eof {
            self.parse_op(&mut body, block)?;
        }
        Ok(body)
    }

    fn parse_op(&mut self, body: &mut Body, block: Block) -> PResult<()> {
        let start = self.tok;
        let mut names: Vec<(&'a str, usize, Token)> = Vec::new();
        if self.tok.kind == TokKind::ValueId {
            loop {
                let t = self.expect(TokKind::ValueId, "an SSA value name")?;
                let text = self.text(t);
                if text.contains('#') {
                    return Err(self.error_at(t, "a result name cannot have a `#N` suffix"));
                }
                let mut count = 1;
                if self.eat(TokKind::Colon) {
                    let n = self.expect(TokKind::Int, "a result count")?;
                    count = self
                        .text(n)
                        .parse::<usize>()
                        .ok()
                        .filter(|c| (1..=1 << 16).contains(c))
                        .ok_or_else(|| self.error_at(n, "a result count must be 1 to 65536"))?;
                }
                names.push((text, count, t));
                if !self.eat(TokKind::Comma) {
                    break;
                }
            }
            self.expect(TokKind::Equal, "`=` after the result names")?;
        }
        let name_tok = self.tok;
        let (kind, generic) = match name_tok.kind {
            TokKind::String => {
                let name = unescape(self.text(name_tok)).unwrap_or_default();
                match self.ctx.registry().lookup_op(&name) {
                    Some(k) => (k, true),
                    None => return Err(self.error_at(name_tok, format!("unknown operation `{name}`"))),
                }
            }
            TokKind::BareId => {
                let name = self.text(name_tok);
                let registry = self.ctx.registry();
                let kind = registry.lookup_op(name).or_else(|| {
                    (!name.contains('.')).then(|| registry.lookup_op(&format!("builtin.{name}"))).flatten()
                });
                match kind {
                    Some(k) => (k, false),
                    None => return Err(self.error_at(name_tok, format!("unknown operation `{name}`"))),
                }
            }
            _ => return Err(self.expected("an operation")),
        };
        self.advance();
        let def = self.ctx.op_def(kind);
        let loc = Location::Span { file: self.file, start: start.start, end: name_tok.end };
        let mut state = OperationState::new(kind, def, loc);
        let mut op_parser = OpParser { p: self, body, child: None, def };
        if def.has(Traits::ISOLATED_FROM_ABOVE) {
            op_parser.child = Some(Body::new());
        }
        if generic {
            op_parser.parse_generic(&mut state)?;
        } else {
            match def.syntax {
                Syntax::Generic => {
                    return Err(op_parser.p.error_at(
                        name_tok,
                        format!("`{}` has no custom form; write it in the generic form", def.name),
                    ));
                }
                Syntax::Format(fmt) => op_parser.parse_format(fmt, &mut state)?,
                Syntax::Custom { parse, .. } => parse(&mut op_parser, &mut state)?,
            }
        }
        let child = op_parser.child.take();
        if self.is_keyword("loc") {
            state.loc = self.parse_loc()?;
        }
        let result_types = self.resolve_result_types(body, def, &state, name_tok)?;
        let bound: usize = names.iter().map(|n| n.1).sum();
        if !names.is_empty() && bound != result_types.len() {
            return Err(self.error_at(
                start,
                format!("operation defines {} results but was provided {bound} to bind", result_types.len()),
            ));
        }
        let mut child = child;
        if let Some(c) = child.as_mut() {
            c.set_roots(&state.regions);
        }
        let new = NewOp {
            kind,
            operands: state.operands,
            result_types,
            attrs: self.ctx.dict_attr(state.attrs),
            regions: if child.is_some() { SmallVec::new() } else { state.regions },
            child,
            loc: state.loc,
        };
        let op = body.create_op(new);
        body.append_op(block, op);
        let mut results = body.results(op).iter().copied();
        for (name, count, tok) in names {
            let values: SmallVec<[Value; 1]> = results.by_ref().take(count).collect();
            self.define(name, values, tok)?;
        }
        Ok(())
    }

    fn resolve_result_types(
        &self,
        body: &Body,
        def: &OpDef,
        state: &OperationState,
        at: Token,
    ) -> PResult<SmallVec<[Type; 1]>> {
        if let Some(types) = &state.result_types {
            return Ok(types.clone());
        }
        let mut out = SmallVec::new();
        for (i, spec) in def.results.iter().enumerate() {
            if let Some(types) = &state.result_group_types[i] {
                out.extend(types.iter().copied());
                continue;
            }
            if spec.variadic {
                continue;
            }
            let inferred = match spec.ty {
                TypeConstraint::Exactly(t) => Some(t),
                TypeConstraint::SameAs(other) => {
                    let from_operand = def.operands.iter().position(|s| s.name == other).and_then(|pos| {
                        let groups = group_ranges(def.operands, state.operands.len())?;
                        state.operands.get(groups[pos].start).map(|&v| body.value_type(v))
                    });
                    from_operand.or_else(|| {
                        let key = self.ctx.ident(other);
                        state.attrs.iter().find(|(k, _)| *k == key).and_then(|&(_, a)| self.ctx.attr_type(a))
                    })
                }
                _ => None,
            };
            match inferred {
                Some(t) => out.push(t),
                None => {
                    return Err(self.error_at(
                        at,
                        format!("cannot infer the type of result `{}` of `{}`", spec.name, def.name),
                    ));
                }
            }
        }
        Ok(out)
    }

    fn parse_loc(&mut self) -> PResult<Location> {
        self.advance(); // `loc`
        self.expect(TokKind::LParen, "`(` after `loc`")?;
        if self.is_keyword("unknown") {
            self.advance();
            self.expect(TokKind::RParen, "`)`")?;
            return Ok(Location::Unknown);
        }
        let name_tok = self.expect(TokKind::String, "a file name string")?;
        let name =
            unescape(self.text(name_tok)).ok_or_else(|| self.error_at(name_tok, "malformed string"))?;
        self.expect(TokKind::Colon, "`:`")?;
        let line = self.parse_u32("a line number")?;
        self.expect(TokKind::Colon, "`:`")?;
        let col = self.parse_u32("a column number")?;
        self.expect(TokKind::RParen, "`)`")?;
        Ok(Location::LineCol { file: self.ctx.ident(&name), line, col })
    }

    fn parse_u32(&mut self, what: &str) -> PResult<u32> {
        let t = self.expect(TokKind::Int, what)?;
        self.text(t).parse::<u32>().map_err(|_| self.error_at(t, format!("{what} must fit in 32 bits")))
    }

    // ----- regions -----

    /// Parses `{ [^bb0(args):] ops }` into `body`. `{}` is a region without blocks. Regions
    /// nest as deep as `max_nesting` allows, on whatever thread parses: the stack grows on the
    /// heap when it runs low.
    fn parse_region(&mut self, body: &mut Body, entry_args: Option<&[ArgDecl<'a>]>) -> PResult<Region> {
        stacker::maybe_grow(crate::STACK_RED_ZONE, crate::STACK_SEGMENT, || {
            self.parse_region_unguarded(body, entry_args)
        })
    }

    fn parse_region_unguarded(
        &mut self,
        body: &mut Body,
        entry_args: Option<&[ArgDecl<'a>]>,
    ) -> PResult<Region> {
        let open = self.expect(TokKind::LBrace, "`{` starting a region")?;
        self.enter(open)?;
        let region = body.create_region();
        self.scopes.push(Scope::default());
        let result = self.parse_region_contents(body, region, entry_args, open);
        self.scopes.pop();
        self.leave();
        result.map(|()| region)
    }

    fn parse_region_contents(
        &mut self,
        body: &mut Body,
        region: Region,
        entry_args: Option<&[ArgDecl<'a>]>,
        open: Token,
    ) -> PResult<()> {
        if self.tok.kind == TokKind::RBrace && entry_args.is_none() {
            self.advance();
            return Ok(());
        }
        let block = body.create_block(&[]);
        body.append_block(region, block);
        if let Some(args) = entry_args {
            for a in args {
                let v = body.add_block_arg(block, a.ty);
                let tok = match a.loc {
                    Location::Span { start, end, .. } => Token { kind: TokKind::ValueId, start, end },
                    _ => open,
                };
                self.define(a.name, smallvec::smallvec![v], tok)?;
            }
        }
        if self.tok.kind == TokKind::CaretId {
            if entry_args.is_some() {
                return Err(self.error_at(self.tok, "this region's arguments are already declared by the op"));
            }
            self.advance();
            if self.eat(TokKind::LParen) && !self.eat(TokKind::RParen) {
                loop {
                    let decl = self.parse_arg_decl()?;
                    let v = body.add_block_arg(block, decl.ty);
                    let tok = match decl.loc {
                        Location::Span { start, end, .. } => Token { kind: TokKind::ValueId, start, end },
                        _ => open,
                    };
                    self.define(decl.name, smallvec::smallvec![v], tok)?;
                    if self.eat(TokKind::RParen) {
                        break;
                    }
                    self.expect(TokKind::Comma, "`,` or `)` in the block arguments")?;
                }
            }
            self.expect(TokKind::Colon, "`:` after the block label")?;
        }
        loop {
            match self.tok.kind {
                TokKind::RBrace => {
                    self.advance();
                    return Ok(());
                }
                TokKind::CaretId => {
                    return Err(self.error_at(
                        self.tok,
                        "a region holds a single block: WasmIR control flow is structured (see specs/core.md)",
                    ));
                }
                TokKind::Eof => {
                    return Err(self
                        .expected("`}` closing the region")
                        .with_note(self.loc_of(open), "the region starts here"));
                }
                _ => self.parse_op(body, block)?,
            }
        }
    }

    fn parse_arg_decl(&mut self) -> PResult<ArgDecl<'a>> {
        let t = self.expect(TokKind::ValueId, "an argument name like `%arg0`")?;
        let name = self.text(t);
        if name.contains('#') {
            return Err(self.error_at(t, "an argument name cannot have a `#N` suffix"));
        }
        self.expect(TokKind::Colon, "`:` and the argument type")?;
        let ty = self.parse_type()?;
        Ok(ArgDecl { name, ty, loc: self.loc_of(t) })
    }

    // ----- types -----

    /// Parses a type (nested types grow the stack on the heap when it runs low).
    pub fn parse_type(&mut self) -> PResult<Type> {
        stacker::maybe_grow(crate::STACK_RED_ZONE, crate::STACK_SEGMENT, || self.parse_type_unguarded())
    }

    fn parse_type_unguarded(&mut self) -> PResult<Type> {
        let t = self.tok;
        match t.kind {
            TokKind::BareId => {
                let text = self.text(t);
                match builtin_type(self.ctx, text) {
                    Some(ty) => {
                        self.advance();
                        Ok(ty)
                    }
                    None => Err(self.error_at(t, format!("unknown type `{text}`"))),
                }
            }
            TokKind::LParen => {
                self.enter(t)?;
                let r = self.parse_function_type();
                self.leave();
                r
            }
            TokKind::ExclId => {
                self.advance();
                let name = &self.text(t)[1..];
                let Some(def) = self.ctx.registry().lookup_type(name) else {
                    return Err(self.error_at(t, format!("unknown type `!{name}`")));
                };
                let params = self.parse_optional_params()?;
                if let Some(verify) = def.verify
                    && let Err(msg) = verify(self.ctx, &params)
                {
                    return Err(self.error_at(t, format!("invalid `!{name}`: {msg}")));
                }
                Ok(self.ctx.dialect_type(name, params))
            }
            _ => Err(self.expected("a type")),
        }
    }

    fn parse_function_type(&mut self) -> PResult<Type> {
        let inputs = self.parse_paren_type_list()?;
        self.expect(TokKind::Arrow, "`->` in a function type")?;
        let results = self.parse_result_types()?;
        Ok(self.ctx.function_type(&inputs, &results))
    }

    fn parse_paren_type_list(&mut self) -> PResult<Vec<Type>> {
        self.expect(TokKind::LParen, "`(`")?;
        let mut types = Vec::new();
        if self.eat(TokKind::RParen) {
            return Ok(types);
        }
        loop {
            types.push(self.parse_type()?);
            if self.eat(TokKind::RParen) {
                return Ok(types);
            }
            self.expect(TokKind::Comma, "`,` or `)` in a type list")?;
        }
    }

    /// Result types after `->`: a single type, or a parenthesized list.
    fn parse_result_types(&mut self) -> PResult<Vec<Type>> {
        if self.tok.kind == TokKind::LParen {
            // `(T) -> U` is a function type; `(T, U)` is a list.
            let save_lexer = self.lexer.clone();
            let save_tok = self.tok;
            self.enter(save_tok)?;
            let list = self.parse_paren_type_list();
            self.leave();
            let list = list?;
            if self.tok.kind == TokKind::Arrow {
                self.lexer = save_lexer;
                self.tok = save_tok;
                return Ok(vec![self.parse_type()?]);
            }
            return Ok(list);
        }
        Ok(vec![self.parse_type()?])
    }

    fn parse_optional_params(&mut self) -> PResult<Vec<Param>> {
        let mut params = Vec::new();
        let open = self.tok;
        if !self.eat(TokKind::Less) {
            return Ok(params);
        }
        self.enter(open)?;
        loop {
            let t = self.tok;
            let param = match t.kind {
                TokKind::BareId if builtin_type(self.ctx, self.text(t)).is_some() => {
                    Param::Type(self.parse_type()?)
                }
                TokKind::BareId if !matches!(self.text(t), "true" | "false" | "unit") => {
                    self.advance();
                    Param::Keyword(self.ctx.ident(self.text(t)))
                }
                TokKind::ExclId | TokKind::LParen => Param::Type(self.parse_type()?),
                _ => Param::Attr(self.parse_attr()?),
            };
            params.push(param);
            if self.eat(TokKind::Greater) {
                break;
            }
            self.expect(TokKind::Comma, "`,` or `>` in a parameter list")?;
        }
        self.leave();
        Ok(params)
    }

    // ----- attributes -----

    /// Parses an attribute value (nested ones grow the stack on the heap when it runs low).
    pub fn parse_attr(&mut self) -> PResult<Attr> {
        stacker::maybe_grow(crate::STACK_RED_ZONE, crate::STACK_SEGMENT, || self.parse_attr_unguarded())
    }

    fn parse_attr_unguarded(&mut self) -> PResult<Attr> {
        let t = self.tok;
        let ctx = self.ctx;
        match t.kind {
            TokKind::Int | TokKind::Float => {
                self.advance();
                let ty = if self.eat(TokKind::Colon) {
                    self.parse_type()?
                } else if t.kind == TokKind::Float {
                    Type::F64
                } else {
                    Type::I64
                };
                self.number_attr(t, ty)
            }
            TokKind::String => {
                self.advance();
                let bytes = unescape_bytes(self.text(t))
                    .ok_or_else(|| self.error_at(t, "malformed string literal"))?;
                Ok(match String::from_utf8(bytes) {
                    Ok(s) => ctx.intern_attr(AttrData::String(s.into())),
                    Err(e) => ctx.intern_attr(AttrData::Bytes(e.into_bytes().into())),
                })
            }
            TokKind::SymbolId => {
                let mut path = vec![self.symbol_text(t)?];
                self.advance();
                while self.eat(TokKind::DoubleColon) {
                    let s = self.expect(TokKind::SymbolId, "a nested symbol `@name`")?;
                    path.push(self.symbol_text(s)?);
                }
                let ids: Vec<_> = path.iter().map(|p| ctx.ident(p)).collect();
                Ok(ctx.intern_attr(AttrData::SymbolRef(ids.into())))
            }
            TokKind::LSquare => {
                self.advance();
                self.enter(t)?;
                let mut items = Vec::new();
                if !self.eat(TokKind::RSquare) {
                    loop {
                        items.push(self.parse_attr()?);
                        if self.eat(TokKind::RSquare) {
                            break;
                        }
                        self.expect(TokKind::Comma, "`,` or `]` in an array")?;
                    }
                }
                self.leave();
                Ok(ctx.array_attr(items))
            }
            TokKind::LBrace => {
                self.enter(t)?;
                let entries = self.parse_attr_dict()?;
                self.leave();
                Ok(ctx.dict_attr(entries))
            }
            TokKind::HashId => {
                self.advance();
                let name = &self.text(t)[1..];
                let Some(def) = ctx.registry().lookup_attr(name) else {
                    return Err(self.error_at(t, format!("unknown attribute `#{name}`")));
                };
                let params = self.parse_optional_params()?;
                if let Some(verify) = def.verify
                    && let Err(msg) = verify(ctx, &params)
                {
                    return Err(self.error_at(t, format!("invalid `#{name}`: {msg}")));
                }
                let name = ctx.ident(name);
                Ok(ctx.intern_attr(AttrData::Dialect { name, params: params.into() }))
            }
            TokKind::BareId => match self.text(t) {
                "true" => {
                    self.advance();
                    Ok(Attr::TRUE)
                }
                "false" => {
                    self.advance();
                    Ok(Attr::FALSE)
                }
                "unit" => {
                    self.advance();
                    Ok(Attr::UNIT)
                }
                _ => Ok(ctx.type_attr(self.parse_type()?)),
            },
            TokKind::LParen | TokKind::ExclId => Ok(ctx.type_attr(self.parse_type()?)),
            _ => Err(self.expected("an attribute value")),
        }
    }

    fn symbol_text(&self, t: Token) -> PResult<String> {
        let text = &self.text(t)[1..];
        if text.starts_with('"') {
            unescape(text).ok_or_else(|| self.error_at(t, "malformed symbol name"))
        } else {
            Ok(text.to_string())
        }
    }

    fn number_attr(&self, t: Token, ty: Type) -> PResult<Attr> {
        let text = self.text(t);
        let ctx = self.ctx;
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let hex = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X"));
        match ctx.type_data(ty) {
            TypeData::Int { width, signedness } => {
                if t.kind == TokKind::Float {
                    return Err(self.error_at(t, "a float literal cannot have an integer type"));
                }
                let magnitude = match hex {
                    Some(h) => u128::from_str_radix(h, 16),
                    None => digits.parse::<u128>(),
                }
                .map_err(|_| self.error_at(t, "integer literal is too large"))?;
                let width = u32::from(*width);
                let max_unsigned: u128 =
                    if width >= 64 { u128::from(u64::MAX) } else { (1u128 << width) - 1 };
                let min_signed: u128 = if width == 0 { 0 } else { 1u128 << (width - 1) };
                let fits = if negative {
                    *signedness == Signedness::Signless && magnitude <= min_signed
                } else {
                    magnitude <= max_unsigned
                };
                if !fits {
                    return Err(self.error_at(
                        t,
                        format!(
                            "integer literal `{text}` does not fit in `{}`",
                            crate::printer::type_to_string(ctx, ty)
                        ),
                    ));
                }
                let bits = if negative { (magnitude as u64).wrapping_neg() } else { magnitude as u64 };
                Ok(ctx.int_attr(bits as i64, ty))
            }
            TypeData::Float(kind) => {
                let bits = if let (Some(h), false) = (hex, negative) {
                    let bits = u64::from_str_radix(h, 16)
                        .map_err(|_| self.error_at(t, "hex float bits are too large"))?;
                    if *kind == crate::FloatKind::F32 && bits > u64::from(u32::MAX) {
                        return Err(self.error_at(t, "hex bits of an f32 must fit in 32 bits"));
                    }
                    bits
                } else {
                    let v: f64 = text.parse().map_err(|_| self.error_at(t, "malformed float literal"))?;
                    match kind {
                        crate::FloatKind::F32 => {
                            let f: f32 =
                                text.parse().map_err(|_| self.error_at(t, "malformed float literal"))?;
                            u64::from(f.to_bits())
                        }
                        crate::FloatKind::F64 => v.to_bits(),
                    }
                };
                Ok(ctx.intern_attr(AttrData::Float { bits, ty }))
            }
            _ => Err(self.error_at(t, "a number needs an integer or float type")),
        }
    }

    /// Parses `{ name = value, unitname, "quoted" = value }`.
    fn parse_attr_dict(&mut self) -> PResult<Vec<(crate::Ident, Attr)>> {
        self.expect(TokKind::LBrace, "`{`")?;
        let mut entries = Vec::new();
        if self.eat(TokKind::RBrace) {
            return Ok(entries);
        }
        loop {
            let key_tok = self.tok;
            let key = match key_tok.kind {
                TokKind::BareId => self.text(key_tok).to_string(),
                TokKind::String => {
                    unescape(self.text(key_tok)).ok_or_else(|| self.error_at(key_tok, "malformed string"))?
                }
                _ => return Err(self.expected("an attribute name")),
            };
            self.advance();
            let key = self.ctx.ident(&key);
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(
                    self.error_at(key_tok, format!("duplicate attribute `{}`", self.ctx.ident_str(key)))
                );
            }
            let value = if self.eat(TokKind::Equal) { self.parse_attr()? } else { Attr::UNIT };
            entries.push((key, value));
            if self.eat(TokKind::RBrace) {
                return Ok(entries);
            }
            self.expect(TokKind::Comma, "`,` or `}` in an attribute dictionary")?;
        }
    }
}

/// The builtin type spelled `text`, if it is one.
pub fn builtin_type(ctx: &Context, text: &str) -> Option<Type> {
    let fixed = match text {
        "none" => Some(Type::NONE),
        "i32" => Some(Type::I32),
        "i64" => Some(Type::I64),
        "f32" => Some(Type::F32),
        "f64" => Some(Type::F64),
        "i1" => Some(Type::I1),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let (signedness, digits) = if let Some(d) = text.strip_prefix("ui") {
        (Signedness::Unsigned, d)
    } else if let Some(d) = text.strip_prefix('u') {
        (Signedness::Unsigned, d)
    } else if let Some(d) = text.strip_prefix('i') {
        (Signedness::Signless, d)
    } else {
        return None;
    };
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let width: u8 = digits.parse().ok().filter(|&w| (1..=64).contains(&w))?;
    Some(ctx.int_type(width, signedness))
}

/// Parses ops in the custom or generic form on behalf of one op: the interface custom
/// parse hooks use. Regions parse into the op's own child body when it is isolated.
pub struct OpParser<'p, 'a> {
    p: &'p mut Parser<'a>,
    body: &'p mut Body,
    child: Option<Body>,
    def: &'static OpDef,
}

impl std::fmt::Debug for OpParser<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpParser({})", self.def.name)
    }
}

impl<'a> OpParser<'_, 'a> {
    /// The context.
    pub fn ctx(&self) -> &'a Context {
        self.p.ctx
    }
    /// An error at the current token.
    pub fn error_here(&self, msg: impl Into<String>) -> Diagnostic {
        self.p.error_at(self.p.tok, msg)
    }
    /// An "expected X, found Y" error at the current token.
    pub fn expected(&self, what: &str) -> Diagnostic {
        self.p.expected(what)
    }
    /// The location of the current token.
    pub fn here(&self) -> Location {
        self.p.here()
    }
    /// The kind of the current token.
    pub fn peek(&self) -> TokKind {
        self.p.tok.kind
    }
    /// Consumes a token of `kind` or fails with "expected `what`".
    pub fn expect(&mut self, kind: TokKind, what: &str) -> PResult<()> {
        self.p.expect(kind, what).map(|_| ())
    }
    /// Consumes a token of `kind` if it is next.
    pub fn eat(&mut self, kind: TokKind) -> bool {
        self.p.eat(kind)
    }
    /// Whether the next token is the keyword `kw`.
    pub fn at_keyword(&self, kw: &str) -> bool {
        self.p.is_keyword(kw)
    }
    /// Consumes the keyword `kw` if it is next.
    pub fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.p.is_keyword(kw) {
            self.p.advance();
            true
        } else {
            false
        }
    }
    /// Consumes a bare keyword and returns it.
    pub fn parse_keyword(&mut self, what: &str) -> PResult<&'a str> {
        let t = self.p.expect(TokKind::BareId, what)?;
        Ok(self.p.text(t))
    }
    /// An SSA operand in scope.
    pub fn parse_operand(&mut self) -> PResult<Value> {
        let t = self.p.expect(TokKind::ValueId, "an SSA value")?;
        self.p.lookup_value(t)
    }
    /// Comma-separated operands; empty when no `%` follows.
    pub fn parse_operand_list(&mut self) -> PResult<SmallVec<[Value; 3]>> {
        let mut values = SmallVec::new();
        if self.p.tok.kind != TokKind::ValueId {
            return Ok(values);
        }
        loop {
            values.push(self.parse_operand()?);
            if !self.p.eat(TokKind::Comma) {
                return Ok(values);
            }
        }
    }
    /// The type of a value of the body being parsed.
    pub fn value_type(&self, v: Value) -> Type {
        self.body.value_type(v)
    }
    /// A type.
    pub fn parse_type(&mut self) -> PResult<Type> {
        self.p.parse_type()
    }
    /// Comma-separated types (at least one).
    pub fn parse_type_list(&mut self) -> PResult<SmallVec<[Type; 1]>> {
        let mut types = SmallVec::new();
        loop {
            types.push(self.p.parse_type()?);
            if !self.p.eat(TokKind::Comma) {
                return Ok(types);
            }
        }
    }
    /// `(T, ...)`, possibly empty.
    pub fn parse_paren_type_list(&mut self) -> PResult<Vec<Type>> {
        self.p.parse_paren_type_list()
    }
    /// Result types after `->`: one type, or a parenthesized list.
    pub fn parse_result_types(&mut self) -> PResult<Vec<Type>> {
        self.p.parse_result_types()
    }
    /// An attribute value.
    pub fn parse_attr(&mut self) -> PResult<Attr> {
        self.p.parse_attr()
    }
    /// A bare integer literal (no `: type`), such as a branch depth.
    pub fn parse_integer(&mut self, what: &str) -> PResult<i64> {
        let t = self.p.expect(TokKind::Int, what)?;
        let text = self.p.text(t);
        let value = match text.strip_prefix("0x") {
            Some(hex) => i64::from_str_radix(hex, 16).ok(),
            None => text.parse::<i64>().ok(),
        };
        value.ok_or_else(|| self.p.error_at(t, format!("{what} is out of range")))
    }
    /// `@name`, returned without the `@`.
    pub fn parse_symbol_name(&mut self) -> PResult<String> {
        let t = self.p.expect(TokKind::SymbolId, "a symbol name like `@f`")?;
        self.p.symbol_text(t)
    }
    /// An optional `{...}` attribute dictionary, added to `state`.
    pub fn parse_optional_attr_dict(&mut self, state: &mut OperationState) -> PResult<()> {
        if self.p.tok.kind == TokKind::LBrace {
            self.add_attrs(state)?;
        }
        Ok(())
    }
    /// An optional `attributes {...}`, added to `state`.
    pub fn parse_optional_attr_dict_with_keyword(&mut self, state: &mut OperationState) -> PResult<()> {
        if self.eat_keyword("attributes") {
            self.add_attrs(state)?;
        }
        Ok(())
    }
    fn add_attrs(&mut self, state: &mut OperationState) -> PResult<()> {
        let at = self.p.tok;
        for (k, v) in self.p.parse_attr_dict()? {
            if state.attrs.iter().any(|(x, _)| *x == k) {
                return Err(self
                    .p
                    .error_at(at, format!("attribute `{}` is given twice", self.ctx().ident_str(k))));
            }
            state.attrs.push((k, v));
        }
        Ok(())
    }
    /// `%name: type`.
    pub fn parse_arg_decl(&mut self) -> PResult<ArgDecl<'a>> {
        self.p.parse_arg_decl()
    }
    /// A region whose single block takes `args` (declared by the op's syntax).
    pub fn parse_region(&mut self, args: Option<&[ArgDecl<'a>]>) -> PResult<Region> {
        match self.child.as_mut() {
            Some(child) => {
                // An isolated op's regions see none of the enclosing names.
                let saved = std::mem::replace(&mut self.p.scopes, vec![Scope::default()]);
                let r = self.p.parse_region(child, args);
                self.p.scopes = saved;
                r
            }
            None => self.p.parse_region(self.body, args),
        }
    }
    /// A region without blocks (a function declaration's body).
    pub fn empty_region(&mut self) -> Region {
        match self.child.as_mut() {
            Some(child) => child.create_region(),
            None => self.body.create_region(),
        }
    }
    /// Adds one empty block to `region` if it has none (ops whose body always exists).
    pub fn ensure_block(&mut self, region: Region) {
        let body = match self.child.as_mut() {
            Some(child) => child,
            None => &mut *self.body,
        };
        if body.region_blocks(region).is_empty() {
            let block = body.create_block(&[]);
            body.append_block(region, block);
        }
    }

    // ----- the generic form -----

    fn parse_generic(&mut self, state: &mut OperationState) -> PResult<()> {
        self.expect(TokKind::LParen, "`(` starting the operand list")?;
        let operands = self.parse_operand_list()?;
        let operand_toks_end = self.p.tok;
        self.expect(TokKind::RParen, "`)` closing the operand list")?;
        state.operands = operands;
        if self.p.tok.kind == TokKind::LParen {
            self.p.advance();
            loop {
                let r = self.parse_region(None)?;
                state.regions.push(r);
                if self.eat(TokKind::RParen) {
                    break;
                }
                self.expect(TokKind::Comma, "`,` or `)` in the region list")?;
            }
        }
        self.parse_optional_attr_dict(state)?;
        self.expect(TokKind::Colon, "`:` and the op's function type")?;
        let ty_tok = self.p.tok;
        let ty = self.p.parse_type()?;
        let Some((inputs, results)) = self.ctx().function_signature(ty) else {
            return Err(self
                .p
                .error_at(ty_tok, "the generic form needs a function type `(operands) -> results`"));
        };
        if inputs.len() != state.operands.len() {
            return Err(self.p.error_at(
                operand_toks_end,
                format!("{} operands are given but the type lists {}", state.operands.len(), inputs.len()),
            ));
        }
        for (i, (&v, &t)) in state.operands.iter().zip(inputs).enumerate() {
            let actual = self.body.value_type(v);
            if actual != t {
                return Err(self.p.error_at(
                    ty_tok,
                    format!(
                        "operand #{i} has type `{}` but the function type says `{}`",
                        crate::printer::type_to_string(self.ctx(), actual),
                        crate::printer::type_to_string(self.ctx(), t)
                    ),
                ));
            }
        }
        state.result_types = Some(results.iter().copied().collect());
        Ok(())
    }

    // ----- declarative formats -----

    fn parse_format(&mut self, fmt: &[Fmt], state: &mut OperationState) -> PResult<()> {
        let def = self.def;
        let mut operand_groups: SmallVec<[Option<SmallVec<[Value; 3]>>; 3]> =
            smallvec::smallvec![None; def.operands.len()];
        for element in fmt {
            match *element {
                Fmt::Operands(name) => {
                    let i = spec_index(def.operands.iter().map(|s| s.name), name)?;
                    let values = if def.operands[i].variadic {
                        self.parse_operand_list()?
                    } else {
                        smallvec::smallvec![self.parse_operand()?]
                    };
                    operand_groups[i] = Some(values);
                }
                Fmt::Attr(name) => {
                    let spec = def.attr_spec(name).ok_or_else(|| format_bug(def, name))?;
                    let value = match spec.kind {
                        AttrConstraint::Enum(keys) => {
                            let t = self.p.tok;
                            let word = self.parse_keyword(&format!("one of {}", keys.join(", ")))?;
                            if !keys.contains(&word) {
                                return Err(self.p.error_at(
                                    t,
                                    format!("expected one of {}, found `{word}`", keys.join(", ")),
                                ));
                            }
                            self.ctx().string_attr(word)
                        }
                        _ => self.p.parse_attr()?,
                    };
                    state.add_attr(self.ctx(), name, value);
                }
                Fmt::Lit(text) => {
                    let t = self.p.tok;
                    if self.p.text(t) != text || t.kind == TokKind::String {
                        return Err(self.expected(&format!("`{text}`")));
                    }
                    self.p.advance();
                }
                Fmt::AttrDict => self.parse_optional_attr_dict(state)?,
                Fmt::Type(name) => {
                    // A single value's type is one type, so `: T1, T2` can name two groups.
                    let single =
                        def.operands.iter().chain(def.results).any(|s| s.name == name && !s.variadic);
                    let types = if single {
                        smallvec::smallvec![self.parse_type()?]
                    } else {
                        self.parse_type_list()?
                    };
                    self.apply_types(name, &types, &operand_groups, state)?;
                }
                Fmt::OptionalTypes(name) => {
                    let has_values = def
                        .operands
                        .iter()
                        .position(|s| s.name == name)
                        .and_then(|i| operand_groups[i].as_ref())
                        .is_some_and(|g| !g.is_empty());
                    if has_values {
                        self.expect(TokKind::Colon, "`:` and the operand types")?;
                        let types = self.parse_type_list()?;
                        self.apply_types(name, &types, &operand_groups, state)?;
                    }
                }
                Fmt::FunctionalType => {
                    let inputs = self.parse_paren_type_list()?;
                    self.expect(TokKind::Arrow, "`->`")?;
                    let results = self.parse_result_types()?;
                    let all: SmallVec<[Value; 3]> =
                        operand_groups.iter().flatten().flatten().copied().collect();
                    self.check_operand_types(&all, &inputs)?;
                    state.result_types = Some(results.into_iter().collect());
                }
                Fmt::Region(_) => {
                    let r = self.parse_region(None)?;
                    state.regions.push(r);
                }
            }
        }
        for (i, group) in operand_groups.into_iter().enumerate() {
            match group {
                Some(values) => state.operands.extend(values),
                None if def.operands[i].variadic => {}
                None => return Err(format_bug(def, def.operands[i].name)),
            }
        }
        Ok(())
    }

    fn apply_types(
        &mut self,
        name: &str,
        types: &[Type],
        operand_groups: &[Option<SmallVec<[Value; 3]>>],
        state: &mut OperationState,
    ) -> PResult<()> {
        let def = self.def;
        if let Some(i) = def.operands.iter().position(|s| s.name == name) {
            let values = operand_groups[i].clone().ok_or_else(|| format_bug(def, name))?;
            return self.check_operand_types(&values, types);
        }
        if let Some(i) = def.results.iter().position(|s| s.name == name) {
            if !def.results[i].variadic && types.len() != 1 {
                return Err(self.error_here(format!("`{}` has exactly one `{name}` result", def.name)));
            }
            state.result_group_types[i] = Some(types.iter().copied().collect());
            return Ok(());
        }
        Err(format_bug(def, name))
    }

    fn check_operand_types(&self, values: &[Value], types: &[Type]) -> PResult<()> {
        if values.len() != types.len() {
            return Err(self.error_here(format!("{} operands but {} types", values.len(), types.len())));
        }
        for (&v, &t) in values.iter().zip(types) {
            let actual = self.body.value_type(v);
            if actual != t {
                return Err(self.error_here(format!(
                    "an operand has type `{}` but the syntax says `{}`",
                    crate::printer::type_to_string(self.ctx(), actual),
                    crate::printer::type_to_string(self.ctx(), t)
                )));
            }
        }
        Ok(())
    }
}

fn spec_index<'n>(mut names: impl Iterator<Item = &'n str>, name: &str) -> PResult<usize> {
    names.position(|n| n == name).ok_or_else(|| {
        Diagnostic::error(Location::Unknown, format!("internal: format names unknown group `{name}`"))
    })
}

fn format_bug(def: &OpDef, name: &str) -> Diagnostic {
    Diagnostic::error(
        Location::Unknown,
        format!("internal: the format of `{}` does not bind `{name}`", def.name),
    )
}

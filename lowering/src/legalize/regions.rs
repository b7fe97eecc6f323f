//! `lower-memory`: typed regions and `memory.check` to core Wasm. A region value becomes one
//! `i64` (pointer in the low 32 bits, length in elements in the high 32 bits) wherever it
//! flows; checks become a compare and a branch to the panic handler and a trap; element
//! accesses become address arithmetic and `memory.load`/`memory.store`; copies and fills
//! become `memory.copy`/`memory.fill`, or loops without bulk memory; `Local` frames live on
//! the memory's shadow stack.

use super::{Emit, Target, convert_types, functions};
use crate::legalize::Capabilities;
use wasmir_dialects::memory::{self, MemoryDecl, RegionType, memory_decls};
use wasmir_ir::{Body, Builder, Context, Diagnostic, FxHashMap, Module, Op, Traits, Type, Value};

/// The ops `lower-memory` rewrites.
pub(crate) const REGION_OPS: &[&str] = &[
    "memory.make_slice",
    "memory.local_alloc",
    "memory.len",
    "memory.ptr",
    "memory.subslice",
    "memory.elem_load",
    "memory.elem_store",
    "memory.check",
    "memory.region_copy",
    "memory.region_fill",
];

/// The pass body: every region op of every function, then every region type.
pub(crate) fn lower_memory(ctx: &Context, module: &mut Module, target: &Target) -> Vec<Diagnostic> {
    let memories = memory_decls(ctx, module);
    let mut errors = Vec::new();
    for func in functions(ctx, module) {
        let Some(body) = module.body_mut().child_mut(func) else { continue };
        if let Err(e) = lower_function(ctx, body, &memories, target) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        convert_types(ctx, module, &|ty| memory::region_type(ctx, ty).map(|_| Type::I64));
    }
    errors
}

struct FunctionLowering<'a> {
    ctx: &'a Context,
    memories: &'a FxHashMap<String, MemoryDecl>,
    bulk_memory: bool,
}

fn lower_function(
    ctx: &Context,
    body: &mut Body,
    memories: &FxHashMap<String, MemoryDecl>,
    target: &Target,
) -> Result<(), Diagnostic> {
    let lowering = FunctionLowering { ctx, memories, bulk_memory: target.has(Capabilities::BULK_MEMORY) };
    let ops: Vec<Op> = body
        .preorder()
        .into_iter()
        .filter(|&op| REGION_OPS.contains(&ctx.op_def(body.op_kind(op)).name))
        .collect();
    if ops.is_empty() {
        return Ok(());
    }
    // Users before definitions: each op still sees its operands' region types (the arithmetic
    // built on them gets its `i64` type when the types are converted at the end).
    for &op in ops.iter().rev() {
        if ctx.op_def(body.op_kind(op)).name != "memory.local_alloc" {
            lowering.lower_op(body, op)?;
        }
    }
    lowering.lower_frames(body, &ops)
}

impl FunctionLowering<'_> {
    fn region(&self, body: &Body, v: Value) -> Result<(RegionType, &MemoryDecl), Diagnostic> {
        let ty = body.value_type(v);
        let region = memory::region_type(self.ctx, ty)
            .ok_or_else(|| Diagnostic::error(wasmir_ir::Location::Unknown, "lower-memory: not a region"))?;
        let facts = self.memories.get(&region.memory).ok_or_else(|| {
            Diagnostic::error(
                wasmir_ir::Location::Unknown,
                format!("lower-memory: no memory `@{}`", region.memory),
            )
        })?;
        Ok((region, facts))
    }

    fn elem_size(&self, region: &RegionType) -> u32 {
        memory::layout(self.ctx, region.elem).map_or(1, |(size, _)| size)
    }

    /// Lowers one op in place: builds its replacement before it and erases it.
    fn lower_op(&self, body: &mut Body, op: Op) -> Result<(), Diagnostic> {
        let ctx = self.ctx;
        let name = ctx.op_def(body.op_kind(op)).name;
        let loc = body.op_loc(op);
        let operands = body.operands(op).to_vec();
        let attrs = body.op_attrs(op);
        let attr_int = |n: &str| ctx.dict_get(attrs, n).and_then(|a| ctx.attr_as_int(a));
        let subject = if name == "memory.make_slice" { body.results(op)[0] } else { operands[0] };
        let address_form = name == "memory.check" && operands.len() == 1;
        let (region, facts) = if address_form {
            let mem = ctx.dict_get(attrs, "memory").and_then(|a| ctx.attr_as_symbol(a)).unwrap_or_default();
            let facts = self
                .memories
                .get(mem)
                .ok_or_else(|| Diagnostic::error(loc, format!("no memory `@{mem}`")))?;
            (None, facts)
        } else {
            let (r, f) = self.region(body, subject)?;
            (Some(r), f)
        };
        let memory_name = region
            .as_ref()
            .map(|r| r.memory.clone())
            .or_else(|| ctx.dict_get(attrs, "memory").and_then(|a| ctx.attr_as_symbol(a)).map(str::to_string))
            .unwrap_or_default();
        let size = region.as_ref().map_or(1, |r| self.elem_size(r));
        let mut e = Emit { b: Builder::before(ctx, body, op), handler: facts.panic_handler.as_deref() };
        e.b.loc = loc;
        let mem_attr = ctx.symbol_ref_attr(&memory_name);
        let results: Vec<Value> = match name {
            "memory.make_slice" => {
                let (ptr, len) = (operands[0], operands[1]);
                let ptr64 = e.zext(ptr);
                let len64 = e.zext(len);
                let size64 = e.i64(i64::from(size));
                let bytes = e.bin("muli", len64, size64);
                let end = e.bin("addi", ptr64, bytes);
                let memory_bytes = memory_bytes(&mut e, mem_attr, facts.address_type);
                let outside = e.cmp("ugt", end, memory_bytes);
                e.fail_if(outside);
                vec![pack(&mut e, ptr, len)]
            }
            "memory.len" => vec![region_len(&mut e, operands[0])],
            "memory.ptr" => vec![e.wrap(operands[0])],
            "memory.subslice" => {
                let (start, count) = (operands[1], operands[2]);
                let len = region_len(&mut e, operands[0]);
                let past_end = e.cmp("ugt", start, len);
                let room = e.bin("subi", len, start);
                let too_long = e.cmp("ugt", count, room);
                let bad = e.bin("ori", past_end, too_long);
                e.fail_if(bad);
                let ptr = e.wrap(operands[0]);
                let size32 = e.i32(size as i32);
                let skip = e.bin("muli", start, size32);
                let new_ptr = e.bin("addi", ptr, skip);
                vec![pack(&mut e, new_ptr, count)]
            }
            "memory.check" if address_form => {
                let k = (attr_int("offset").unwrap_or(0) as u64)
                    .saturating_add(attr_int("size").unwrap_or(0) as u64);
                let address = operands[0];
                if facts.address_type == Type::I32 && k > 1 << 33 {
                    // Past any 32-bit memory whatever the address: the check always fails.
                    let always = e.i32(1);
                    e.fail_if(always);
                } else if facts.address_type == Type::I32 {
                    let address64 = e.zext(address);
                    let k64 = e.i64(k as i64);
                    let end = e.bin("addi", address64, k64);
                    let memory_bytes = memory_bytes(&mut e, mem_attr, facts.address_type);
                    let outside = e.cmp("ugt", end, memory_bytes);
                    e.fail_if(outside);
                } else {
                    let memory_bytes = memory_bytes(&mut e, mem_attr, facts.address_type);
                    let k64 = e.i64(k as i64);
                    let too_small = e.cmp("ugt", k64, memory_bytes);
                    let room = e.bin("subi", memory_bytes, k64);
                    let past = e.cmp("ugt", address, room);
                    let outside = e.bin("ori", too_small, past);
                    e.fail_if(outside);
                }
                vec![]
            }
            "memory.check" => {
                index_check(&mut e, operands[0], operands[1]);
                vec![]
            }
            "memory.elem_load" | "memory.elem_store" => {
                let region = region.expect("a region op");
                let path = memory::path_of(wasmir_ir::OpRef::new(ctx, e.b.body, op)).unwrap_or_default();
                let (scalar, field_offset) = memory::project(ctx, region.elem, &path)
                    .map_err(|m| Diagnostic::error(loc, format!("'{name}' op {m}")))?;
                let vector = wasmir_dialects::simd::is_v128(ctx, scalar);
                let (value_type, bits) = match memory::scalar_access(scalar) {
                    Some(access) => access,
                    None if vector => (scalar, 128),
                    None => return Err(Diagnostic::error(loc, format!("'{name}' op accesses a non-scalar"))),
                };
                if ctx.dict_get(attrs, "unchecked").is_none() {
                    index_check(&mut e, operands[0], operands[1]);
                }
                let address = element_address(&mut e, operands[0], operands[1], size);
                let mut access = vec![("memory", mem_attr)];
                if field_offset != 0 {
                    access.push(("offset", ctx.int_attr(i64::from(field_offset), Type::U64)));
                }
                // A v128 element (SharedSlice<v128> and the like) is one vector access.
                let (load, store) =
                    if vector { ("simd.load", "simd.store") } else { ("memory.load", "memory.store") };
                if bits < 32 || (bits == 32 && value_type == Type::I64) {
                    access.push(("width", ctx.int_attr(i64::from(bits), Type::U32)));
                }
                if name == "memory.elem_load" {
                    if let Some(sign) = ctx.dict_get(attrs, "sign") {
                        access.push(("sign", sign));
                    }
                    vec![e.b.op1(load, &[address], value_type, &access)]
                } else {
                    e.b.op(store, &[address, operands[2]], &[], &access);
                    vec![]
                }
            }
            "memory.region_copy" => {
                let (dest, source) = (operands[0], operands[1]);
                let (src_region, _) = self.region(e.b.body, source)?;
                let dest_len = region_len(&mut e, dest);
                let source_len = region_len(&mut e, source);
                let differ = e.cmp("ne", dest_len, source_len);
                e.fail_if(differ);
                let size32 = e.i32(size as i32);
                let bytes = e.bin("muli", dest_len, size32);
                let dest_ptr = e.wrap(dest);
                let source_ptr = e.wrap(source);
                let src_attr = ctx.symbol_ref_attr(&src_region.memory);
                if self.bulk_memory {
                    e.b.op(
                        "memory.copy",
                        &[dest_ptr, source_ptr, bytes],
                        &[],
                        &[("memory", mem_attr), ("src_memory", src_attr)],
                    );
                } else {
                    // memmove byte by byte: forwards when the destination is below the
                    // source, else backwards, so overlapping bytes are read before written.
                    let forwards = e.cmp("ule", dest_ptr, source_ptr);
                    e.counted_loop(bytes, |e, i| {
                        let one = e.i32(1);
                        let last = e.bin("subi", bytes, one);
                        let back = e.bin("subi", last, i);
                        let j = wasmir_dialects::arith::select(&mut e.b, forwards, i, back);
                        let from = e.bin("addi", source_ptr, j);
                        let to = e.bin("addi", dest_ptr, j);
                        let byte = byte_access(ctx);
                        let load_attrs = [("memory", src_attr), byte[0], ("sign", ctx.string_attr("u"))];
                        let v = e.b.op1("memory.load", &[from], Type::I32, &load_attrs);
                        e.b.op("memory.store", &[to, v], &[], &[("memory", mem_attr), byte[0]]);
                    });
                }
                vec![]
            }
            "memory.region_fill" => {
                let region = region.expect("a region op");
                let (value_type, bits) = memory::scalar_access(region.elem).unwrap_or((Type::I32, 32));
                let (dest, value) = (operands[0], operands[1]);
                let len = region_len(&mut e, dest);
                let ptr = e.wrap(dest);
                if size == 1 && self.bulk_memory {
                    e.b.op("memory.fill", &[ptr, value, len], &[], &[("memory", mem_attr)]);
                } else {
                    e.counted_loop(len, |e, i| {
                        let size32 = e.i32(size as i32);
                        let offset = e.bin("muli", i, size32);
                        let address = e.bin("addi", ptr, offset);
                        let mut access = vec![("memory", mem_attr)];
                        if bits < 32 || (bits == 32 && value_type == Type::I64) {
                            access.push(("width", ctx.int_attr(i64::from(bits), Type::U32)));
                        }
                        e.b.op("memory.store", &[address, value], &[], &access);
                    });
                }
                vec![]
            }
            other => return Err(Diagnostic::error(loc, format!("lower-memory: unexpected `{other}`"))),
        };
        body.replace_op(op, &results);
        Ok(())
    }

    /// Allocates every `memory.local_alloc` of the function in one frame per memory: the
    /// stack pointer moves down at entry (with a check for room) and back before every return.
    fn lower_frames(&self, body: &mut Body, ops: &[Op]) -> Result<(), Diagnostic> {
        let ctx = self.ctx;
        let allocs: Vec<Op> = ops
            .iter()
            .copied()
            .filter(|&op| ctx.op_def(body.op_kind(op)).name == "memory.local_alloc")
            .collect();
        if allocs.is_empty() {
            return Ok(());
        }
        // The prologue goes before the first op that is not an allocation (there is always
        // one: the terminator), so it survives the allocations' removal and precedes every use.
        let entry = body.region_blocks(body.roots()[0])[0];
        let first = body
            .block_ops(entry)
            .find(|&op| ctx.op_def(body.op_kind(op)).name != "memory.local_alloc")
            .expect("an entry block ends with a terminator");
        // Frames by memory, in order of first allocation.
        let mut frames: Vec<Frame> = Vec::new();
        for &op in &allocs {
            let result = body.results(op)[0];
            let (region, _) = self.region(body, result)?;
            let count =
                ctx.dict_get(body.op_attrs(op), "count").and_then(|a| ctx.attr_as_int(a)).unwrap_or(1);
            let (size, align) = memory::layout(ctx, region.elem).unwrap_or((1, 1));
            let index = match frames.iter().position(|f| f.memory == region.memory) {
                Some(i) => i,
                None => {
                    frames.push(Frame { memory: region.memory.clone(), slots: Vec::new(), size: 0 });
                    frames.len() - 1
                }
            };
            let frame = &mut frames[index];
            let offset = frame.size.next_multiple_of(align.max(1));
            let bytes = (size as u64 * count as u64).min(u64::from(u32::MAX)) as u32;
            frame.size = offset.saturating_add(bytes);
            frame.slots.push(Slot { alloc: op, offset, count: count as u32 });
        }
        let returns: Vec<Op> = body
            .preorder()
            .into_iter()
            .filter(|&op| ctx.op_def(body.op_kind(op)).has(Traits::RETURN_LIKE))
            .collect();
        for Frame { memory: memory_name, slots, size } in frames {
            let facts = &self.memories[&memory_name];
            let sp = facts.stack_pointer.clone().unwrap_or_default();
            let sp_attr = ctx.symbol_ref_attr(&sp);
            let mem_attr = ctx.symbol_ref_attr(&memory_name);
            let frame_size = size.next_multiple_of(16);
            let mut e =
                Emit { b: Builder::before(ctx, body, first), handler: facts.panic_handler.as_deref() };
            let old_sp = e.b.op1("global.get", &[], Type::I32, &[("global", sp_attr)]);
            let frame32 = e.i32(frame_size as i32);
            let no_room = e.cmp("ult", old_sp, frame32);
            e.fail_if(no_room);
            let frame_ptr = e.bin("subi", old_sp, frame32);
            e.b.op("global.set", &[frame_ptr], &[], &[("global", sp_attr)]);
            if self.bulk_memory {
                let zero = e.i32(0);
                e.b.op("memory.fill", &[frame_ptr, zero, frame32], &[], &[("memory", mem_attr)]);
            } else {
                e.counted_loop(frame32, |e, i| {
                    let address = e.bin("addi", frame_ptr, i);
                    let zero = e.i32(0);
                    e.b.op(
                        "memory.store",
                        &[address, zero],
                        &[],
                        &[("memory", mem_attr), byte_access(ctx)[0]],
                    );
                });
            }
            for Slot { alloc: op, offset, count } in slots {
                let mut e = Emit { b: Builder::before(ctx, body, first), handler: None };
                let off = e.i32(offset as i32);
                let ptr = e.bin("addi", frame_ptr, off);
                let count = e.i32(count as i32);
                let packed = pack(&mut e, ptr, count);
                let result = body.results(op)[0];
                body.replace_all_uses(result, packed);
                body.erase_op(op);
            }
            for &ret in &returns {
                let mut b = Builder::before(ctx, body, ret);
                b.op("global.set", &[old_sp], &[], &[("global", sp_attr)]);
            }
        }
        Ok(())
    }
}

/// One function's frame in one memory.
struct Frame {
    memory: String,
    slots: Vec<Slot>,
    /// Bytes, before rounding to 16.
    size: u32,
}

/// A `memory.local_alloc` and where its region starts in the frame.
struct Slot {
    alloc: Op,
    offset: u32,
    count: u32,
}

fn byte_access(ctx: &Context) -> [(&'static str, wasmir_ir::Attr); 1] {
    [("width", ctx.int_attr(8, Type::U32))]
}

/// `ptr | len << 32`, the lowered form of a region.
fn pack(e: &mut Emit<'_, '_>, ptr: Value, len: Value) -> Value {
    let ptr64 = e.zext(ptr);
    let len64 = e.zext(len);
    let shift = e.i64(32);
    let high = e.bin("shli", len64, shift);
    e.bin("ori", ptr64, high)
}

fn region_len(e: &mut Emit<'_, '_>, region: Value) -> Value {
    let shift = e.i64(32);
    let high = e.bin("shrui", region, shift);
    e.wrap(high)
}

/// Fails unless `index <u len(region)`.
fn index_check(e: &mut Emit<'_, '_>, region: Value, index: Value) {
    let len = region_len(e, region);
    let outside = e.cmp("uge", index, len);
    e.fail_if(outside);
}

/// `ptr(region) + index * size`; cannot overflow once the index is checked, because
/// `make_slice` proved the whole region lies in the memory.
fn element_address(e: &mut Emit<'_, '_>, region: Value, index: Value, size: u32) -> Value {
    let ptr = e.wrap(region);
    let size32 = e.i32(size as i32);
    let offset = e.bin("muli", index, size32);
    e.bin("addi", ptr, offset)
}

/// The memory's size in bytes, as an i64 (`memory.size << 16`).
fn memory_bytes(e: &mut Emit<'_, '_>, memory: wasmir_ir::Attr, address_type: Type) -> Value {
    let pages = e.b.op1("memory.size", &[], address_type, &[("memory", memory)]);
    let pages64 = if address_type == Type::I64 { pages } else { e.zext(pages) };
    let shift = e.i64(16);
    e.bin("shli", pages64, shift)
}

//! Programs that use SharedSlice, Local and ExternRef, built through the library API (or, for
//! the frame and atomics cases, parsed from text), legalized for a target, and run in
//! wasmtime with a host that supplies the imports: results, traps at out-of-range accesses,
//! the panic handler, externref pass-through without a table, and the managed reference table.

use wasmir::dialects::{arith, control, func, memory, refs, wasm};
use wasmir::ir::{Context, Module, Type, Value};
use wasmir::lowering::Target;
use wasmtime::{Caller, Engine, ExternRef, Instance, Linker, Rooted, Store, Trap};

fn engine() -> Engine {
    let mut config = wasmtime::Config::new();
    config.wasm_reference_types(true).wasm_function_references(true).wasm_gc(true).shared_memory(true);
    Engine::new(&config).expect("engine")
}

fn compile(ctx: &Context, module: &Module, target: &str) -> Vec<u8> {
    wasmir::verify(ctx, module).unwrap_or_else(|e| panic!("{}", wasmir::ir::diagnostics::render(ctx, &e)));
    let target = Target::parse(target).expect("a target");
    wasmir::compile_to_wasm(ctx, module, &target)
        .unwrap_or_else(|e| panic!("{}", wasmir::ir::diagnostics::render(ctx, &e)))
}

fn is_trap(error: &wasmtime::Error, trap: Trap) -> bool {
    error.downcast_ref::<Trap>() == Some(&trap)
}

/// `sum`, `get` and `put` over a SharedSlice<i32> of the exported memory, with `env.oob` as
/// the memory's panic handler.
fn slice_program(ctx: &Context) -> Module {
    let mut module = Module::new(ctx);
    {
        let mut mb = module.builder(ctx);
        let attrs = [
            ("sym_name", ctx.string_attr("mem")),
            ("address_type", ctx.type_attr(Type::I32)),
            ("min", ctx.int_attr(1, Type::U64)),
            ("panic_handler", ctx.symbol_ref_attr("oob")),
        ];
        mb.op("memory.memory", &[], &[], &attrs);
    }
    func::build_import(ctx, &mut module, "oob", &[], &[], ("env", "oob"));
    let slice = memory::make_region_type(ctx, memory::RegionKind::Slice, Type::I32, "mem");
    // sum(ptr, len) = the sum of the elements, sign-extended to i64.
    func::build_func(ctx, &mut module, "sum", &[Type::I32, Type::I32], &[Type::I64], |b, args| {
        let s = memory::make_slice(b, args[0], args[1], slice);
        let n = memory::len(b, s);
        let total = control::build_block(b, &[Type::I64], |b| {
            let zero64 = arith::const_i64(b, 0);
            let empty = b.op1("arith.eqz", &[n], Type::I32, &[]);
            control::br_if(b, empty, 0, &[zero64]);
            let zero = arith::const_i32(b, 0);
            let sum = control::build_loop(b, &[zero, zero64], &[Type::I64], |b, carried| {
                let (i, acc) = (carried[0], carried[1]);
                let x = memory::elem_load(b, s, i);
                let wide = b.op1("arith.extend_s", &[x], Type::I64, &[]);
                let acc = arith::addi(b, acc, wide);
                let one = arith::const_i32(b, 1);
                let next = arith::addi(b, i, one);
                let more = arith::cmpi(b, "ult", next, n);
                control::br_if(b, more, 0, &[next, acc]);
                control::yield_(b, &[acc]);
            });
            control::yield_(b, &sum);
        });
        func::ret(b, &total);
    });
    func::build_func(ctx, &mut module, "get", &[Type::I32, Type::I32, Type::I32], &[Type::I32], |b, args| {
        let s = memory::make_slice(b, args[0], args[1], slice);
        let x = memory::elem_load(b, s, args[2]);
        func::ret(b, &[x]);
    });
    func::build_func(
        ctx,
        &mut module,
        "put",
        &[Type::I32, Type::I32, Type::I32, Type::I32],
        &[],
        |b, args| {
            let s = memory::make_slice(b, args[0], args[1], slice);
            let one = arith::const_i32(b, 1);
            let rest = memory::subslice(b, s, args[2], one);
            let zero = arith::const_i32(b, 0);
            memory::elem_store(b, rest, zero, args[3]);
            func::ret(b, &[]);
        },
    );
    for name in ["sum", "get", "put"] {
        wasm::export(ctx, &mut module, name, name);
    }
    wasm::export(ctx, &mut module, "memory", "mem");
    module
}

struct SliceRun {
    store: Store<u32>,
    instance: Instance,
}

impl SliceRun {
    fn new(wasm: &[u8]) -> Self {
        let engine = engine();
        let module = wasmtime::Module::new(&engine, wasm).expect("the output compiles");
        let mut store = Store::new(&engine, 0u32);
        let mut linker = Linker::new(&engine);
        linker.func_wrap("env", "oob", |mut caller: Caller<'_, u32>| *caller.data_mut() += 1).expect("links");
        let instance = linker.instantiate(&mut store, &module).expect("instantiates");
        let mut run = Self { store, instance };
        let memory = run.instance.get_memory(&mut run.store, "memory").expect("exported memory");
        for (i, v) in [5i32, -7, 100, 2].iter().enumerate() {
            memory.write(&mut run.store, 64 + 4 * i, &v.to_le_bytes()).expect("in range");
        }
        run
    }
    fn sum(&mut self, ptr: i32, len: i32) -> wasmtime::Result<i64> {
        let f = self.instance.get_typed_func::<(i32, i32), i64>(&mut self.store, "sum")?;
        f.call(&mut self.store, (ptr, len))
    }
    fn get(&mut self, ptr: i32, len: i32, i: i32) -> wasmtime::Result<i32> {
        let f = self.instance.get_typed_func::<(i32, i32, i32), i32>(&mut self.store, "get")?;
        f.call(&mut self.store, (ptr, len, i))
    }
    fn put(&mut self, ptr: i32, len: i32, at: i32, v: i32) -> wasmtime::Result<()> {
        let f = self.instance.get_typed_func::<(i32, i32, i32, i32), ()>(&mut self.store, "put")?;
        f.call(&mut self.store, (ptr, len, at, v))
    }
    fn handler_calls(&self) -> u32 {
        *self.store.data()
    }
}

#[test]
fn shared_slice_accesses_are_checked_and_fail_as_specified() {
    let ctx = wasmir::context();
    let module = slice_program(&ctx);
    for target in ["wasmtime", "embedded", "browser,-bulk-memory"] {
        let mut run = SliceRun::new(&compile(&ctx, &module, target));
        assert_eq!(run.sum(64, 4).unwrap(), 100, "{target}");
        assert_eq!(run.sum(64, 0).unwrap(), 0, "{target}");
        assert_eq!(run.get(64, 4, 3).unwrap(), 2, "{target}");
        assert_eq!(run.handler_calls(), 0);
        // One past the end: the panic handler runs, then the access traps as `unreachable`.
        let err = run.get(64, 4, 4).unwrap_err();
        assert!(is_trap(&err, Trap::UnreachableCodeReached), "{target}: {err:?}");
        assert_eq!(run.handler_calls(), 1, "{target}");
        // A negative index is a huge unsigned one.
        assert!(is_trap(&run.get(64, 4, -1).unwrap_err(), Trap::UnreachableCodeReached));
        assert_eq!(run.handler_calls(), 2);
        // A slice that does not fit in the memory fails when it is made, before any access.
        assert!(is_trap(&run.sum(65_532, 2).unwrap_err(), Trap::UnreachableCodeReached));
        assert_eq!(run.handler_calls(), 3);
        // Its last element fits exactly.
        assert!(run.sum(65_532, 1).is_ok());
        // A subslice past the end fails; within bounds it writes where it should.
        run.put(64, 4, 1, 42).unwrap();
        assert_eq!(run.get(64, 4, 1).unwrap(), 42);
        assert!(is_trap(&run.put(64, 4, 5, 0).unwrap_err(), Trap::UnreachableCodeReached));
        assert_eq!(run.handler_calls(), 4);
        assert_eq!(run.get(64, 4, 1).unwrap(), 42, "{target}: nothing written by the failed access");
    }
}

const FRAMES: &str = r#"
global.global @sp mut : i32 {
  %0 = arith.constant 1024 : i32
  control.yield %0 : i32
}
memory.memory @mem : i32 {min = 1 : u64, stack_pointer = @sp}
func.func @reverse3(%a: i32, %b: i32, %c: i32) -> i32 {
  %l = memory.local_alloc {count = 3 : u32} : !memory.local<i32, @mem>
  %i0 = arith.constant 0 : i32
  %i1 = arith.constant 1 : i32
  %i2 = arith.constant 2 : i32
  memory.elem_store %l[%i2], %a : !memory.local<i32, @mem>, i32
  memory.elem_store %l[%i1], %b : !memory.local<i32, @mem>, i32
  memory.elem_store %l[%i0], %c : !memory.local<i32, @mem>, i32
  %x = memory.elem_load %l[%i0] : !memory.local<i32, @mem> -> i32
  %h = arith.constant 100 : i32
  %y = arith.muli %x, %h : i32
  %z = memory.elem_load %l[%i2] : !memory.local<i32, @mem> -> i32
  %r = arith.addi %y, %z : i32
  func.return %r : i32
}
func.func @out_of_frame(%i: i32) -> i32 {
  %l = memory.local_alloc {count = 2 : u32} : !memory.local<i64, @mem>
  %x = memory.elem_load %l[%i] : !memory.local<i64, @mem> -> i64
  %y = arith.wrap %x : i64 to i32
  func.return %y : i32
}
func.func @stack_pointer() -> i32 {
  %0 = global.get @sp : i32
  func.return %0 : i32
}
wasm.export "reverse3" @reverse3
wasm.export "out_of_frame" @out_of_frame
wasm.export "stack_pointer" @stack_pointer
"#;

#[test]
fn local_frames_live_on_the_shadow_stack_and_are_released() {
    let ctx = wasmir::context();
    let module = wasmir::parse(&ctx, "frames.wir", FRAMES).expect("parses");
    for target in ["wasmtime", "embedded"] {
        let engine = engine();
        let wasm = compile(&ctx, &module, target);
        let m = wasmtime::Module::new(&engine, &wasm).expect("compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &m, &[]).expect("instantiates");
        let reverse3 = instance.get_typed_func::<(i32, i32, i32), i32>(&mut store, "reverse3").unwrap();
        let out_of_frame = instance.get_typed_func::<i32, i32>(&mut store, "out_of_frame").unwrap();
        let sp = instance.get_typed_func::<(), i32>(&mut store, "stack_pointer").unwrap();
        assert_eq!(reverse3.call(&mut store, (1, 2, 3)).unwrap(), 301, "{target}");
        assert_eq!(sp.call(&mut store, ()).unwrap(), 1024, "{target}: the frame is released on return");
        // Frames start zeroed, whatever ran before.
        assert_eq!(out_of_frame.call(&mut store, 1).unwrap(), 0, "{target}");
        let err = out_of_frame.call(&mut store, 2).unwrap_err();
        assert!(is_trap(&err, Trap::UnreachableCodeReached), "{target}: {err:?}");
    }
}

/// A Greeter is a host object; the module sees `!refs.externref<Greeter>`. `pass` hands one
/// straight to an import; with `handles`, `keep`, `len_of` and `release` use the managed table.
fn greeter_program(ctx: &Context, handles: bool) -> Module {
    let mut module = Module::new(ctx);
    let greeter = refs::make_externref(ctx, "Greeter", false);
    func::build_import(ctx, &mut module, "name_len", &[greeter], &[Type::I32], ("host", "name_len"));
    func::build_func(ctx, &mut module, "pass", &[greeter], &[Type::I32], |b, args| {
        let n = func::call(b, "name_len", &[args[0]], &[Type::I32]);
        func::ret(b, &n);
    });
    wasm::export(ctx, &mut module, "pass", "pass");
    if !handles {
        return module;
    }
    func::build_func(ctx, &mut module, "keep", &[greeter], &[Type::I32], |b, args| {
        let h = refs::to_handle(b, args[0]);
        func::ret(b, &[h]);
    });
    func::build_func(ctx, &mut module, "len_of", &[Type::I32], &[Type::I32], |b, args| {
        let r: Value = refs::from_handle(b, args[0], greeter);
        let n = func::call(b, "name_len", &[r], &[Type::I32]);
        func::ret(b, &n);
    });
    func::build_func(ctx, &mut module, "release", &[Type::I32], &[], |b, args| {
        refs::release_handle(b, args[0]);
        func::ret(b, &[]);
    });
    for name in ["keep", "len_of", "release"] {
        wasm::export(ctx, &mut module, name, name);
    }
    module
}

fn table_count(wasm: &[u8]) -> u32 {
    let mut tables = 0;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.expect("valid") {
            wasmparser::Payload::TableSection(s) => tables += s.count(),
            wasmparser::Payload::ImportSection(s) => {
                for import in s.into_imports() {
                    if matches!(import.expect("import").ty, wasmparser::TypeRef::Table(_)) {
                        tables += 1;
                    }
                }
            }
            _ => {}
        }
    }
    tables
}

fn name_len(caller: &Caller<'_, ()>, r: Option<Rooted<ExternRef>>) -> i32 {
    let Some(r) = r else { return -1 };
    let data = r.data(caller).expect("live").expect("host data");
    data.downcast_ref::<String>().map_or(-2, |s| s.len() as i32)
}

#[test]
fn externref_pass_through_uses_externref_and_no_table() {
    let ctx = wasmir::context();
    let wasm = compile(&ctx, &greeter_program(&ctx, false), "browser");
    assert_eq!(table_count(&wasm), 0, "a pass-through needs no table slot");
    let text = wasmprinter::print_bytes(&wasm).expect("prints");
    assert!(text.contains("(func (param externref) (result i32))"), "{text}");
    let engine = engine();
    let m = wasmtime::Module::new(&engine, &wasm).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "name_len", |caller: Caller<'_, ()>, r: Option<Rooted<ExternRef>>| {
            name_len(&caller, r)
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let pass = instance.get_typed_func::<Option<Rooted<ExternRef>>, i32>(&mut store, "pass").unwrap();
    let ada = ExternRef::new(&mut store, String::from("Ada Lovelace")).unwrap();
    assert_eq!(pass.call(&mut store, Some(ada)).unwrap(), 12);
    assert_eq!(pass.call(&mut store, None).unwrap(), -1);
}

#[test]
fn the_managed_reference_table_hands_out_and_reuses_slots() {
    let ctx = wasmir::context();
    let wasm = compile(&ctx, &greeter_program(&ctx, true), "wasmtime");
    assert_eq!(table_count(&wasm), 1, "handles need the managed table");
    let engine = engine();
    let m = wasmtime::Module::new(&engine, &wasm).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "name_len", |caller: Caller<'_, ()>, r: Option<Rooted<ExternRef>>| {
            name_len(&caller, r)
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let keep = instance.get_typed_func::<Option<Rooted<ExternRef>>, i32>(&mut store, "keep").unwrap();
    let len_of = instance.get_typed_func::<i32, i32>(&mut store, "len_of").unwrap();
    let release = instance.get_typed_func::<i32, ()>(&mut store, "release").unwrap();
    let a = ExternRef::new(&mut store, String::from("a")).unwrap();
    let bc = ExternRef::new(&mut store, String::from("bc")).unwrap();
    let def = ExternRef::new(&mut store, String::from("def")).unwrap();
    let ha = keep.call(&mut store, Some(a)).unwrap();
    let hb = keep.call(&mut store, Some(bc)).unwrap();
    assert_eq!((ha, hb), (1, 2), "slot 0 is null's");
    assert_eq!(keep.call(&mut store, None).unwrap(), 0);
    assert_eq!(len_of.call(&mut store, ha).unwrap(), 1);
    assert_eq!(len_of.call(&mut store, hb).unwrap(), 2);
    assert_eq!(len_of.call(&mut store, 0).unwrap(), -1, "handle 0 is null");
    release.call(&mut store, ha).unwrap();
    assert_eq!(len_of.call(&mut store, ha).unwrap(), -1, "a released slot holds null");
    let hd = keep.call(&mut store, Some(def)).unwrap();
    assert_eq!(hd, ha, "a released slot is reused");
    assert_eq!(len_of.call(&mut store, hd).unwrap(), 3);
    release.call(&mut store, 0).unwrap();
    let err = len_of.call(&mut store, 99).unwrap_err();
    assert!(is_trap(&err, Trap::TableOutOfBounds), "{err:?}");
}

#[test]
fn without_reference_types_externrefs_are_host_table_handles() {
    let ctx = wasmir::context();
    let wasm = compile(&ctx, &greeter_program(&ctx, true), "embedded");
    assert_eq!(table_count(&wasm), 0);
    let text = wasmprinter::print_bytes(&wasm).expect("prints");
    assert!(!text.contains("externref"), "{text}");
    assert!(text.contains(r#"(import "wasmir:refs" "release""#), "{text}");
    // The host keeps the objects; the module sees their slots.
    let engine = engine();
    let m = wasmtime::Module::new(&engine, &wasm).unwrap();
    let mut store =
        Store::new(&engine, vec![Some(String::new()), Some("host".to_string()), Some("xy".to_string())]);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "name_len", |caller: Caller<'_, Vec<Option<String>>>, slot: i32| {
            caller.data().get(slot as usize).and_then(Option::as_ref).map_or(-1, |s| s.len() as i32)
        })
        .unwrap();
    linker
        .func_wrap("wasmir:refs", "release", |mut caller: Caller<'_, Vec<Option<String>>>, slot: i32| {
            if let Some(entry) = caller.data_mut().get_mut(slot as usize) {
                *entry = None;
            }
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &m).unwrap();
    let pass = instance.get_typed_func::<i32, i32>(&mut store, "pass").unwrap();
    let keep = instance.get_typed_func::<i32, i32>(&mut store, "keep").unwrap();
    let len_of = instance.get_typed_func::<i32, i32>(&mut store, "len_of").unwrap();
    let release = instance.get_typed_func::<i32, ()>(&mut store, "release").unwrap();
    assert_eq!(pass.call(&mut store, 1).unwrap(), 4);
    let h = keep.call(&mut store, 2).unwrap();
    assert_eq!(len_of.call(&mut store, h).unwrap(), 2);
    release.call(&mut store, h).unwrap();
    assert_eq!(len_of.call(&mut store, h).unwrap(), -1, "the host freed the slot");
}

const ATOMICS: &str = r#"
memory.memory @mem : i32 {min = 1 : u64}
func.func @rmw_add(%a: i32, %v: i32) -> i32 {
  %0 = memory.atomic_rmw add @mem, %a, %v : i32
  func.return %0 : i32
}
func.func @rmw_xchg8(%a: i32, %v: i64) -> i64 {
  %0 = memory.atomic_rmw xchg @mem, %a, %v {width = 8 : u32} : i64
  func.return %0 : i64
}
func.func @cmpxchg16(%a: i32, %e: i32, %r: i32) -> i32 {
  %0 = memory.atomic_cmpxchg @mem, %a, %e, %r {offset = 2 : u64, width = 16 : u32} : i32
  func.return %0 : i32
}
func.func @load64(%a: i32) -> i64 {
  %0 = memory.atomic_load @mem, %a : i64
  func.return %0 : i64
}
func.func @store32(%a: i32, %v: i64) {
  memory.atomic_store @mem, %a, %v {width = 32 : u32} : i64
  func.return
}
func.func @notify(%a: i32, %n: i32) -> i32 {
  %0 = memory.atomic_notify @mem, %a, %n : i32
  func.return %0 : i32
}
func.func @wait(%a: i32, %e: i32) -> i32 {
  %t = arith.constant 0 : i64
  %0 = memory.atomic_wait @mem, %a, %e, %t : i32
  func.return %0 : i32
}
wasm.export "rmw_add" @rmw_add
wasm.export "rmw_xchg8" @rmw_xchg8
wasm.export "cmpxchg16" @cmpxchg16
wasm.export "load64" @load64
wasm.export "store32" @store32
wasm.export "notify" @notify
wasm.export "wait" @wait
wasm.export "memory" @mem
"#;

/// Runs a fixed sequence of atomic calls and returns what each returned, or `trap`. Where
/// each call traps is compared, not the trap's message: the plain form reports a misaligned
/// atomic, or a wait on an unshared memory, as `unreachable`.
fn atomics_trace(wasm: &[u8], addresses: &[i32], values: &[i64]) -> Vec<String> {
    let engine = engine();
    let m = wasmtime::Module::new(&engine, wasm).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &m, &[]).unwrap();
    let mut trace = Vec::new();
    let show = |r: wasmtime::Result<String>| match r {
        Ok(v) => v,
        Err(e) => {
            assert!(e.downcast_ref::<Trap>().is_some(), "only traps: {e:?}");
            "trap".to_string()
        }
    };
    for &a in addresses {
        for &v in values {
            let rmw_add = instance.get_typed_func::<(i32, i32), i32>(&mut store, "rmw_add").unwrap();
            trace.push(show(rmw_add.call(&mut store, (a, v as i32)).map(|x| x.to_string())));
            let xchg = instance.get_typed_func::<(i32, i64), i64>(&mut store, "rmw_xchg8").unwrap();
            trace.push(show(xchg.call(&mut store, (a, v)).map(|x| x.to_string())));
            let cmpxchg = instance.get_typed_func::<(i32, i32, i32), i32>(&mut store, "cmpxchg16").unwrap();
            trace.push(show(cmpxchg.call(&mut store, (a, v as i32, (v >> 3) as i32)).map(|x| x.to_string())));
            let store32 = instance.get_typed_func::<(i32, i64), ()>(&mut store, "store32").unwrap();
            trace.push(show(store32.call(&mut store, (a, v)).map(|()| "ok".into())));
            let load = instance.get_typed_func::<i32, i64>(&mut store, "load64").unwrap();
            trace.push(show(load.call(&mut store, a).map(|x| x.to_string())));
            let notify = instance.get_typed_func::<(i32, i32), i32>(&mut store, "notify").unwrap();
            trace.push(show(notify.call(&mut store, (a, 1)).map(|x| x.to_string())));
            let wait = instance.get_typed_func::<(i32, i32), i32>(&mut store, "wait").unwrap();
            trace.push(show(wait.call(&mut store, (a, v as i32)).map(|x| x.to_string())));
        }
    }
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    trace.push(format!("{:?}", &memory.data(&store)[..64]));
    trace
}

#[test]
fn atomics_without_threads_behave_as_atomics_on_an_unshared_memory() {
    let ctx = wasmir::context();
    let module = wasmir::parse(&ctx, "atomics.wir", ATOMICS).expect("parses");
    let native = compile(&ctx, &module, "wasmtime");
    let lowered = compile(&ctx, &module, "wasmtime,-threads");
    assert!(wasmprinter::print_bytes(&native).unwrap().contains("atomic"));
    assert!(!wasmprinter::print_bytes(&lowered).unwrap().contains("atomic"));
    // Aligned and misaligned addresses, the last bytes of the memory and beyond it.
    let addresses = [0, 1, 2, 4, 6, 8, 13, 16, 65_528, 65_532, 65_534, 65_535, 65_536, -8];
    let values = [0, 1, -1, 0x1234_5678_9abc_def0, 255, 65_536];
    assert_eq!(atomics_trace(&native, &addresses, &values), atomics_trace(&lowered, &addresses, &values));
}

#[test]
fn atomics_on_a_shared_memory_need_threads() {
    let ctx = wasmir::context();
    let text = ATOMICS.replace(
        "memory.memory @mem : i32 {min = 1 : u64}",
        "memory.memory @mem shared : i32 {max = 1 : u64, min = 1 : u64}",
    );
    let module = wasmir::parse(&ctx, "atomics.wir", &text).expect("parses");
    assert!(!wasmprinter::print_bytes(compile(&ctx, &module, "node")).unwrap().is_empty());
    let errors =
        wasmir::compile_to_wasm(&ctx, &module, &Target::parse("node,-threads").unwrap()).unwrap_err();
    let rendered = wasmir::ir::diagnostics::render(&ctx, &errors);
    assert!(
        rendered.contains(
            "'memory.atomic_rmw' op needs capability `threads`, which target `node,-threads` lacks"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("atomics.wir:4:"), "located: {rendered}");
}

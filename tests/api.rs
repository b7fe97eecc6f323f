//! The library API: building, rewriting and verifying IR without text.

use wasmir::dialects::{arith, func};
use wasmir::ir::pass::{FunctionPass, FunctionUnit, PassManager, run_function_pass};
use wasmir::ir::{Body, Builder, Context, Diagnostic, FxHashMap, Module, NewOp, Type, Value, ValueDef};

fn ctx() -> Context {
    wasmir::context()
}

/// Builds `func @name(i32, i32) -> i32 { return (a + b) * a }`.
fn sample(ctx: &Context, module: &mut Module, name: &str) {
    func::build_func(ctx, module, name, &[Type::I32, Type::I32], &[Type::I32], |b, args| {
        let sum = arith::addi(b, args[0], args[1]);
        let product = arith::muli(b, sum, args[0]);
        func::ret(b, &[product]);
    });
}

#[test]
fn use_lists_track_every_use_and_replace_all_uses_moves_them() {
    let ctx = ctx();
    let (mut body, block) = Body::with_root_block();
    let a = body.add_block_arg(block, Type::I32);
    let b_arg = body.add_block_arg(block, Type::I32);
    let mut b = Builder::at_end(&ctx, &mut body, block);
    let sum = arith::addi(&mut b, a, a);
    let twice = arith::addi(&mut b, sum, a);
    assert_eq!(body.uses(a).len(), 3, "a is used twice by the first add and once by the second");
    body.replace_all_uses(a, b_arg);
    assert!(body.uses(a).is_empty());
    assert_eq!(body.uses(b_arg).len(), 3);
    let add = body.defining_op(twice).expect("an op result");
    assert_eq!(body.operands(add), &[sum, b_arg]);
    assert_eq!(body.value_def(twice), ValueDef::Result { op: add, index: 0 });
}

#[test]
fn erase_and_move_keep_the_block_list_consistent() {
    let ctx = ctx();
    let (mut body, block) = Body::with_root_block();
    let mut b = Builder::at_end(&ctx, &mut body, block);
    let c1 = arith::const_i32(&mut b, 1);
    let c2 = arith::const_i32(&mut b, 2);
    let c3 = arith::const_i32(&mut b, 3);
    let [o1, o2, o3] = [c1, c2, c3].map(|v| body.defining_op(v).unwrap());
    body.move_op_before(o3, o1);
    assert_eq!(body.block_ops(block).collect::<Vec<_>>(), vec![o3, o1, o2]);
    body.erase_op(o1);
    assert_eq!(body.block_ops(block).collect::<Vec<_>>(), vec![o3, o2]);
    assert!(!body.is_alive(o1));
    assert_eq!(body.block_first(block), Some(o3));
    assert_eq!(body.block_last(block), Some(o2));
    assert_eq!(body.prev_op(o2), Some(o3));
}

#[test]
fn cloning_a_region_maps_values_inside_it() {
    let ctx = ctx();
    let mut module = Module::new(&ctx);
    sample(&ctx, &mut module, "f");
    let body = module.body_mut();
    let f = body.block_ops(body.region_blocks(body.roots()[0])[0]).next().unwrap();
    let child = body.child_mut(f).unwrap();
    let original = child.roots()[0];
    let mut map: FxHashMap<Value, Value> = FxHashMap::default();
    let copy = child.clone_region(original, &mut map);
    let (ob, cb) = (child.region_blocks(original)[0], child.region_blocks(copy)[0]);
    let (o_ops, c_ops): (Vec<_>, Vec<_>) = (child.block_ops(ob).collect(), child.block_ops(cb).collect());
    assert_eq!(o_ops.len(), c_ops.len());
    // The cloned add uses the cloned block arguments, not the originals.
    let cloned_add = c_ops[0];
    assert_eq!(child.operands(cloned_add), child.block_args(cb));
    assert_ne!(child.operands(cloned_add), child.block_args(ob));
    assert_eq!(map[&child.block_args(ob)[0]], child.block_args(cb)[0]);
}

#[test]
fn the_verifier_reports_a_use_that_does_not_dominate() {
    let ctx = ctx();
    let mut module = Module::new(&ctx);
    func::build_func(&ctx, &mut module, "bad", &[], &[Type::I32], |b, _| {
        let one = arith::const_i32(b, 1);
        let sum = arith::addi(b, one, one);
        func::ret(b, &[sum]);
        // Move the constant after its users: the text parser can never produce this.
        let const_op = b.body.defining_op(one).unwrap();
        let ret = b.body.defining_op(sum).map(|add| b.body.next_op(add).unwrap()).unwrap();
        b.body.move_op_before(const_op, ret);
    });
    let errors = wasmir::verify(&ctx, &module).expect_err("invalid IR");
    let messages: Vec<_> = errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "'arith.addi' op operand #0 does not dominate this use",
            "'arith.addi' op operand #1 does not dominate this use"
        ]
    );
}

#[test]
fn the_verifier_collects_every_error_instead_of_stopping_at_the_first() {
    let ctx = ctx();
    let mut module = Module::new(&ctx);
    func::build_func(&ctx, &mut module, "f", &[Type::I64], &[Type::I32], |b, args| {
        let wrong = b.op1("arith.addi", &[args[0], args[0]], Type::I32, &[]);
        let kind = b.kind("arith.eqz");
        let mut new = NewOp::new(kind, b.loc);
        new.operands = wasmir::ir::smallvec![wrong];
        b.create(new); // no result: a second error
        func::ret(b, &[args[0]]); // wrong return type, but see below
    });
    let errors = wasmir::verify(&ctx, &module).expect_err("invalid IR");
    let messages: Vec<_> = errors.iter().map(|d| d.message.as_str()).collect();
    // Both broken ops are reported. The function's own hook (which checks return types)
    // does not run over a body that already failed: hooks only see valid IR.
    assert_eq!(
        messages,
        [
            "'arith.addi' op result #0 (`result`) must have the same type as `lhs` (`i64`), but got `i32`",
            "'arith.eqz' op expects 1 results, but has 0"
        ],
        "{errors:#?}"
    );
}

#[test]
fn a_value_from_another_function_is_rejected() {
    let ctx = ctx();
    let mut module = Module::new(&ctx);
    let mut stolen = None;
    func::build_func(&ctx, &mut module, "a", &[Type::I32, Type::I32, Type::I32], &[], |b, args| {
        stolen = Some(args[2]);
        func::ret(b, &[]);
    });
    func::build_func(&ctx, &mut module, "b", &[], &[Type::I32], |b, _| {
        // The handle indexes into another body: isolation forbids it.
        func::ret(b, &[stolen.unwrap()]);
    });
    let errors = wasmir::verify(&ctx, &module).expect_err("invalid IR");
    assert!(errors.iter().any(|d| d.message.contains("is not a value of this function")), "{errors:#?}");
}

#[test]
fn symbol_tables_find_functions_by_name() {
    let ctx = ctx();
    let mut module = Module::new(&ctx);
    sample(&ctx, &mut module, "first");
    sample(&ctx, &mut module, "second");
    let table = wasmir::ir::SymbolTable::build(&ctx, module.body(), module.block());
    assert_eq!(table.iter().map(|(n, _)| n).collect::<Vec<_>>(), vec!["first", "second"]);
    assert!(table.lookup("second").is_some());
    assert!(table.lookup("third").is_none());
}

/// A function pass that records how many ops each function had, to show function passes
/// see exactly their own body.
struct CountOps(std::sync::Mutex<Vec<(String, usize)>>);

impl FunctionPass for CountOps {
    fn run(&self, _: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic> {
        let n = func.body.preorder().len();
        self.0.lock().unwrap().push((func.name.clone(), n));
        Vec::new()
    }
}

#[test]
fn function_passes_see_each_function_once_and_output_is_deterministic() {
    let ctx = ctx();
    let mut module = Module::new(&ctx);
    for i in 0..200 {
        func::build_func(&ctx, &mut module, &format!("f{i}"), &[Type::I32], &[Type::I32], |b, args| {
            let mut v = args[0];
            for k in 0..i % 7 {
                let c = arith::const_i32(b, k);
                v = arith::addi(b, v, c);
            }
            func::ret(b, &[v]);
        });
    }
    let counter = CountOps(Default::default());
    assert!(run_function_pass(&ctx, module.body_mut(), &counter).is_empty());
    let mut seen = counter.0.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen.len(), 200);
    assert!(seen.iter().all(|(name, n)| {
        let i: usize = name[1..].parse().unwrap();
        *n == 1 + 2 * (i % 7)
    }));
    // Parallel canonicalization gives the same text as a single-threaded run.
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut m = module.clone();
        pool.install(|| wasmir::run_pipeline(&ctx, &mut m, "canonicalize,cse")).unwrap();
        wasmir::print(&ctx, &m)
    };
    let (one, many) = (run(1), run(4));
    assert_eq!(one, many);
    // x + 0 folds away; (x + 1) + 2 ... stays a chain: canonicalize does not reassociate.
    assert!(one.contains("func.func @f1(%arg0: i32) -> i32 {\n    func.return %arg0 : i32"), "{one}");
    let f6 = &one[one.find("@f6").unwrap()..one.find("@f7").unwrap()];
    assert_eq!(f6.matches("arith.addi").count(), 5, "{f6}");
}

#[test]
fn pass_manager_reports_invalid_ir_after_a_pass() {
    struct Breaker;
    impl FunctionPass for Breaker {
        fn run(&self, _: &Context, func: &mut FunctionUnit<'_>) -> Vec<Diagnostic> {
            // Drop the terminator: the verifier after this pass must notice.
            let ret = func.body.preorder().into_iter().last().unwrap();
            func.body.erase_op(ret);
            Vec::new()
        }
    }
    let ctx = ctx();
    let mut module = Module::new(&ctx);
    sample(&ctx, &mut module, "f");
    let mut pm = PassManager::new(vec![("breaker", wasmir::ir::pass::PassImpl::Function(Box::new(Breaker)))]);
    pm.verify_with(Some(wasmir::verifier::verify_module));
    let (_, errors) = pm.run(&ctx, &mut module).expect_err("the IR became invalid");
    assert!(errors[0].message.contains("must end with a terminator"), "{errors:#?}");
    assert_eq!(errors[0].notes[0].message, "the IR became invalid after pass `breaker`");
}

/// A library caller on a small stack runs native code that nests as deep as the depth limit
/// allows: the runtime gives the call a stack of its own when the caller's is short.
#[test]
fn native_code_nests_deep_on_a_small_caller_stack() {
    let text = r#"
func.func @depth(%n: i32) -> i32 {
  %z = arith.eqz %n : i32
  %r = control.if %z -> i32 {
    control.yield %n : i32
  } else {
    %one = arith.constant 1 : i32
    %m = arith.subi %n, %one : i32
    %d = func.call @depth(%m) : (i32) -> i32
    %e = arith.addi %d, %one : i32
    control.yield %e : i32
  }
  func.return %r : i32
}
wasm.export "depth" @depth
"#;
    let mut backends = vec![wasmir::run::Backend::Cranelift];
    if cfg!(feature = "llvm") {
        backends.push(wasmir::run::Backend::Llvm);
    }
    for backend in backends {
        let outcomes = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let ctx = wasmir::context();
                let module = wasmir::parse(&ctx, "depth.wir", text).expect("parses");
                [19_000u64, 30_000].map(|n| {
                    wasmir::run::run(&ctx, &module, "depth", &[n], backend).expect("runs").to_string()
                })
            })
            .expect("a thread")
            .join()
            .expect("no stack overflow");
        assert_eq!(
            outcomes,
            ["i32 19000\n".to_string(), "trap: call stack exhausted\n".to_string()],
            "{backend:?}"
        );
    }
}

//! `wasmir-opt`: parse, verify, transform and print WasmIR (see `wasmir-opt --help`).

use std::process::ExitCode;

/// Deep inputs recurse through the parser and printer; a large stack keeps the nesting limit
/// (not the thread's stack) the thing that stops them.
const STACK_BYTES: usize = 512 << 20;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    let worker = std::thread::Builder::new().stack_size(STACK_BYTES).spawn(move || {
        let mut stdin = std::io::stdin().lock();
        // Not locked for the whole run: a message written from a rayon worker (a pass, the
        // emitter) while this thread waits for it must not wait for this thread's lock.
        let mut stdout = std::io::BufWriter::new(std::io::stdout());
        let mut stderr = std::io::stderr();
        let code = wasmir::driver::main_with_args(args, &mut stdin, &mut stdout, &mut stderr);
        let _ = std::io::Write::flush(&mut stdout);
        code
    });
    match worker.map(|w| w.join()) {
        Ok(Ok(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        _ => {
            eprintln!("internal error: wasmir-opt crashed; this is a bug, please report it with the input");
            ExitCode::from(101)
        }
    }
}

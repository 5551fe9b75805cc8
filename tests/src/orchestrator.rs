//! The `orchestrator` command line, built inside the end-to-end test crate so that the tests
//! can run it as a user would (`CARGO_BIN_EXE_e2e-orchestrator`).

fn main() -> std::process::ExitCode {
    orchestrator::cli::main()
}

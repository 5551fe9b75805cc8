//! `orchestrator`: the operator CLI.

fn main() -> std::process::ExitCode {
    orchestrator::cli::main()
}

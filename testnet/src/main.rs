//! `testnet`: local clusters for evaluation and tests.

fn main() -> std::process::ExitCode {
    testnet::cli::main()
}

//! The `testnet` command line, built inside the end-to-end test crate so that the tests can
//! start node processes of exactly the build under test (`CARGO_BIN_EXE_e2e-testnet`).

fn main() -> std::process::ExitCode {
    testnet::cli::main()
}

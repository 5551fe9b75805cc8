//! `mpc-node`: run a node, generate its key, ingest its data.

fn main() -> std::process::ExitCode {
    mpc_node::cli::main()
}

//! The `tenantsim` binary: everything lives in the library; this only runs
//! the command line and sets the exit code.

fn main() {
    std::process::exit(tenantsim::cli::main());
}

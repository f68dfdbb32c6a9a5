//! Build script: the git revision `tenantsim --version` prints, as the
//! compile-time variable `TENANTSIM_GIT_REV`.
//!
//! It is `git rev-parse --short HEAD` of the source tree, or the value of
//! `TENANTSIM_GIT_REV` in the build's environment (a source archive, a
//! container build without `.git`), else `unknown`: a build outside git, or
//! without a `git` program, never fails. The script re-runs only when HEAD
//! moves (the files `HEAD`, the checked-out branch's ref and `packed-refs`
//! of the repository, worktrees included) or that variable changes, so a
//! commit rebuilds the root crate and nothing below it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TENANTSIM_GIT_REV");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let rev = std::env::var("TENANTSIM_GIT_REV")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| git_revision(&dir))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TENANTSIM_GIT_REV={}", rev.trim());
}

/// The output of `git ARGS` in `dir`, trimmed, if it ran and said something.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The short revision of HEAD, registering the files whose change moves it.
fn git_revision(dir: &Path) -> Option<String> {
    let rev = git(dir, &["rev-parse", "--short", "HEAD"])?;
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(p) = git(dir, &["rev-parse", "--git-path", &name]) {
            let p = dir.join(p);
            // A missing file would make cargo re-run the script every build.
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    Some(rev)
}

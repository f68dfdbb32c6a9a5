//! Command-line conventions (issue 24): shell completions and the manual
//! page are generated from the parser's own definition, `--version` names
//! the git revision, and `NO_COLOR` turns colour off.

use super::{repo, tmpdir};
use assert_cmd::Command;
use predicates::prelude::*;

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

fn stdout(args: &[&str]) -> String {
    let a = tenantsim().args(args).assert().success();
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

#[test]
fn completions_cover_the_subcommands_and_their_flags_in_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _tenantsim"),
        ("zsh", "#compdef tenantsim"),
        ("fish", "complete -c tenantsim"),
        ("elvish", "edit:completion:arg-completer[tenantsim]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no `{marker}`");
        for word in ["sweep", "merge", "completions"] {
            assert!(script.contains(word), "{shell}: `{word}` is not completed");
        }
        for flag in ["param", "replications", "shards"] {
            // fish names long flags `-l NAME`, the others `--NAME`.
            let word = if shell == "fish" {
                format!("-l {flag}")
            } else {
                format!("--{flag}")
            };
            assert!(script.contains(&word), "{shell}: `{word}` is not completed");
        }
    }
    // The bash script is valid bash.
    let d = tmpdir("completions");
    let f = d.join("tenantsim.bash");
    std::fs::write(&f, stdout(&["completions", "bash"])).unwrap();
    let st = std::process::Command::new("bash").arg("-n").arg(&f).status().unwrap();
    assert!(st.success(), "bash -n {}", f.display());
    tenantsim()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'tcsh'"))
        .stderr(predicate::str::contains("bash"));
}

#[test]
fn the_man_page_documents_every_visible_subcommand() {
    let page = stdout(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH tenantsim 1"),
        "{}",
        &page[..200]
    );
    assert!(page.contains(".TH tenantsim 1"));
    for sub in ["run", "sweep", "merge", "compare", "plan", "completions", "man"] {
        assert!(page.contains(&format!("tenantsim\\-{sub}")), "no {sub} in the page");
    }
    assert!(!page.contains("gen\\-scenario"), "a hidden command is in the page");
    assert!(page.contains(tenantsim::cli::VERSION), "the version is in the page");
    let d = tmpdir("man-pages");
    tenantsim().args(["man", "--dir"]).arg(&d).assert().success();
    for f in [
        "tenantsim.1",
        "tenantsim-run.1",
        "tenantsim-sweep.1",
        "tenantsim-hpa-explain.1",
    ] {
        let text = std::fs::read_to_string(d.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.contains(".TH"), "{f}");
    }
    let run = std::fs::read_to_string(d.join("tenantsim-run.1")).unwrap();
    assert!(run.contains("\\-\\-replications"), "tenantsim-run.1 lacks its flags");
    assert!(!d.join("tenantsim-gen-scenario.1").exists());
    // A file where the folder should be: exit 2 naming the flag.
    let file = d.join("tenantsim.1");
    tenantsim()
        .args(["man", "--dir"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--dir"));
}

#[test]
fn version_names_the_crate_version_and_the_git_revision() {
    let v = stdout(&["--version"]);
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo(""))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    // Built from a git checkout: its HEAD (build.rs re-runs when HEAD
    // moves); from an archive, "unknown".
    let rev = git.unwrap_or_else(|| "unknown".to_string());
    assert_eq!(v, format!("tenantsim {} (git {rev})\n", env!("CARGO_PKG_VERSION")));
    // Never in summary.json: that holds the crate version only.
    assert!(!tenantsim::summary::TOOL_VERSION.contains(&rev));
}

/// stderr of a usage error and stdout of `--help`, with `env` set.
fn styled_output(env: &[(&str, &str)]) -> (String, String) {
    let mut err = tenantsim();
    err.args(["run", "--no-such-flag"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR");
    let mut help = tenantsim();
    help.args(["sweep", "--help"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR");
    for (k, v) in env {
        err.env(k, v);
        help.env(k, v);
    }
    let e = err.assert().code(2);
    let h = help.assert().success();
    (
        String::from_utf8_lossy(&e.get_output().stderr).into_owned(),
        String::from_utf8_lossy(&h.get_output().stdout).into_owned(),
    )
}

#[test]
fn no_color_turns_off_the_styles_even_when_colour_is_forced() {
    const ESC: char = '\u{1b}';
    // Forced (as on a terminal): clap styles the error and the help.
    let (err, help) = styled_output(&[("CLICOLOR_FORCE", "1")]);
    assert!(
        err.contains(ESC) && help.contains(ESC),
        "no colour even when forced:\n{err}"
    );
    // NO_COLOR wins over CLICOLOR_FORCE (https://no-color.org).
    let (err, help) = styled_output(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!err.contains(ESC), "{err:?}");
    assert!(!help.contains(ESC), "{help:?}");
    assert!(err.contains("--no-such-flag"), "the message itself stays: {err}");
    // An empty NO_COLOR is unset, by the convention.
    let (err, _) = styled_output(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]);
    assert!(err.contains(ESC));
    // Not a terminal and nothing forced: plain, as tests and pipes see it.
    let (err, help) = styled_output(&[]);
    assert!(!err.contains(ESC) && !help.contains(ESC));
}

//! `tenantsim completions SHELL` and `tenantsim man`: the shell completion
//! script and the manual page, generated from the same clap definition the
//! parser uses (clap_complete, clap_mangen), so they cannot fall out of
//! step with the flags. Both print to stdout, as `rg --generate` and
//! `gh completion` do; `man --dir` writes one page per subcommand.

use super::{BadInput, Cli, EXIT_OK};
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim completions bash > ~/.local/share/bash-completion/completions/tenantsim
  tenantsim completions zsh > \"${fpath[1]}/_tenantsim\"
  tenantsim completions fish > ~/.config/fish/completions/tenantsim.fish")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim man > tenantsim.1 && man -l tenantsim.1
  tenantsim man --dir ~/.local/share/man/man1        (tenantsim.1, tenantsim-run.1, ...)")]
pub struct ManArgs {
    /// Write tenantsim.1 and one page per subcommand (tenantsim-run.1, ...)
    /// into this folder instead of printing tenantsim.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(a: CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "tenantsim", &mut std::io::stdout());
    Ok(EXIT_OK)
}

pub fn man(a: ManArgs) -> anyhow::Result<i32> {
    let cmd = Cli::command();
    match &a.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            std::io::stdout().write_all(&page)?;
        }
        Some(dir) => {
            super::prepare_out_dir("--dir", dir)?;
            // Built, so that each subcommand's page is named tenantsim-NAME.
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            write_pages(&cmd, dir)
                .map_err(|e| BadInput(format!("--dir {}: cannot write the pages: {e}", dir.display())))?;
        }
    }
    Ok(EXIT_OK)
}

/// The page of `cmd` and of each visible subcommand, each written atomically.
fn write_pages(cmd: &clap::Command, dir: &std::path::Path) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render(&mut page)?;
    crate::files::write_atomic(&dir.join(man.get_filename()), &page)
}

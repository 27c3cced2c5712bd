//! What the command prints about itself and the protocol: the catalogue,
//! shell completions, man pages.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use super::Cli;

/// Writes the catalogue to stdout; a closed pipe (`| head`) ends it quietly.
pub fn print_catalogue(json: bool) {
    let mut out = std::io::stdout().lock();
    let specs = authnzd::catalogue::all();
    if json {
        let all: Vec<_> = specs.collect();
        if let Ok(text) = serde_json::to_string_pretty(&all) {
            let _ = writeln!(out, "{text}");
        }
        return;
    }
    for spec in specs {
        let params: Vec<String> = spec
            .params
            .iter()
            .map(|p| {
                let types: Vec<&str> = p.types.iter().map(|t| t.name()).collect();
                let mark = if p.required { "" } else { "?" };
                format!("{}{mark}: {}", p.name, types.join("|"))
            })
            .collect();
        let line = format!(
            "{:<28} {:<9} {}\n    {}",
            spec.name,
            spec.group.as_str(),
            spec.doc.trim(),
            params.join(", ")
        );
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
}

pub fn completions(shell: clap_complete::Shell) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "authnzd", &mut std::io::stdout());
}

/// The top-level page on stdout, or every page (one per subcommand) in
/// `out_dir`.
pub fn man(out_dir: Option<&Path>) -> std::io::Result<()> {
    let command = Cli::command();
    match out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(command, dir)
        }
        None => clap_mangen::Man::new(command).render(&mut std::io::stdout()),
    }
}

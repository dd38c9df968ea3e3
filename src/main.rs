//! The `tuilerie` command line: a thin layer over the stage libraries.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tuilerie_model::{Manifest, ManifestError};

/// Merge the GIS layers of communes fusing into a commune nouvelle, and serve them as tiles.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a manifest and its files without running anything; lists every problem.
    Validate { manifest: PathBuf },
    /// Show a file's layers: geometry type, CRS, feature count, extent, fields.
    Inspect {
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Ingest every delivery of a manifest and merge each theme: one deduplicated layer per
    /// theme in the working CRS, merged.gpkg (themes, qa, decisions, rejects), decisions.csv.
    Build {
        manifest: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Write the theme layers even when a delivery failed.
        #[arg(long)]
        keep_going: bool,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// Exit codes: 0 success (possibly with repaired or rejected features, see the report),
/// 2 input errors (manifest or delivery), 3 internal failure.
const EXIT_INPUT: u8 = 2;
const EXIT_INTERNAL: u8 = 3;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    // PROJ prints its own errors to stderr; ours name the file and layer. Keep it quiet unless
    // the user asked for its debug output.
    if std::env::var_os("PROJ_DEBUG").is_none() {
        std::env::set_var("PROJ_DEBUG", "0");
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}

/// Print to stdout; a closed pipe (`tuilerie inspect … | head`) ends the program quietly
/// instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            return Err(e.into());
        }
    }};
}

fn read_manifest(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read manifest {}", path.display()))
}

fn load_manifest(path: &Path) -> Result<Result<Manifest, ManifestError>> {
    Ok(Manifest::parse(&read_manifest(path)?, &base_dir(path)))
}

/// The folder a manifest's relative paths start from.
fn base_dir(manifest: &Path) -> PathBuf {
    match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Validate { manifest } => {
            // Lenient: the manifest's own problems and those of the files it could still
            // describe, all in one run.
            let text = read_manifest(&manifest)?;
            let (m, mut problems) = match Manifest::parse_lenient(&text, &base_dir(&manifest)) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{}: {e}", manifest.display());
                    return Ok(EXIT_INPUT);
                }
            };
            problems.extend(tuilerie_pipeline::validate(&m));
            if problems.is_empty() {
                let n = m.deliveries().count();
                say!(
                    "{}: valid ({} communes, {n} deliveries, themes: {})",
                    manifest.display(),
                    m.communes.len(),
                    m.themes()
                        .iter()
                        .map(|t| t.name().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Ok(0)
            } else {
                eprintln!("{}: {} problem(s):", manifest.display(), problems.len());
                for p in problems {
                    eprintln!("  - {p}");
                }
                Ok(EXIT_INPUT)
            }
        }
        Command::Inspect { file, json } => {
            let layers = match tuilerie_ingest::inspect::inspect(&file) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(EXIT_INPUT);
                }
            };
            if json {
                say!("{}", serde_json::to_string_pretty(&layers)?);
            } else {
                say!(
                    "{} ({})",
                    file.display(),
                    tuilerie_ingest::Format::detect(&file).label()
                );
                for l in layers {
                    say!("\nlayer {} [{}]", l.name, l.driver);
                    say!("  geometry: {}", l.geometry_type);
                    say!("  CRS:      {}", l.crs);
                    say!("  features: {}", l.feature_count);
                    if let Some([a, b, c, d]) = l.extent {
                        say!("  extent:   ({a:.3}, {b:.3}) - ({c:.3}, {d:.3})");
                    }
                    say!("  fields:");
                    for f in l.fields {
                        say!("    {:<24} {}", f.name, f.kind);
                    }
                }
            }
            Ok(0)
        }
        Command::Build {
            manifest,
            out,
            keep_going,
            quiet,
        } => {
            let m = match load_manifest(&manifest)? {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("{}: {e}", manifest.display());
                    return Ok(EXIT_INPUT);
                }
            };
            let options = tuilerie_pipeline::IngestOptions { quiet };
            let report = match tuilerie_pipeline::build(&m, &out, &options, keep_going) {
                Ok(r) => r,
                Err(
                    e @ (tuilerie_pipeline::BuildError::Reproject(_)
                    | tuilerie_pipeline::BuildError::Outlines(_)),
                ) => {
                    eprintln!("error: {e}");
                    return Ok(EXIT_INPUT);
                }
                Err(e) => return Err(e.into()),
            };
            say!("{}", report.table());
            let written: Vec<&str> = report.outputs.iter().map(|o| o.path.as_str()).collect();
            say!(
                "wrote {}, {}",
                written.join(", "),
                out.join("report.json").display()
            );
            if !report.errors.is_empty() && !keep_going {
                say!("theme layers not written because of the errors above (--keep-going writes them)");
            }
            Ok(if report.errors.is_empty() {
                0
            } else {
                EXIT_INPUT
            })
        }
    }
}

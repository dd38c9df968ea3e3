//! The `tuilerie` command line: a thin layer over the stage libraries.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tuilerie_model::{Manifest, ManifestError};

mod rebuild;

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
    /// Build a manifest: ingest every delivery, merge each theme (one deduplicated layer per
    /// theme, merged.gpkg with qa/decisions/rejects, decisions.csv), cut the vector tiles
    /// (tiles.pmtiles, tiles.mbtiles) and publish them atomically. Incremental: only what
    /// changed since the last build in the same folder is done again. Exit 0 ok, 1 ok with
    /// warnings (QA findings, rejects), 2 input errors, 3 internal failure, 4 folder busy.
    Build {
        manifest: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Write the theme layers even when a delivery failed.
        #[arg(long)]
        keep_going: bool,
        /// Ignore what the last build left: read, merge and tile everything again.
        #[arg(long)]
        full: bool,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Serve tile archives over HTTP: TileJSON, tiles, a MapLibre style, a viewer page,
    /// /health and /metrics; an archive renamed over is reloaded without a restart.
    Serve {
        /// `.pmtiles` or `.mbtiles` archives, `NAME=PATH` or a path (served under its file's
        /// stem); or one manifest (`.toml`): its build's archive is served (built first when
        /// missing), rebuilt on `--rebuild-at` and on `POST /admin/rebuild`.
        #[arg(required = true)]
        archives: Vec<String>,
        /// With a manifest: the build's output folder.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// With a manifest: rebuild on this cron schedule, local time, e.g. "0 2 * * *"
        /// (env TUILERIE_REBUILD_AT). The admin routes need TUILERIE_ADMIN_TOKEN set.
        #[arg(long, env = "TUILERIE_REBUILD_AT")]
        rebuild_at: Option<String>,
        /// Address to listen on (env TUILERIE_BIND).
        #[arg(long, env = "TUILERIE_BIND", default_value = "127.0.0.1:3000")]
        bind: String,
        /// `Cache-Control` of the answers (env TUILERIE_CACHE_CONTROL).
        #[arg(
            long,
            env = "TUILERIE_CACHE_CONTROL",
            default_value = "public, max-age=60"
        )]
        cache_control: String,
        /// `Access-Control-Allow-Origin`; `none` sends no CORS header (env TUILERIE_CORS).
        #[arg(long, env = "TUILERIE_CORS", default_value = "*")]
        cors: String,
        /// The URL clients reach the service at, for TileJSON (default: the request's Host).
        #[arg(long, env = "TUILERIE_PUBLIC_URL")]
        public_url: Option<String>,
        /// MapLibre GL JS for the viewer: a folder (npm's maplibre-gl/dist, works offline) or
        /// a URL prefix.
        #[arg(long, env = "TUILERIE_MAPLIBRE")]
        maplibre: Option<String>,
        /// Glyph URL template for the style's parcel labels, e.g.
        /// `https://demotiles.maplibre.org/font/{fontstack}/{range}.pbf` (none: no labels).
        #[arg(long, env = "TUILERIE_GLYPHS")]
        glyphs: Option<String>,
    },
    /// Cut any GeoJSON, FlatGeobuf or GDAL-readable file(s) into vector tiles, one layer per
    /// input (like tippecanoe); the archive format follows the extension of `-o`.
    Tile {
        /// Input files; `file.gpkg:layer` picks a layer of a multi-layer file.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Archive(s) to write: `.pmtiles` or `.mbtiles` (several `-o` write them all at once).
        #[arg(short, long = "output", required = true)]
        output: Vec<PathBuf>,
        /// Lowest zoom (default: guessed from the extent of the data).
        #[arg(short = 'Z', long)]
        minzoom: Option<u8>,
        /// Highest zoom (default: guessed from the size of the features).
        #[arg(short = 'z', long)]
        maxzoom: Option<u8>,
        /// Layer name(s), one per input (default: the file's name).
        #[arg(short = 'l', long = "layer-name")]
        layer_names: Vec<String>,
        /// CRS of inputs that do not declare one (default EPSG:4326).
        #[arg(long)]
        crs: Option<String>,
        /// Tileset name (default: the layer names).
        #[arg(short, long)]
        name: Option<String>,
        #[arg(long, default_value = "")]
        attribution: String,
        /// Most bytes of a gzipped tile; over it the zoom's smallest features are dropped.
        #[arg(long, default_value_t = 500_000)]
        max_tile_bytes: usize,
        /// Most features of a tile.
        #[arg(long, default_value_t = 200_000)]
        max_tile_features: usize,
        /// Also write the report (counts, zooms, cuts) as JSON to this file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// No per-zoom lines.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// Exit codes: 0 success, 1 success with warnings (QA findings along the old boundaries,
/// repaired or rejected features, merge warnings: built and published, the report says
/// what to look at), 2 input errors (manifest or delivery), 3 internal failure, 4 another
/// build holds the output folder.
const EXIT_WARNINGS: u8 = 1;
const EXIT_INPUT: u8 = 2;
const EXIT_INTERNAL: u8 = 3;
/// Another build is writing the same output folder (the message names it).
const EXIT_BUSY: u8 = 4;

/// glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after
/// which big short-lived buffers — a GeoJSON file's text, a low-zoom tile being encoded — are
/// carved from the heap and their pages stay with the process. A fixed 1 MiB threshold keeps
/// them in their own mappings, returned to the system when freed: measured on `tuilerie tile`
/// of the 17 641 essonne parcels, peak RSS 138 → 115 MiB at the same speed.
fn return_big_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called first thing, before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    return_big_buffers_to_the_system();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Structured logs for services (one JSON object a line, e.g. for journald or Loki); text
    // for people at a terminal. `RUST_LOG=access=debug` adds a line per request.
    let json = std::env::var("TUILERIE_LOG_FORMAT").is_ok_and(|f| f == "json");
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if json {
        fmt.json().init();
    } else {
        fmt.init();
    }
    // PROJ prints its own errors to stderr; ours name the file and layer. Keep it quiet unless
    // the user asked for its debug output.
    if std::env::var_os("PROJ_DEBUG").is_none() {
        std::env::set_var("PROJ_DEBUG", "0");
    }
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
        Command::Serve {
            archives,
            out,
            rebuild_at,
            bind,
            cache_control,
            cors,
            public_url,
            maplibre,
            glyphs,
        } => {
            let maplibre = match maplibre {
                Some(m) if Path::new(&m).is_dir() => tuilerie_server::MapLibre::Dir(m.into()),
                Some(m) => tuilerie_server::MapLibre::Url(m),
                None => tuilerie_server::Config::default().maplibre,
            };
            let mut config = tuilerie_server::Config {
                cache_control,
                cors: (cors != "none").then_some(cors),
                public_url,
                maplibre,
                glyphs,
                ..Default::default()
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let manifest = match archives.as_slice() {
                [one] if one.ends_with(".toml") && !one.contains('=') => Some(PathBuf::from(one)),
                _ => None,
            };
            let archives: Vec<(Option<String>, PathBuf)> = match &manifest {
                Some(mpath) => {
                    match rebuild::manifest_service(mpath, &out, rebuild_at.as_deref()) {
                        Ok(service) => {
                            if let Some(cron) = service.schedule {
                                runtime.spawn(service.builds.clone().run_schedule(cron));
                            }
                            config.builds = Some(service.builds);
                            vec![(Some(service.id), service.archive)]
                        }
                        Err(e) => {
                            eprintln!("error: {e:#}");
                            return Ok(EXIT_INPUT);
                        }
                    }
                }
                None => {
                    if rebuild_at.is_some() {
                        eprintln!("error: --rebuild-at needs a manifest to build (tuilerie serve MANIFEST.toml)");
                        return Ok(EXIT_INPUT);
                    }
                    archives
                        .iter()
                        .map(|a| tuilerie_server::parse_archive(a))
                        .collect()
                }
            };
            runtime.block_on(async {
                let listener = match tokio::net::TcpListener::bind(&bind).await {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("error: cannot listen on {bind}: {e}");
                        return Ok(EXIT_INPUT);
                    }
                };
                tracing::info!("listening on http://{}", listener.local_addr()?);
                match tuilerie_server::serve(
                    &archives,
                    listener,
                    config,
                    tuilerie_server::shutdown_signal(),
                )
                .await
                {
                    Ok(()) => Ok(0),
                    Err(e) => {
                        eprintln!("error: {e}");
                        Ok(EXIT_INPUT)
                    }
                }
            })
        }
        Command::Tile {
            inputs,
            output,
            minzoom,
            maxzoom,
            layer_names,
            crs,
            name,
            attribution,
            max_tile_bytes,
            max_tile_features,
            report,
            quiet,
        } => tile(
            tuilerie_pipeline::tiles::TileRequest {
                inputs: inputs.iter().map(|p| split_layer(p)).collect(),
                names: layer_names,
                outputs: output,
                minzoom,
                maxzoom,
                crs: crs.as_deref().map(tuilerie_model::CrsRef::parse),
                name,
                attribution,
                budget: tuilerie_tiles::Budget {
                    max_bytes: max_tile_bytes,
                    max_features: max_tile_features,
                },
            },
            report,
            quiet,
        ),
        Command::Build {
            manifest,
            out,
            keep_going,
            full,
            quiet,
        } => {
            let options = tuilerie_pipeline::BuildOptions {
                quiet,
                keep_going,
                full,
            };
            let report = match rebuild::build_manifest(&manifest, &out, &options)? {
                rebuild::Run::Done(r) => *r,
                rebuild::Run::Refused { code, message } => {
                    eprintln!("error: {message}");
                    return Ok(code);
                }
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
            Ok(exit_code(&report))
        }
    }
}

/// A build's exit code from its report's status.
fn exit_code(report: &tuilerie_pipeline::BuildReport) -> u8 {
    if !report.errors.is_empty() {
        EXIT_INPUT
    } else if report.status == "ok" {
        0
    } else {
        EXIT_WARNINGS
    }
}

/// `file.gpkg:layer` → (file, layer), when `file.gpkg` exists and the whole name does not.
fn split_layer(p: &Path) -> (PathBuf, Option<String>) {
    if !p.exists() {
        if let Some((file, layer)) = p.to_str().and_then(|s| s.rsplit_once(':')) {
            if Path::new(file).exists() && !layer.is_empty() {
                return (PathBuf::from(file), Some(layer.to_string()));
            }
        }
    }
    (p.to_path_buf(), None)
}

fn tile(
    req: tuilerie_pipeline::tiles::TileRequest,
    report_path: Option<PathBuf>,
    quiet: bool,
) -> Result<u8> {
    use tuilerie_pipeline::tiles::TilingError;
    let result = tuilerie_pipeline::tiles::tile_files(&req, |z| {
        if !quiet {
            eprintln!(
                "zoom {:>2}: {:>6} tiles {:>9} KiB (largest {} KiB, {} features){}  {} ms",
                z.zoom,
                z.tiles,
                z.bytes >> 10,
                z.max_tile_bytes >> 10,
                z.max_tile_features,
                if z.dropped_by_budget > 0 {
                    format!(", {} dropped to fit the budget", z.dropped_by_budget)
                } else {
                    String::new()
                },
                z.ms
            );
        }
    });
    let r = match result {
        Ok(r) => r,
        Err(e @ (TilingError::Input { .. } | TilingError::Empty)) => {
            eprintln!("error: {e}");
            return Ok(EXIT_INPUT);
        }
        Err(e) => return Err(e.into()),
    };
    for c in &r.inputs {
        say!(
            "{} (layer {}): {} read = {} tiled + {} rejected",
            c.path,
            c.layer,
            c.read,
            c.tiled,
            c.rejected
        );
        for reason in &c.reasons {
            say!("  rejected: {reason}");
        }
    }
    let t = &r.tiling;
    say!(
        "zooms {}–{}: {} tiles, {} KiB → {}",
        t.minzoom,
        t.maxzoom,
        t.tiles,
        t.bytes >> 10,
        t.archives.join(", ")
    );
    for c in &t.cuts {
        say!(
            "tile {} over budget: {} bytes, {} features ({}) → {} bytes, {} features",
            c.tile,
            c.bytes,
            c.features,
            c.layers
                .iter()
                .map(|(l, n, b)| format!("{l}: {n} features, {b} bytes"))
                .collect::<Vec<_>>()
                .join("; "),
            c.bytes_after,
            c.features_after
        );
    }
    if let Some(p) = report_path {
        std::fs::write(&p, serde_json::to_string_pretty(&r)?)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(0)
}

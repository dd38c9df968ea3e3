//! What an incremental build takes over from the last one: its tiles and each theme as it
//! drew it, read on a thread of their own while the build ingests and merges.

use crate::changes::{self, Changes};
use crate::state::{self, ThemeState, ThemeTiles, TilesState};
use crate::tiles;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use tuilerie_model::{Feature, Theme};
use tuilerie_tiles::TileId;

/// The last build's drawing: every tile of its tileset and each theme's Web Mercator copy
/// with its digests.
pub(crate) struct LastDrawing {
    /// Per theme name; `None` when its copy is missing or unreadable.
    themes: BTreeMap<String, Option<ThemeTiles>>,
    /// The last tile store, or why it cannot be read.
    tiles: Result<BTreeMap<TileId, Vec<u8>>, String>,
    /// The last tileset's encoded geometries (empty when missing).
    geometries: tuilerie_tiles::Geometries,
}

/// Each theme's fids in `merged.gpkg`, with what changed since the last build.
pub(crate) type ThemeFids = BTreeMap<Theme, (Vec<i64>, crate::gpkg::LayerChange)>;

/// What a build needs of the last one before cutting tiles: its drawing, and the fids of
/// every theme with what changed in it, for `merged.gpkg`.
pub(crate) struct Last {
    pub drawing: Option<LastDrawing>,
    /// Per theme: fids and the change since the last build (for themes whose last drawing
    /// was there: otherwise fids from 1 and the whole theme "come").
    pub fids: ThemeFids,
    /// Whether every theme's last fids were there: the last `merged.gpkg` can then be updated.
    pub all_known: bool,
    /// Themes not merged again whose last fids were missing, numbered afresh: their drawing
    /// must be written again with these fids (it is what the next build takes them from).
    pub renumbered: Vec<Theme>,
}

impl Last {
    /// Fids for the merged `themes` from the last drawing: a theme merged again (its digests
    /// in `fresh`) is compared with it; an unchanged one takes its fids as they were.
    pub(crate) fn new(
        drawing: Option<LastDrawing>,
        themes: &BTreeMap<Theme, Vec<Feature>>,
        fresh: &BTreeMap<Theme, Vec<changes::Digest>>,
    ) -> Last {
        let mut all_known = drawing.is_some();
        let mut renumbered = Vec::new();
        let fids = themes
            .iter()
            .map(|(theme, features)| {
                let last = drawing
                    .as_ref()
                    .and_then(|d| d.themes.get(theme.name())?.as_ref());
                let last = last.map(|t| (t.digests.as_slice(), t.fids.as_slice()));
                all_known &= last.is_some_and(|(d, f)| d.len() == f.len());
                let assigned = match fresh.get(theme) {
                    Some(new) => crate::fids::assign(new, last),
                    // Unchanged: the same features as last time, the same fids.
                    None => match last.filter(|(_, f)| f.len() == features.len()) {
                        Some((_, f)) => (
                            f.to_vec(),
                            crate::gpkg::LayerChange {
                                gone: Vec::new(),
                                come: Vec::new(),
                            },
                        ),
                        None => {
                            all_known = false;
                            renumbered.push(theme.clone());
                            crate::fids::numbered(features.len())
                        }
                    },
                };
                (theme.clone(), assigned)
            })
            .collect();
        Last {
            drawing,
            fids,
            all_known,
            renumbered,
        }
    }
}

impl LastDrawing {
    /// The digests of theme `name` as last drawn, taken out (the carry-over does not need
    /// those of a theme that did not change).
    pub(crate) fn take_digests(&mut self, name: &str) -> Option<Vec<changes::Digest>> {
        let drawn = self.themes.get_mut(name)?.as_mut()?;
        Some(std::mem::take(&mut drawn.digests))
    }

    /// Read it now.
    pub(crate) fn read(
        out: &Path,
        last: Option<&TilesState>,
        themes: &BTreeMap<String, ThemeState>,
    ) -> LastDrawing {
        let themes = themes
            .iter()
            .map(|(name, t)| {
                let drawn = state::read_cache::<ThemeTiles>(out, state::MERCATOR, &t.key);
                (name.clone(), drawn)
            })
            .collect();
        let tiles = match last {
            Some(last) => {
                let path = out.join(state::STATE_DIR).join(&last.store);
                tuilerie_tiles::store::read_store(&path).map_err(|e| e.to_string())
            }
            None => Err("no tileset in the last build".into()),
        };
        let geometries = last
            .and_then(|l| state::read_file(&state::geometries_path(out, &l.store)))
            .unwrap_or_default();
        LastDrawing {
            themes,
            tiles,
            geometries,
        }
    }

    /// Read it on a thread of its own (a few hundred milliseconds of reading and decoding that
    /// would otherwise wait for the merge to end).
    pub(crate) fn prefetch(
        out: &Path,
        last: Option<&TilesState>,
        themes: &BTreeMap<String, ThemeState>,
    ) -> Prefetch {
        let (out, last, themes): (PathBuf, Option<TilesState>, _) =
            (out.to_path_buf(), last.cloned(), themes.clone());
        Prefetch(std::thread::spawn(move || {
            LastDrawing::read(&out, last.as_ref(), &themes)
        }))
    }
}

/// A [`LastDrawing`] being read.
pub(crate) struct Prefetch(JoinHandle<LastDrawing>);

impl Prefetch {
    /// The drawing; `None` if the reading thread died.
    pub(crate) fn wait(self) -> Option<LastDrawing> {
        self.0.join().ok()
    }
}

/// The carry-over of the last tileset: its tiles, each theme as it drew it, and for each
/// theme merged again (its key changed) the features gone and come, from the digests.
/// `None` (every tile built again) when a theme's last drawing is missing or a theme's
/// unchanged features changed order.
pub(crate) fn carry_over(
    last: &TilesState,
    mut drawing: LastDrawing,
    themes: &BTreeMap<Theme, Vec<Feature>>,
    fresh: &BTreeMap<Theme, Vec<changes::Digest>>,
    last_themes: &BTreeMap<String, ThemeState>,
    next_themes: &BTreeMap<String, ThemeState>,
    changes: &mut Changes,
) -> Option<tiles::Carry> {
    let mut per_theme = BTreeMap::new();
    let mut mercator = BTreeMap::new();
    for theme in themes.keys() {
        let last_key = &last_themes.get(theme.name())?.key;
        let drawn: ThemeTiles = drawing.themes.remove(theme.name())??;
        if next_themes.get(theme.name()).map(|t| &t.key) != Some(last_key) {
            let (removed, added, ordered) = changes::diff(&drawn.digests, fresh.get(theme)?);
            changes.features.insert(
                theme.name().to_string(),
                changes::FeatureChanges {
                    added: added.len(),
                    removed: removed.len(),
                    reordered: !ordered,
                },
            );
            if !ordered {
                return None;
            }
            per_theme.insert(theme.clone(), tiles::ThemeChange { removed, added });
        }
        mercator.insert(theme.clone(), drawn.features);
    }
    let tiles = match drawing.tiles {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("{e}: every tile is built again");
            return None;
        }
    };
    Some(tiles::Carry {
        tiles,
        zooms: (last.report.minzoom, last.report.maxzoom),
        // Zooms cut to the budget, or with a tile over it: rebuilt whole.
        cut_zooms: last
            .report
            .zooms
            .iter()
            .filter(|z| z.cut.is_some())
            .map(|z| z.zoom)
            .chain(
                last.report
                    .cuts
                    .iter()
                    .map(|c| c.tile.as_str())
                    .chain(last.report.over_budget.iter().map(String::as_str))
                    .filter_map(|t| t.split('/').next()?.parse::<u8>().ok()),
            )
            .collect(),
        changes: per_theme,
        mercator,
        fields: last.fields.clone(),
        geometries: drawing.geometries,
    })
}

//! The merge stage: turn the per-commune features of a theme into one layer in which every
//! real-world object appears once, traceable to every copy it was made from.
//!
//! The steps, each in its own module:
//! 1. [`order`]: sort the features by a stable key, so the output never depends on the order
//!    of the deliveries in the manifest nor on the number of threads;
//! 2. [`candidates`]: pairs of features whose envelopes, expanded by the theme's tolerance,
//!    intersect — from a bulk-loaded `rstar` R-tree, in parallel;
//! 3. matchers per geometry family — [`exact`], [`polygon`] (key and overlap ratio), [`point`]
//!    — score the pairs in parallel and [`cluster`] groups the matches (never joining features
//!    known to differ), picks the survivor by the declared order and merges attributes (the
//!    `pairs` module runs these); line networks go through [`crate::line`] (sub-line matching) and
//!    [`edge`] (snapping line ends across the old boundaries), run by the `network` module;
//! 4. [`identity`]: `commune_deleguee`, renumbered cadastral ids, parcels outside the merger;
//! 5. [`qa`]: features straddling an old boundary, thin gaps between communes (overlaps,
//!    conflicts and reviews come from the matchers).
//!
//! Every match is logged as a [`Decision`]; every conflict is a [`QaItem`]; nothing is
//! changed silently.

pub mod candidates;
pub mod cluster;
pub mod components;
pub mod decision;
pub mod edge;
pub mod exact;
pub mod identity;
pub mod interned;
pub mod line;
mod network;
pub mod order;
mod pairs;
pub mod point;
pub mod polygon;
pub mod qa;
mod segment;
mod theme;

pub use decision::{Decision, QaItem, ThemeStats};
pub use theme::{merge_theme, MergeContext, ThemeMerge};

/// Name of the output field listing every contributing feature (a JSON array).
pub const SOURCES_FIELD: &str = "sources";
/// INSEE code of the former commune (commune déléguée) a feature belongs to.
pub const DELEGUEE_FIELD: &str = "commune_deleguee";
/// Its name.
pub const DELEGUEE_NAME_FIELD: &str = "commune_deleguee_nom";
/// The id as delivered, when the merge renumbered it.
pub const ID_SOURCE_FIELD: &str = "id_source";

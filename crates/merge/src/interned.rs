//! Reading back the merge's fixed vocabulary (`"merged"`, `"overlap"`, step names…) as
//! `&'static str`, so that a build's cached merge result deserializes into the same types the
//! merge produces. Each distinct word is stored once for the life of the process; the
//! vocabulary is a few dozen words.

use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, OnceLock};

/// A word of the vocabulary. (An alias, not `&'static str` written out: serde's derive
/// would then insist on borrowing it from the input, which a cache file read into a buffer
/// cannot lend.)
pub type Word = &'static str;

/// The one `&'static str` for `word`.
pub fn intern(word: &str) -> &'static str {
    static WORDS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut words = WORDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(w) = words.get(word) {
        return w;
    }
    let w: &'static str = Box::leak(word.to_string().into_boxed_str());
    words.insert(w);
    w
}

/// `#[serde(deserialize_with = "…")]` for a `&'static str` field.
pub fn word<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    Ok(intern(&String::deserialize(d)?))
}

/// `#[serde(deserialize_with = "…")]` for a map keyed by `&'static str`.
pub fn word_keys<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<&'static str, V>, D::Error> {
    Ok(BTreeMap::<String, V>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| (intern(&k), v))
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_word_is_stored_once() {
        let a = super::intern(&String::from("overlap"));
        let b = super::intern("overlap");
        assert!(std::ptr::eq(a, b));
    }
}

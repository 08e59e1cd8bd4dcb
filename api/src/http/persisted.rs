//! Persisted operations, as Apollo Client's persisted-queries link speaks them.
//!
//! A client sends `extensions.persistedQuery = { version: 1, sha256Hash }`, by GET or POST:
//! - with the hash alone, the service runs the document it knows by that hash, or answers the
//!   error `PersistedQueryNotFound` (code `PERSISTED_QUERY_NOT_FOUND`), upon which the client
//!   sends the hash with the document;
//! - with both, it checks that the document has that hash, keeps it, and runs it.
//!
//! `PERSISTED_QUERIES` chooses: `off` (hashes refused), `automatic` (any document is kept, in a
//! bounded store that forgets the least recently used), or `registered`: anonymous callers run
//! only the documents of `PERSISTED_QUERY_MANIFEST` (Apollo's persisted query manifest), so
//! nobody without credentials can send a document of their own making. The manifest's documents
//! are always known, in every mode.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
};

use anyhow::Context;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{auth::Viewer, error::code, lru::Lru};

/// Which documents callers may send by hash, and which anonymous callers may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PersistedQueries {
    Off,
    #[default]
    Automatic,
    Registered,
}

/// Why a request's document could not be had; each with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What a request asks about persisted documents.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: Option<serde_json::Value>,
    sha256_hash: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    operations: Vec<ManifestOperation>,
}

#[derive(Debug, Deserialize)]
struct ManifestOperation {
    id: String,
    body: String,
}

/// The documents this process knows by hash.
pub struct PersistedDocuments {
    mode: PersistedQueries,
    registered: HashMap<String, Arc<str>>,
    automatic: Mutex<Lru<String, Arc<str>>>,
}

/// The SHA-256 of a document, in lower-case hex: its id.
pub fn hash_of(document: &str) -> String {
    format!("{:x}", Sha256::digest(document.as_bytes()))
}

impl PersistedDocuments {
    /// The store, with the manifest's documents when there is one (each checked against its id).
    pub fn new(
        mode: PersistedQueries,
        manifest: Option<&Path>,
        max_entries: usize,
        max_bytes: usize,
    ) -> anyhow::Result<Self> {
        let mut registered = HashMap::new();
        if let Some(path) = manifest {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading PERSISTED_QUERY_MANIFEST {}", path.display()))?;
            let manifest: Manifest = serde_json::from_str(&text).with_context(|| {
                format!(
                    "PERSISTED_QUERY_MANIFEST {} is not a manifest",
                    path.display()
                )
            })?;
            anyhow::ensure!(
                manifest.format == "apollo-persisted-query-manifest" && manifest.version == 1,
                "PERSISTED_QUERY_MANIFEST: expected format apollo-persisted-query-manifest, version 1"
            );
            for operation in manifest.operations {
                anyhow::ensure!(
                    hash_of(&operation.body) == operation.id,
                    "PERSISTED_QUERY_MANIFEST: the id {} is not the SHA-256 of its body",
                    operation.id
                );
                registered.insert(operation.id, Arc::from(operation.body));
            }
        }
        anyhow::ensure!(
            mode != PersistedQueries::Registered || !registered.is_empty(),
            "PERSISTED_QUERIES=registered needs a PERSISTED_QUERY_MANIFEST with operations"
        );
        Ok(Self {
            mode,
            registered,
            automatic: Mutex::new(Lru::new(max_entries, max_bytes)),
        })
    }

    /// The document a request runs: the one it sent, or the one its hash names.
    pub fn document(
        &self,
        query: Option<String>,
        extensions: Option<&serde_json::Value>,
        viewer: &Viewer,
    ) -> Result<Option<String>, Refused> {
        let anonymous = *viewer == Viewer::Anonymous;
        let only_registered = self.mode == PersistedQueries::Registered && anonymous;
        let query = query.filter(|q| !q.trim().is_empty());
        let persisted = extensions
            .and_then(|e| e.get("persistedQuery"))
            .filter(|p| !p.is_null());
        let Some(persisted) = persisted else {
            return match query {
                Some(query)
                    if only_registered && !self.registered.contains_key(&hash_of(&query)) =>
                {
                    Err(not_registered())
                }
                query => Ok(query),
            };
        };
        if self.mode == PersistedQueries::Off {
            return Err(Refused::new(
                code::PERSISTED_QUERY_NOT_SUPPORTED,
                "PersistedQueryNotSupported",
            ));
        }
        let persisted: PersistedQuery = serde_json::from_value(persisted.clone())
            .map_err(|_| invalid("`extensions.persistedQuery` must be an object"))?;
        if persisted.version != Some(serde_json::Value::from(1)) {
            return Err(invalid("only version 1 of persisted queries is known"));
        }
        let hash = persisted
            .sha256_hash
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .filter(|hash| {
                hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
            .ok_or_else(|| {
                Refused::new(
                    code::PERSISTED_QUERY_INVALID_HASH,
                    "`sha256Hash` must be 64 lower-case hexadecimal characters",
                )
            })?;
        if let Some(query) = query {
            if hash_of(&query) != hash {
                return Err(Refused::new(
                    code::PERSISTED_QUERY_HASH_MISMATCH,
                    "the document does not have this sha256Hash",
                ));
            }
            if only_registered && !self.registered.contains_key(hash) {
                return Err(not_registered());
            }
            // Only a document that parses is kept (it still runs, and gets its error): a hash
            // must not name garbage for whoever asks by it next.
            if !self.registered.contains_key(hash)
                && parses(&query)
                && let Ok(mut store) = self.automatic.lock()
            {
                store.put(hash.to_owned(), Arc::from(query.as_str()));
            }
            return Ok(Some(query));
        }
        if let Some(document) = self.registered.get(hash) {
            return Ok(Some(document.to_string()));
        }
        let stored = (!only_registered)
            .then(|| {
                self.automatic
                    .lock()
                    .ok()
                    .and_then(|mut store| store.get(&hash.to_owned()))
            })
            .flatten();
        stored
            .map(|document| Some(document.to_string()))
            .ok_or_else(|| Refused::new(code::PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound"))
    }
}

fn parses(document: &str) -> bool {
    !crate::graphql::nesting::exceeds(document, crate::graphql::nesting::MAX_NESTING)
        && async_graphql::parser::parse_query(document).is_ok()
}

fn invalid(message: &str) -> Refused {
    Refused::new(code::BAD_REQUEST, message)
}

fn not_registered() -> Refused {
    Refused::new(
        code::PERSISTED_QUERY_NOT_REGISTERED,
        "without credentials, only registered operations run here",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(mode: PersistedQueries, entries: usize) -> Option<PersistedDocuments> {
        PersistedDocuments::new(mode, None, entries, 1 << 20).ok()
    }

    fn by_hash(hash: &str) -> serde_json::Value {
        serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
    }

    #[test]
    fn a_hash_alone_is_found_once_its_document_was_sent() {
        let Some(store) = store(PersistedQueries::Automatic, 10) else {
            panic!("the test's own setup failed");
        };
        let query = "{ courses { totalCount } }";
        let hash = hash_of(query);
        let viewer = Viewer::Anonymous;
        assert_eq!(
            store
                .document(None, Some(&by_hash(&hash)), &viewer)
                .map_err(|r| r.code),
            Err(code::PERSISTED_QUERY_NOT_FOUND)
        );
        assert_eq!(
            store.document(Some(query.into()), Some(&by_hash(&hash)), &viewer),
            Ok(Some(query.to_owned()))
        );
        assert_eq!(
            store.document(None, Some(&by_hash(&hash)), &viewer),
            Ok(Some(query.to_owned()))
        );
    }

    #[test]
    fn the_least_recently_used_document_is_forgotten_first() {
        let Some(store) = store(PersistedQueries::Automatic, 2) else {
            panic!("the test's own setup failed");
        };
        let viewer = Viewer::Anonymous;
        let documents = ["{ a }", "{ b }", "{ c }"];
        let send = |d: &str| store.document(Some(d.into()), Some(&by_hash(&hash_of(d))), &viewer);
        let ask = |d: &str| {
            store
                .document(None, Some(&by_hash(&hash_of(d))), &viewer)
                .is_ok()
        };
        assert!(send(documents[0]).is_ok() && send(documents[1]).is_ok());
        assert!(ask(documents[0]), "used again, so b is now the oldest");
        assert!(send(documents[2]).is_ok());
        assert!(ask(documents[0]) && ask(documents[2]));
        assert!(!ask(documents[1]));
    }

    #[test]
    fn a_document_that_does_not_parse_runs_but_is_not_kept() {
        let Some(store) = store(PersistedQueries::Automatic, 10) else {
            panic!("a store of this size can be made");
        };
        let viewer = Viewer::Anonymous;
        let garbage = "{ courses {";
        let hash = hash_of(garbage);
        assert_eq!(
            store.document(Some(garbage.into()), Some(&by_hash(&hash)), &viewer),
            Ok(Some(garbage.to_owned())),
            "it runs, and gets its parse error there"
        );
        assert_eq!(
            store
                .document(None, Some(&by_hash(&hash)), &viewer)
                .map_err(|r| r.code),
            Err(code::PERSISTED_QUERY_NOT_FOUND)
        );
        // `persistedQuery: null` is no persisted query.
        let none = serde_json::json!({ "persistedQuery": null });
        assert_eq!(
            store.document(Some("{ a }".into()), Some(&none), &viewer),
            Ok(Some("{ a }".to_owned()))
        );
    }

    #[test]
    fn bad_hashes_have_codes_of_their_own() {
        let Some(store) = store(PersistedQueries::Automatic, 10) else {
            panic!("the test's own setup failed");
        };
        let viewer = Viewer::Anonymous;
        for hash in ["abc", &"G".repeat(64), &hash_of("x").to_uppercase()] {
            assert_eq!(
                store
                    .document(None, Some(&by_hash(hash)), &viewer)
                    .map_err(|r| r.code),
                Err(code::PERSISTED_QUERY_INVALID_HASH),
                "{hash}"
            );
        }
        assert_eq!(
            store
                .document(
                    Some("{ a }".into()),
                    Some(&by_hash(&hash_of("{ b }"))),
                    &viewer
                )
                .map_err(|r| r.code),
            Err(code::PERSISTED_QUERY_HASH_MISMATCH)
        );
        let Some(off) = self::store(PersistedQueries::Off, 10) else {
            panic!("the test's own setup failed");
        };
        assert_eq!(
            off.document(None, Some(&by_hash(&hash_of("{ a }"))), &viewer)
                .map_err(|r| r.code),
            Err(code::PERSISTED_QUERY_NOT_SUPPORTED)
        );
    }
}

//! API keys: `tpk_` and 48 random hex characters, shown once at creation and stored only as a
//! SHA-256 hash. Keys are random, so a fast hash is as safe as a slow one and costs nothing per request.

use sha2::{Digest, Sha256};

const PREFIX: &str = "tpk_";

/// Whether a bearer credential is an API key (a JWT starts with `eyJ`).
pub fn is_api_key(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

pub fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new key and what is stored of it.
pub struct NewKey {
    pub key: String,
    /// The first characters, to tell keys apart in lists.
    pub prefix: String,
    pub hash: String,
}

pub fn generate() -> anyhow::Result<NewKey> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for an API key: {e}"))?;
    let key = format!(
        "{PREFIX}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    Ok(NewKey {
        prefix: key[..PREFIX.len() + 8].to_owned(),
        hash: hash(&key),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_only_their_hash_matches() {
        let (Ok(a), Ok(b)) = (generate(), generate()) else {
            panic!("no randomness")
        };
        assert_ne!(a.key, b.key);
        assert!(is_api_key(&a.key));
        assert_eq!(hash(&a.key), a.hash);
        assert_ne!(a.hash, b.hash);
        assert!(a.key.starts_with(&a.prefix));
        assert_eq!(a.key.len(), 4 + 48);
    }
}

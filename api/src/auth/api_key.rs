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

/// `bytes` random bytes as hex: a secret for a key or a link.
pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness for a secret: {e}"))?;
    Ok(random.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn generate() -> anyhow::Result<NewKey> {
    let key = format!("{PREFIX}{}", random_hex(24)?);
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

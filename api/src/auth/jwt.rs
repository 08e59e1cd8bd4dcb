//! Bearer tokens: verified locally against configured keys (an HS256 secret, or RS256/ES256 public
//! keys from a PEM or JWKS file), with `exp`, `nbf`, `iss` and `aud` checked and a small clock skew.

use std::{fmt, path::Path};

use anyhow::{Context, bail};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
    errors::ErrorKind, jwk::JwkSet,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Role, Viewer};
use crate::config::{AuthSettings, Environment};

/// The claims this service reads; any others are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<Uuid>,
    /// For actors: their Actor record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<Uuid>,
    pub iss: String,
    pub aud: Audience,
    pub exp: u64,
    /// Optional, as RFC 7519 makes them (Keycloak, for one, sends no `nbf`); checked when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// The `aud` claim: one audience, or several (RFC 7519 allows both; identity providers send
/// either). Which one must be ours is checked by the verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl From<&str> for Audience {
    fn from(audience: &str) -> Self {
        Self::One(audience.to_owned())
    }
}

/// A verified token: who it speaks for, and until when (seconds since the epoch, leeway
/// included), so a long-lived connection can end with it.
#[derive(Debug, Clone)]
pub struct Verified {
    pub viewer: Viewer,
    pub valid_until: u64,
}

/// Why a token was refused; each says what a client can mend, never more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    UnsupportedAlgorithm,
    /// A person's token with a role that only API keys have.
    MachineRole,
    /// An API key that does not exist or was revoked.
    UnknownApiKey,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "the bearer token is not a valid token",
            Self::BadSignature => "the bearer token's signature does not verify",
            Self::Expired => "the bearer token has expired",
            Self::NotYetValid => "the bearer token is not valid yet",
            Self::WrongIssuer => "the bearer token is from another issuer",
            Self::WrongAudience => "the bearer token is meant for another audience",
            Self::UnsupportedAlgorithm => {
                "the bearer token is signed with an algorithm this service does not accept"
            }
            Self::MachineRole => "the bearer token's role is for API keys only",
            Self::UnknownApiKey => "the API key is unknown or revoked",
        })
    }
}

struct VerifyingKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The keys tokens are verified with, and (with a secret) signed with.
pub struct JwtKeys {
    verifying: Vec<VerifyingKey>,
    signing: Option<EncodingKey>,
    issuer: String,
    audience: String,
    leeway_seconds: u64,
}

/// Where the development secret lives when none is configured.
pub const DEV_SECRET_FILE: &str = "dev-jwt-secret";
const MIN_SECRET_BYTES: usize = 32;

impl JwtKeys {
    /// Builds the keys from the settings. In development without keys, a secret is generated
    /// once under the data folder; production refuses to start without real keys.
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Self> {
        let mut verifying = Vec::new();
        let mut signing = None;
        let secret = match (
            &settings.jwt_secret,
            &settings.jwt_public_keys,
            settings.environment,
        ) {
            (Some(secret), _, _) => Some(secret.clone()),
            (None, Some(_), _) => None,
            (None, None, Environment::Production) => {
                bail!("production mode needs JWT_SECRET or JWT_PUBLIC_KEYS to verify tokens")
            }
            (None, None, Environment::Development) => Some(development_secret(&settings.data_dir)?),
        };
        if let Some(secret) = secret {
            if secret.len() < MIN_SECRET_BYTES {
                bail!("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes");
            }
            verifying.push(VerifyingKey {
                kid: None,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(secret.as_bytes()).context("reading JWT_SECRET")?,
            });
            signing =
                Some(EncodingKey::from_secret(secret.as_bytes()).context("reading JWT_SECRET")?);
        }
        if let Some(path) = &settings.jwt_public_keys {
            verifying.extend(public_keys(path)?);
        }
        Ok(Self {
            verifying,
            signing,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            leeway_seconds: settings.jwt_leeway_seconds,
        })
    }

    /// Verifies a token and says who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        let candidates: Vec<_> = self
            .verifying
            .iter()
            .filter(|k| k.algorithm == header.alg)
            .filter(|k| header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
            .collect();
        if candidates.is_empty() {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway_seconds;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let mut outcome = Err(TokenError::BadSignature);
        for candidate in candidates {
            outcome =
                decode::<Claims>(token, &candidate.key, &validation).map_err(|e| match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                    ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                    ErrorKind::InvalidAudience => TokenError::WrongAudience,
                    ErrorKind::InvalidSignature => TokenError::BadSignature,
                    ErrorKind::InvalidAlgorithm => TokenError::UnsupportedAlgorithm,
                    _ => TokenError::Malformed,
                });
            if !matches!(outcome, Err(TokenError::BadSignature)) {
                break;
            }
        }
        let claims = outcome?.claims;
        if !claims.role.is_person() {
            return Err(TokenError::MachineRole);
        }
        // The subject keys rate limits, idempotency keys and the audit trail: it must name someone.
        if claims.sub.trim().is_empty() {
            return Err(TokenError::Malformed);
        }
        Ok(Verified {
            viewer: Viewer::Person {
                subject: claims.sub,
                role: claims.role,
                participant_id: claims.participant_id,
                actor_id: claims.actor_id,
            },
            valid_until: claims.exp.saturating_add(self.leeway_seconds),
        })
    }

    /// Signs a token with the configured secret (for development and tests).
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        record: Option<Uuid>,
        valid_for_seconds: u64,
    ) -> anyhow::Result<String> {
        if !role.is_person() {
            bail!("tokens are for people; machines use API keys (`api-key create`)");
        }
        let key = self
            .signing
            .as_ref()
            .context("tokens can only be issued with JWT_SECRET (or the development secret)")?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            // The record the token speaks for: an actor's Actor, anyone else's Participant.
            participant_id: record.filter(|_| role != Role::Actor),
            actor_id: record.filter(|_| role == Role::Actor),
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
            exp: now.saturating_add(valid_for_seconds),
            nbf: Some(now),
            iat: Some(now),
        };
        encode(&Header::new(Algorithm::HS256), &claims, key).context("signing the token")
    }
}

/// Reads the development secret, creating it (readable by its owner only) the first time.
fn development_secret(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(DEV_SECRET_FILE);
    if let Ok(secret) = std::fs::read_to_string(&path) {
        let _ = crate::private_files::tighten(data_dir);
        let _ = crate::private_files::tighten(&path);
        return Ok(secret.trim().to_owned());
    }
    crate::private_files::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the development secret: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &secret)?;
    tracing::warn!(
        path = %path.display(),
        "development mode: generated a token signing secret; issue tokens with `cargo run -- token issue --role ...`"
    );
    Ok(secret)
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    crate::private_files::write_new(path, content.as_bytes())
        .with_context(|| format!("creating {}", path.display()))
}

/// RS256 or ES256 public keys from a PEM file (one key) or a JWKS file (a JSON key set).
fn public_keys(path: &Path) -> anyhow::Result<Vec<VerifyingKey>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading JWT_PUBLIC_KEYS {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        let set: JwkSet =
            serde_json::from_str(&text).context("JWT_PUBLIC_KEYS is not a JWKS document")?;
        set.keys
            .iter()
            .map(|jwk| {
                let algorithm = match &jwk.common.key_algorithm {
                    Some(jsonwebtoken::jwk::KeyAlgorithm::RS256) => Algorithm::RS256,
                    Some(jsonwebtoken::jwk::KeyAlgorithm::ES256) => Algorithm::ES256,
                    other => bail!(
                        "JWKS key with algorithm {other:?}: only RS256 and ES256 are accepted"
                    ),
                };
                Ok(VerifyingKey {
                    kid: jwk.common.key_id.clone(),
                    algorithm,
                    key: DecodingKey::from_jwk(jwk).context("reading a JWKS key")?,
                })
            })
            .collect()
    } else if let Ok(key) = DecodingKey::from_rsa_pem(text.as_bytes()) {
        Ok(vec![VerifyingKey {
            kid: None,
            algorithm: Algorithm::RS256,
            key,
        }])
    } else {
        let key = DecodingKey::from_ec_pem(text.as_bytes())
            .context("JWT_PUBLIC_KEYS is neither an RSA nor an EC public key")?;
        Ok(vec![VerifyingKey {
            kid: None,
            algorithm: Algorithm::ES256,
            key,
        }])
    }
}

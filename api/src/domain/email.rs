//! E-mail addresses: compared in one normalised form, and watched for look-alikes.
//!
//! A participant's address is their identity here: a second record with a copy of it that
//! differs only in a character that looks the same (a Cyrillic `а` for a Latin `a`) would let
//! someone receive another official's messages. Addresses are kept in Unicode normal form NFKC
//! and lower case; their UTS #39 skeleton (what a reader would take them for) is kept beside
//! them, so that a new address whose skeleton another address already has is refused as
//! `EMAIL_CONFUSABLE`, unless staff accept it on purpose, with a reason.

use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

use super::{booking::Refusal, input};

/// Longest address (RFC 5321's path limit).
const MAX_LENGTH: usize = 254;

/// A plausible address in normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses what a client sent; `field` names it in the refusal.
    pub fn parse(value: &str, field: &str) -> Result<Self, Refusal> {
        let text = input::required(value, field, MAX_LENGTH, false)?;
        let normal = normalise(&text);
        if !plausible(&normal) {
            return Err(Refusal::bad_input(field, "this is not an e-mail address"));
        }
        Ok(Self(normal))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// What a reader would take the address for: equal for look-alikes.
    pub fn skeleton(&self) -> String {
        skeleton_of(&self.0)
    }
}

/// NFKC, trimmed, in lower case, with the domain in Unicode: `exämple.nl` and its ASCII
/// spelling `xn--exmple-cua.nl` are one domain (IDNA), so both are kept as the first. Mailboxes
/// are matched without regard to case in practice, and the service has always kept them so.
pub fn normalise(address: &str) -> String {
    let normal = address.trim().nfkc().collect::<String>().to_lowercase();
    match normal.rsplit_once('@') {
        Some((local, domain)) if domain.split('.').any(|label| label.starts_with("xn--")) => {
            match idna::domain_to_unicode(domain) {
                (unicode, Ok(())) => format!("{local}@{}", unicode.nfkc().collect::<String>()),
                // Not a domain IDNA can read: left as sent, and judged by `plausible`.
                (_, Err(_)) => normal,
            }
        }
        _ => normal,
    }
}

/// The UTS #39 skeleton of an address in normal form, in lower case (a skeleton may map a
/// letter to an upper-case look-alike).
pub fn skeleton_of(normal: &str) -> String {
    skeleton(normal).collect::<String>().to_lowercase()
}

/// One `@`, something before it, a dotted domain after it, and nothing that would let the
/// address break out of a header, a `mailto:` link or a calendar field.
fn plausible(address: &str) -> bool {
    let forbidden = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '"' | '\\' | '<' | '>' | ',' | ';' | ':' | '(' | ')' | '[' | ']'
            )
    };
    if address.chars().any(forbidden) {
        return false;
    }
    address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<EmailAddress> {
        EmailAddress::parse(text, "email").ok()
    }

    #[test]
    fn addresses_are_kept_in_one_normal_form() {
        let address = parse("  Burgemeester@Gemeente.Example.NL ");
        assert_eq!(
            address.map(EmailAddress::into_string).as_deref(),
            Some("burgemeester@gemeente.example.nl")
        );
        // Full-width letters are the same address after NFKC.
        assert_eq!(
            parse("ｂｕｒｇｅｍｅｅｓｔｅｒ@example.nl"),
            parse("burgemeester@example.nl")
        );
    }

    #[test]
    fn a_domain_and_its_ascii_spelling_are_one_address() {
        let unicode = parse("jan@ex\u{e4}mple.nl").map(EmailAddress::into_string);
        let ascii = parse("Jan@XN--exmple-cua.nl").map(EmailAddress::into_string);
        assert_eq!(unicode.as_deref(), Some("jan@ex\u{e4}mple.nl"));
        assert_eq!(unicode, ascii);
        // Not a label IDNA can read: judged as sent.
        assert!(parse("jan@xn--.nl").is_some());
    }

    #[test]
    fn a_look_alike_has_the_same_skeleton_and_another_address_does_not() {
        let latin = parse("jan.de.vries@example.nl").map(|a| a.skeleton());
        let cyrillic = parse("j\u{0430}n.de.vries@example.nl").map(|a| a.skeleton());
        let other = parse("jan.de.vos@example.nl").map(|a| a.skeleton());
        assert!(latin.is_some());
        assert_eq!(latin, cyrillic);
        assert_ne!(latin, other);
        assert_ne!(
            parse("jan.de.vries@example.nl"),
            parse("j\u{0430}n.de.vries@example.nl"),
            "they are different addresses all the same"
        );
    }

    #[test]
    fn what_could_break_out_of_a_header_or_link_is_refused() {
        for text in [
            "a\"b@example.nl",
            "a@b@example.nl",
            "<a@example.nl>",
            "a@example.nl, b@example.nl",
            "a;x@example.nl",
            "a b@example.nl",
            "a\u{202e}@example.nl",
            "a\u{200b}@example.nl",
            "a@example",
            "a@.example.nl",
            "@example.nl",
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
    }
}

//! An e-mail address a student types: one plain `local@domain`, nothing a mail header could
//! be bent with.

use super::Invalid;

/// A checked e-mail address: ASCII letters, digits and the few punctuation marks addresses
/// commonly use before the `@`; a domain of dot-separated labels; no spaces, line breaks,
/// quotes, angle brackets, commas or semicolons (which could add a header or a second
/// recipient); at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Reads a typed address.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let address = raw.trim();
        let bad = || {
            Invalid::new(format!(
                "\"{}\" is not an e-mail address such as name@example.org.",
                address
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(60)
                    .collect::<String>()
            ))
        };
        if address.is_empty() {
            return Err(Invalid::new("Type an e-mail address."));
        }
        if address.len() > 254 {
            return Err(Invalid::new(
                "An e-mail address has at most 254 characters.",
            ));
        }
        let (local, domain) = address.split_once('@').ok_or_else(bad)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && domain.len() <= 253
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(address.to_owned()))
        } else {
            Err(bad())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_pass_and_header_tricks_do_not() {
        for good in ["ana@example.org", " b.c+tag@uni.example.edu ", "x_y@a-b.co"] {
            assert!(EmailAddress::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ana",
            "ana@localhost",
            "ana@example.org\r\nBcc: eve@example.org",
            "ana@example.org\nX: y",
            "Ana <ana@example.org>",
            "ana@example.org, eve@example.org",
            "ana@example.org;eve@example.org",
            "\"ana\"@example.org",
            "ana@@example.org",
            "a..b@example.org",
            "ana@-example.org",
            "ána@example.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            EmailAddress::parse(" ana@example.org ").unwrap().as_str(),
            "ana@example.org"
        );
    }
}

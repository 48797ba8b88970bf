//! The sign-on settings: the site's public address, whether local passwords stay on, and the
//! OpenID Connect providers. One provider can come from the environment alone
//! (`STUDYHALL_OIDC_ISSUER`, `STUDYHALL_OIDC_CLIENT_ID` ...: issue 26's fixed names, read as
//! the `[oidc]` section's keys); a settings file may add more as `[[oidc.providers]]`. The
//! client secret is a `SecretString`: never printed, never in a flag.

use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;

/// The fixed environment names of the single provider's keys (`STUDYHALL_OIDC_ISSUER` is
/// `oidc.issuer`), read like `config`'s older names: the `STUDYHALL_OIDC__ISSUER` spelling
/// wins when both are set.
pub const ENV_NAMES: &[(&str, &str)] = &[
    ("STUDYHALL_OIDC_ISSUER", "oidc.issuer"),
    ("STUDYHALL_OIDC_CLIENT_ID", "oidc.client_id"),
    ("STUDYHALL_OIDC_CLIENT_SECRET", "oidc.client_secret"),
    ("STUDYHALL_OIDC_NAME", "oidc.name"),
    ("STUDYHALL_OIDC_SCOPES", "oidc.scopes"),
    ("STUDYHALL_OIDC_GROUPS_CLAIM", "oidc.groups_claim"),
    ("STUDYHALL_OIDC_USERNAME_CLAIM", "oidc.username_claim"),
    ("STUDYHALL_OIDC_INSTRUCTOR_GROUPS", "oidc.instructor_groups"),
    ("STUDYHALL_OIDC_ADMIN_GROUPS", "oidc.admin_groups"),
    ("STUDYHALL_OIDC_ALLOWED_DOMAINS", "oidc.allowed_domains"),
    (
        "STUDYHALL_OIDC_AUTHORITATIVE_DOMAINS",
        "oidc.authoritative_domains",
    ),
    ("STUDYHALL_OIDC_REQUIRED_CLAIM", "oidc.required_claim"),
];

/// The key of the provider configured in `[oidc]` (or the environment).
pub const DEFAULT_KEY: &str = "default";

/// The `[oidc]` section as a layer spells it: the single provider's keys, and more providers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcLayer {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    name: Option<String>,
    scopes: Option<String>,
    groups_claim: Option<String>,
    username_claim: Option<String>,
    instructor_groups: Option<String>,
    admin_groups: Option<String>,
    allowed_domains: Option<String>,
    authoritative_domains: Option<String>,
    required_claim: Option<String>,
    #[serde(default)]
    providers: Vec<ProviderLayer>,
}

/// One of `[[oidc.providers]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderLayer {
    key: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    name: Option<String>,
    scopes: Option<String>,
    groups_claim: Option<String>,
    username_claim: Option<String>,
    instructor_groups: Option<String>,
    admin_groups: Option<String>,
    allowed_domains: Option<String>,
    authoritative_domains: Option<String>,
    required_claim: Option<String>,
}

/// One provider, checked.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Its short name in URLs and the identities table's log lines (`default` for `[oidc]`).
    pub key: String,
    /// The issuer, exactly as the provider publishes it.
    pub issuer: String,
    /// The client id studyhall was registered with.
    pub client_id: String,
    /// The client secret (None: a public client, PKCE only).
    pub client_secret: Option<SecretString>,
    /// The login button's label.
    pub name: String,
    /// The scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The claim holding the user's groups or roles.
    pub groups_claim: String,
    /// The claim a new account's username is made from.
    pub username_claim: String,
    /// Groups that make a user an instructor.
    pub instructor_groups: Vec<String>,
    /// Groups that make a user an admin.
    pub admin_groups: Vec<String>,
    /// E-mail domains allowed to sign on (empty: any).
    pub allowed_domains: Vec<String>,
    /// E-mail domains this provider is the authority for: a first sign-on whose verified
    /// e-mail is in one of them is linked to the one account here with that confirmed address
    /// (empty: never linked by e-mail).
    pub authoritative_domains: Vec<String>,
    /// A claim every sign-on must carry (None: no such rule).
    pub required_claim: Option<RequiredClaim>,
}

/// A claim a sign-on must carry: `name` (present and neither false, empty nor null) or
/// `name=value` (equal to the value, or a list holding it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredClaim {
    /// The claim's name.
    pub name: String,
    /// The value it must have (or hold), if any.
    pub value: Option<String>,
}

impl RequiredClaim {
    fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().to_owned())),
            None => (text, None),
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/'))
        {
            return Err("must be a claim's name, or name=value".to_owned());
        }
        if value.as_deref() == Some("") {
            return Err("name= needs a value (or leave out the =)".to_owned());
        }
        Ok(Some(Self {
            name: name.to_owned(),
            value,
        }))
    }
}

impl fmt::Display for RequiredClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}={value}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// Everything about signing on.
#[derive(Debug, Clone)]
pub struct SignOn {
    /// The site's external base URL, without a trailing slash (needed with a provider).
    pub public_url: Option<String>,
    /// Whether local passwords (login and registration) are on.
    pub local_login: bool,
    /// The providers, in the order their buttons show.
    pub providers: Vec<ProviderSettings>,
}

impl Default for SignOn {
    fn default() -> Self {
        Self {
            public_url: None,
            local_login: true,
            providers: Vec::new(),
        }
    }
}

/// A setting's key and what is wrong with it.
pub type Invalid = (String, String);

/// A comma-separated list, trimmed, empty items dropped.
fn list(text: Option<&str>) -> Vec<String> {
    text.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A comma-separated list of e-mail domains, lowercased; an item with `@` or a space is a
/// mistake (a domain, not an address).
fn domains(text: Option<&str>) -> Result<Vec<String>, String> {
    let items: Vec<String> = list(text)
        .into_iter()
        .map(|d| d.to_ascii_lowercase())
        .collect();
    if let Some(bad) = items.iter().find(|d| d.contains(['@', ' '])) {
        return Err(format!(
            "{bad:?} is not an e-mail domain such as example.edu"
        ));
    }
    Ok(items)
}

impl ProviderLayer {
    fn check(self, at: &str) -> Result<ProviderSettings, Invalid> {
        let invalid = |key: &str, message: &str| (format!("{at}.{key}"), message.to_owned());
        let key = self.key.unwrap_or_default();
        if key.is_empty()
            || key.len() > 32
            || !key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "key",
                "must be 1 to 32 lowercase letters, digits or -",
            ));
        }
        let issuer = self
            .issuer
            .filter(|i| !i.trim().is_empty())
            .ok_or_else(|| invalid("issuer", "is required"))?;
        let parsed =
            url::Url::parse(&issuer).map_err(|e| invalid("issuer", &format!("not a URL: {e}")))?;
        // Discovery, the keys and the code exchange travel to the issuer: over plain HTTP
        // anyone on the path could swap the keys and sign any login. Plain HTTP only to this
        // machine (a provider for tests or behind a local proxy).
        let loopback = match parsed.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(invalid(
                    "issuer",
                    "must be an https URL (plain http only to localhost)",
                ));
            }
        }
        let client_id = self
            .client_id
            .filter(|i| !i.trim().is_empty())
            .ok_or_else(|| invalid("client_id", "is required with an issuer"))?;
        let mut scopes = list(
            self.scopes
                .as_deref()
                .map(|s| s.replace(' ', ","))
                .as_deref(),
        );
        if self.scopes.is_none() {
            scopes = vec!["email".to_owned(), "profile".to_owned()];
        }
        scopes.retain(|s| s != "openid");
        Ok(ProviderSettings {
            key,
            issuer,
            client_id,
            client_secret: self.client_secret,
            name: self
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "Sign on with your university account".to_owned()),
            scopes,
            groups_claim: self
                .groups_claim
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "groups".to_owned()),
            username_claim: self
                .username_claim
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "preferred_username".to_owned()),
            instructor_groups: list(self.instructor_groups.as_deref()),
            admin_groups: list(self.admin_groups.as_deref()),
            allowed_domains: domains(self.allowed_domains.as_deref())
                .map_err(|m| invalid("allowed_domains", &m))?,
            authoritative_domains: domains(self.authoritative_domains.as_deref())
                .map_err(|m| invalid("authoritative_domains", &m))?,
            required_claim: RequiredClaim::parse(self.required_claim.as_deref().unwrap_or(""))
                .map_err(|m| invalid("required_claim", &m))?,
        })
    }
}

impl SignOn {
    /// Checks the layers: `public_url` and `local_login` are top-level keys.
    pub fn check(public_url: &str, local_login: &str, oidc: OidcLayer) -> Result<SignOn, Invalid> {
        let local_login = match local_login.trim() {
            "on" | "true" => true,
            "off" | "false" => false,
            _ => return Err(("local_login".to_owned(), "must be on or off".to_owned())),
        };
        let mut providers = Vec::new();
        if oidc.issuer.is_some() || oidc.client_id.is_some() {
            let single = ProviderLayer {
                key: Some(DEFAULT_KEY.to_owned()),
                issuer: oidc.issuer,
                client_id: oidc.client_id,
                client_secret: oidc.client_secret,
                name: oidc.name,
                scopes: oidc.scopes,
                groups_claim: oidc.groups_claim,
                username_claim: oidc.username_claim,
                instructor_groups: oidc.instructor_groups,
                admin_groups: oidc.admin_groups,
                allowed_domains: oidc.allowed_domains,
                authoritative_domains: oidc.authoritative_domains,
                required_claim: oidc.required_claim,
            };
            providers.push(single.check("oidc")?);
        }
        for (i, layer) in oidc.providers.into_iter().enumerate() {
            providers.push(layer.check(&format!("oidc.providers[{i}]"))?);
        }
        for (i, p) in providers.iter().enumerate() {
            if providers[..i].iter().any(|q| q.key == p.key) {
                return Err((
                    "oidc.providers".to_owned(),
                    format!("the key {:?} is used twice", p.key),
                ));
            }
        }
        let public_url =
            Some(public_url.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty());
        if let Some(url) = &public_url {
            let parsed = url::Url::parse(url)
                .map_err(|e| ("public_url".to_owned(), format!("not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "https" | "http") || parsed.query().is_some() {
                return Err((
                    "public_url".to_owned(),
                    "must be the site's http(s) base URL".to_owned(),
                ));
            }
        } else if !providers.is_empty() {
            return Err((
                "public_url".to_owned(),
                "is required with a sign-on provider (the redirect URI is built from it)"
                    .to_owned(),
            ));
        }
        Ok(SignOn {
            public_url,
            local_login,
            providers,
        })
    }

    /// The redirect URI registered at every provider.
    pub fn redirect_uri(&self) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| format!("{u}/auth/oidc/callback"))
    }

    /// The provider with this key.
    pub fn provider(&self, key: &str) -> Option<&ProviderSettings> {
        self.providers.iter().find(|p| p.key == key)
    }
}

/// The top-level lines (`public_url`, `local_login`) as a settings file spells them.
pub struct TopLevel<'a>(pub &'a SignOn);

impl fmt::Display for TopLevel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "public_url = {:?}",
            self.0.public_url.as_deref().unwrap_or("")
        )?;
        writeln!(
            f,
            "local_login = {:?}",
            if self.0.local_login { "on" } else { "off" }
        )
    }
}

/// The providers as `[[oidc.providers]]` tables, each secret masked.
impl fmt::Display for SignOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.providers {
            writeln!(f, "\n[[oidc.providers]]")?;
            writeln!(f, "key = {:?}", p.key)?;
            writeln!(f, "issuer = {:?}", p.issuer)?;
            writeln!(f, "client_id = {:?}", p.client_id)?;
            if p.client_secret.is_some() {
                writeln!(f, "# client_secret: set, and never printed")?;
            }
            writeln!(f, "name = {:?}", p.name)?;
            writeln!(f, "scopes = {:?}", p.scopes.join(" "))?;
            writeln!(f, "groups_claim = {:?}", p.groups_claim)?;
            writeln!(f, "username_claim = {:?}", p.username_claim)?;
            writeln!(f, "instructor_groups = {:?}", p.instructor_groups.join(","))?;
            writeln!(f, "admin_groups = {:?}", p.admin_groups.join(","))?;
            writeln!(f, "allowed_domains = {:?}", p.allowed_domains.join(","))?;
            writeln!(
                f,
                "authoritative_domains = {:?}",
                p.authoritative_domains.join(",")
            )?;
            if let Some(required) = &p.required_claim {
                writeln!(f, "required_claim = {:?}", required.to_string())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Cli, Settings};
    use clap::Parser;
    use std::path::Path;

    fn load(args: &[&str], vars: &[(&str, &str)]) -> Result<Settings, String> {
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        let env = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Settings::load_from(&cli, env, Path::new("/nonexistent/studyhall.toml"))
            .map_err(|e| e.to_string())
    }

    const ENV: &[(&str, &str)] = &[
        ("STUDYHALL_PUBLIC_URL", "https://study.example.edu/"),
        (
            "STUDYHALL_OIDC_ISSUER",
            "https://login.example.edu/realms/campus",
        ),
        ("STUDYHALL_OIDC_CLIENT_ID", "studyhall"),
        ("STUDYHALL_OIDC_CLIENT_SECRET", "s3cret-client-pass"),
        ("STUDYHALL_OIDC_NAME", "Sign on with Example U"),
        ("STUDYHALL_OIDC_INSTRUCTOR_GROUPS", "cs7643-staff, tas"),
        ("STUDYHALL_OIDC_ADMIN_GROUPS", "it"),
        (
            "STUDYHALL_OIDC_ALLOWED_DOMAINS",
            "Example.edu,students.example.edu",
        ),
        ("STUDYHALL_OIDC_AUTHORITATIVE_DOMAINS", "Example.edu"),
        ("STUDYHALL_OIDC_REQUIRED_CLAIM", "affiliation = student"),
        ("STUDYHALL_LOCAL_LOGIN", "off"),
    ];

    #[test]
    fn one_provider_comes_from_the_environment_alone_by_the_fixed_names() {
        let settings = load(&["studyhall"], ENV).expect("loads");
        let sign_on = &settings.sign_on;
        assert_eq!(
            sign_on.redirect_uri().as_deref(),
            Some("https://study.example.edu/auth/oidc/callback")
        );
        assert!(!sign_on.local_login);
        let [p] = sign_on.providers.as_slice() else {
            panic!("one provider: {sign_on:?}");
        };
        assert_eq!(p.key, "default");
        assert_eq!(p.issuer, "https://login.example.edu/realms/campus");
        assert_eq!(p.client_id, "studyhall");
        assert_eq!(p.name, "Sign on with Example U");
        assert_eq!(p.groups_claim, "groups", "the default claim");
        assert_eq!(p.instructor_groups, ["cs7643-staff", "tas"]);
        assert_eq!(p.admin_groups, ["it"]);
        assert_eq!(p.allowed_domains, ["example.edu", "students.example.edu"]);
        assert_eq!(p.scopes, ["email", "profile"]);
        assert_eq!(p.authoritative_domains, ["example.edu"]);
        assert_eq!(
            p.required_claim,
            Some(super::RequiredClaim {
                name: "affiliation".to_owned(),
                value: Some("student".to_owned()),
            })
        );
        let defaults = load(&["studyhall"], &[]).expect("loads");
        assert!(defaults.sign_on.providers.is_empty());
        assert!(
            defaults.sign_on.local_login,
            "local passwords are on by default"
        );
    }

    #[test]
    fn the_client_secret_is_never_printed_and_the_printout_reads_back() {
        let settings = load(&["studyhall"], ENV).expect("loads");
        for shown in [format!("{settings}"), format!("{settings:?}")] {
            assert!(!shown.contains("s3cret-client-pass"), "{shown}");
        }
        let printed = settings.to_string();
        assert!(printed.contains("# client_secret: set, and never printed"));
        let file = tempfile::Builder::new()
            .suffix(".toml")
            .tempfile()
            .expect("a file");
        std::fs::write(file.path(), &printed).expect("written");
        let path = file.path().to_str().expect("utf-8");
        let again = load(&["studyhall", "--config", path], &[]).expect("the printout loads");
        assert_eq!(
            again
                .to_string()
                .replace("# client_secret: set, and never printed\n", ""),
            printed.replace("# client_secret: set, and never printed\n", "")
        );
    }

    #[test]
    fn a_settings_file_adds_providers_and_mistakes_are_named() {
        let file = tempfile::Builder::new()
            .suffix(".toml")
            .tempfile()
            .expect("a file");
        std::fs::write(
            file.path(),
            "public_url = \"https://study.example.edu\"\n\
             [[oidc.providers]]\nkey = \"google\"\nissuer = \"https://accounts.google.com\"\n\
             client_id = \"abc\"\nname = \"Google\"\n",
        )
        .expect("written");
        let path = file.path().to_str().expect("utf-8");
        let settings = load(&["studyhall", "--config", path], ENV).expect("loads");
        let keys: Vec<&str> = settings
            .sign_on
            .providers
            .iter()
            .map(|p| p.key.as_str())
            .collect();
        assert_eq!(keys, ["default", "google"]);

        let error = load(
            &["studyhall"],
            &[
                ("STUDYHALL_OIDC_ISSUER", "https://login.example.edu"),
                ("STUDYHALL_OIDC_CLIENT_ID", "x"),
            ],
        )
        .expect_err("a provider needs the public URL");
        assert!(error.contains("public_url"), "{error}");
        let error = load(
            &["studyhall"],
            &[
                ("STUDYHALL_PUBLIC_URL", "https://s.example.edu"),
                ("STUDYHALL_OIDC_ISSUER", "https://login.example.edu"),
            ],
        )
        .expect_err("an issuer needs a client id");
        assert!(error.contains("oidc.client_id"), "{error}");
        let provider = [
            ("STUDYHALL_PUBLIC_URL", "https://s.example.edu"),
            ("STUDYHALL_OIDC_ISSUER", "https://login.example.edu"),
            ("STUDYHALL_OIDC_CLIENT_ID", "x"),
        ];
        for (name, value, key) in [
            (
                "STUDYHALL_OIDC_AUTHORITATIVE_DOMAINS",
                "ada@example.edu",
                "oidc.authoritative_domains",
            ),
            ("STUDYHALL_OIDC_REQUIRED_CLAIM", "=x", "oidc.required_claim"),
            (
                "STUDYHALL_OIDC_REQUIRED_CLAIM",
                "affiliation=",
                "oidc.required_claim",
            ),
        ] {
            let mut vars = provider.to_vec();
            vars.push((name, value));
            let error = load(&["studyhall"], &vars).expect_err(value);
            assert!(error.contains(key), "{error}");
        }
        // Plain HTTP only to this machine.
        for (issuer, ok) in [
            ("http://login.example.edu", false),
            ("ftp://login.example.edu", false),
            ("http://10.0.0.8:8080", false),
            ("http://127.0.0.1:8080", true),
            ("http://localhost:9000/realms/x", true),
            ("http://[::1]:9000", true),
        ] {
            let mut vars = provider.to_vec();
            vars[1] = ("STUDYHALL_OIDC_ISSUER", issuer);
            let loaded = load(&["studyhall"], &vars);
            assert_eq!(loaded.is_ok(), ok, "{issuer}");
            if let Err(error) = loaded {
                assert!(error.contains("oidc.issuer"), "{error}");
            }
        }
        let mut vars = provider.to_vec();
        vars.push(("STUDYHALL_OIDC_REQUIRED_CLAIM", "staff"));
        let settings = load(&["studyhall"], &vars).expect("a bare name is a claim to carry");
        let required = settings.sign_on.providers[0].required_claim.clone();
        assert_eq!(required.map(|r| r.to_string()).as_deref(), Some("staff"));
        let error =
            load(&["studyhall"], &[("STUDYHALL_LOCAL_LOGIN", "maybe")]).expect_err("on or off");
        assert!(error.contains("local_login"), "{error}");
    }
}

//! University sign-on (issue 26): a login started at an OpenID provider and finished here.
//!
//! [`begin`] keeps the login's state, nonce and PKCE verifier in the database (found by the
//! state's hash, bound to the browser by a cookie's hash, good for ten minutes, taken once),
//! so a login started on one app server finishes on any other. [`complete`] takes that record,
//! has `auth::oidc` exchange the code and verify the ID token, and then, in one transaction,
//! finds the account by (issuer, subject), or creates a student, applies the provider's role
//! mapping and opens a new session. Any failure changes nothing but using up the state.

mod address;

use super::actor::Actor;
use super::{Forget, Stale, StudyError, accounts};
use crate::auth::oidc::{self, Providers, SignOnError};
use crate::auth::session;
use crate::db;
use crate::db::Pool;
use crate::db::identities::{FlowRow, NewIdentity};
use crate::domain::{TimeZoneName, Username};
use address::{Brought, follow_address, owner_by_email};

/// What the password hash of an account made by sign-on holds: no argon2 string, so no
/// password ever matches it.
pub const NO_PASSWORD: &str = "!sign-on";

/// Why a sign-on did not sign anyone on. Each leaves the accounts as they were.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// No provider has this key.
    #[error("There is no such sign-on provider.")]
    UnknownProvider,
    /// The provider could not be reached (or answered nonsense).
    #[error(
        "The sign-on provider could not be reached. Try again in a while, or log in with your password."
    )]
    Unreachable,
    /// The person declined at the provider.
    #[error("Sign-on was cancelled at the provider; nothing was changed.")]
    Denied,
    /// No login under way matches: a wrong, replayed or expired state, or another browser.
    #[error(
        "This sign-on link is not valid (used already, too old, or from another browser). Start again from the login page."
    )]
    BadState,
    /// The provider's answer failed a check.
    #[error("The sign-on provider's answer could not be verified; nothing was changed.")]
    Refused,
    /// The e-mail's domain is not allowed here.
    #[error("Accounts of this e-mail domain cannot sign on to this site.")]
    Domain,
    /// The account is disabled.
    #[error("This account is disabled; ask an administrator.")]
    Disabled,
    /// The identity is linked to another account.
    #[error("This identity is already linked to another account.")]
    LinkedElsewhere,
    /// An account here has the e-mail address the provider sent, which the provider has not
    /// verified: no account is joined to it by that address, and no second one is made. (The
    /// page does not say that an account has the address.)
    #[error(
        "Your sign-on provider has not verified your e-mail address, so this site cannot sign you on with it yet. If you have an account here, log in with your password and link your institution account from your account page; or ask your institution to verify the address. Nothing was changed."
    )]
    Unverified,
    /// A link's callback came to a browser no longer signed in as the account that started it.
    #[error(
        "This browser is no longer signed in as the account that started linking, so nothing was linked or changed. Log in and start again from your account page."
    )]
    LinkerGone,
    /// The provider's answer lacks the claim the operator requires.
    #[error(
        "Your institution account is not one this site accepts (it lacks what the site requires to sign on); nothing was changed. Ask the site's administrator if you think it should be."
    )]
    MissingClaim,
    /// The store failed.
    #[error(transparent)]
    Study(#[from] StudyError),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Study(e.into())
    }
}

fn from_sign_on(provider: &str, e: SignOnError) -> Failure {
    match e {
        SignOnError::UnknownProvider => Failure::UnknownProvider,
        SignOnError::Unreachable(why) => {
            tracing::warn!(%provider, %why, "sign-on provider unreachable");
            Failure::Unreachable
        }
        SignOnError::Refused(why) => {
            tracing::warn!(%provider, %why, "sign-on refused");
            Failure::Refused
        }
    }
}

/// Logins under way from one address (a lecture hall behind one NAT signing on at once stays
/// well inside; past it, 429): each is a row for ten minutes, so whoever loops on the login
/// link cannot grow the table without end.
pub const FLOWS_PER_ADDRESS: i64 = 500;
/// Logins under way on the whole site. Past it the oldest make room rather than the site
/// refusing new ones: a refusal would let anyone with enough addresses lock every student out
/// by filling the table once, where making room means evicting a student's login only by
/// starting this many newer ones in the half-minute they spend at the provider.
pub const FLOWS_IN_ALL: i64 = 50_000;

/// A login sent off to the provider.
#[derive(Debug)]
pub struct Started {
    /// Where to send the browser.
    pub url: String,
    /// The value of the browser's flow cookie, which binds the login to it.
    pub browser_token: String,
}

/// Starts a login at provider `key` (`link_user`: a signed-in user linking it to their
/// account; `next`: where to go afterwards, already checked by the caller; `time_zone`: the
/// browser's, for an account this login makes).
#[allow(clippy::too_many_arguments)]
pub async fn begin(
    pool: &Pool,
    providers: &Providers,
    key: &str,
    link_user: Option<i64>,
    next: &str,
    time_zone: Option<&TimeZoneName>,
    ip: std::net::IpAddr,
    now: i64,
) -> Result<Started, Failure> {
    let begun = providers
        .begin(key, link_user.is_some())
        .await
        .map_err(|e| from_sign_on(key, e))?;
    let browser_token = session::random_token();
    let flow = FlowRow {
        state_hash: session::token_hash(&begun.state),
        browser_hash: session::token_hash(&browser_token),
        provider: key.to_owned(),
        nonce: begun.nonce,
        pkce_verifier: begun.pkce_verifier,
        link_user_id: link_user,
        next: next.to_owned(),
        client: crate::auth::throttle::client_key(ip),
        expires_at: now + oidc::FLOW_SECONDS,
        time_zone: time_zone.map(|z| z.as_str().to_owned()).unwrap_or_default(),
    };
    // Anyone may start a sign-on: the lock is this address's, not the site's (the site-wide
    // cap may then be passed by a few logins started at the same moment elsewhere, and two of
    // them may make room by the same oldest rows).
    let mut tx = db::begin_write_of(pool, &[db::Rows::named(&flow.client)]).await?;
    let (here, all) = db::identities::flows_under_way(&mut tx, &flow.client, now).await?;
    if here >= FLOWS_PER_ADDRESS {
        return Err(Failure::Study(StudyError::TooManyRequests {
            retry_after_secs: 60,
        }));
    }
    if all >= FLOWS_IN_ALL {
        db::identities::drop_oldest_flows(&mut tx, all - FLOWS_IN_ALL + 1).await?;
    }
    db::identities::insert_flow(&mut tx, &flow, now).await?;
    tx.commit().await?;
    Ok(Started {
        url: begun.url,
        browser_token,
    })
}

/// What the provider sent back to the callback.
#[derive(Debug, Default)]
pub struct Callback<'a> {
    /// `state`.
    pub state: Option<&'a str>,
    /// `code`.
    pub code: Option<&'a str>,
    /// `error` (`access_denied` when the person declined).
    pub error: Option<&'a str>,
}

/// How a sign-on ended.
#[derive(Debug)]
pub enum Done {
    /// Signed on: a new session.
    SignedOn {
        /// The session's token, for the cookie.
        token: String,
        /// Where to go (a join link), or None for the decks.
        next: Option<String>,
        /// Whether the account was made by this login.
        created: bool,
    },
    /// A signed-in user linked a provider to their account.
    Linked,
}

/// Finishes a login: the flow record (taken once, whatever happens next), the provider's
/// answer, then the account and a new session in one transaction. `signed_in`: the user the
/// browser is signed in as now (a link finishes only for the user who started it).
pub async fn complete(
    pool: &Pool,
    sessions: &dyn Forget,
    providers: &Providers,
    browser_token: Option<&str>,
    signed_in: Option<i64>,
    callback: Callback<'_>,
    now: i64,
) -> Result<Done, Failure> {
    let provider_error = |error: &str, provider: &str| {
        if error == "access_denied" {
            Failure::Denied
        } else {
            tracing::warn!(%provider, %error, "sign-on error from the provider");
            Failure::Refused
        }
    };
    let Some(state) = callback.state else {
        // An error answer without the state (some providers drop it on a denial) is still the
        // provider's answer: nothing to take, nothing to change.
        return Err(callback
            .error
            .map_or(Failure::BadState, |e| provider_error(e, "?")));
    };
    let flow = db::identities::take_flow(pool, &session::token_hash(state))
        .await?
        .ok_or(Failure::BadState)?;
    let same_browser = browser_token.is_some_and(|t| session::token_hash(t) == flow.browser_hash);
    if flow.expires_at <= now || !same_browser {
        return Err(Failure::BadState);
    }
    if let Some(error) = callback.error {
        return Err(provider_error(error, &flow.provider));
    }
    // A link started by one signed-in user finishes only in a browser still signed in as that
    // user (not after a logout, nor once someone else signed in there).
    if flow.link_user_id.is_some() && flow.link_user_id != signed_in {
        return Err(Failure::LinkerGone);
    }
    let code = callback.code.ok_or(Failure::Refused)?;
    let verified = providers
        .finish(&flow.provider, code, &flow.nonce, &flow.pkce_verifier)
        .await
        .map_err(|e| from_sign_on(&flow.provider, e))?;
    let provider = providers
        .settings()
        .provider(&flow.provider)
        .ok_or(Failure::UnknownProvider)?;
    // Only an address the provider checked counts: on a provider many organisations share,
    // anyone may type `someone@allowed.edu` into their profile unchecked.
    let checked_email = verified
        .email
        .as_deref()
        .filter(|_| verified.email_verified);
    if !oidc::domain_allowed(&provider.allowed_domains, checked_email) {
        return Err(Failure::Domain);
    }
    if !verified.carries_required_claim {
        return Err(Failure::MissingClaim);
    }
    let seen = Seen {
        provider,
        verified: &verified,
        checked_email,
        now,
    };
    let (mut tx, known) = sign_on_transaction(pool, &flow, &verified, checked_email).await?;
    if let Some(user_id) = flow.link_user_id {
        match known {
            Some(identity) if identity.user_id != user_id => return Err(Failure::LinkedElsewhere),
            Some(identity) => seen.again(&mut tx, &identity).await?,
            None => {
                seen.first(&mut tx, user_id).await?;
                tracing::info!(user_id, provider = %provider.key, "identity linked");
            }
        }
        tx.commit().await?;
        return Ok(Done::Linked);
    }
    let (user_id, created) = match known {
        Some(identity) => {
            // The same person, whatever their e-mail or name is now: the account is updated,
            // never doubled.
            seen.again(&mut tx, &identity).await?;
            (identity.user_id, false)
        }
        None => {
            let owner = owner_by_email(&mut tx, providers.settings(), provider, &verified).await?;
            let (user_id, created) = match owner {
                Some(user_id) => {
                    tracing::info!(user_id, provider = %provider.key, "identity linked by its verified e-mail");
                    (user_id, false)
                }
                None => {
                    let username = free_username(&mut tx, verified.username.as_deref()).await?;
                    // A student, whatever the site's size: sign-on makes an admin only through
                    // the provider's mapped admin groups (below), never by being first; the
                    // command-line admin is the way into an empty site.
                    let user_id = db::users::create_with_role(
                        &mut *tx,
                        username.as_str(),
                        NO_PASSWORD,
                        "student",
                        now,
                    )
                    .await?;
                    if let Ok(zone) = TimeZoneName::parse(&flow.time_zone) {
                        db::users::set_time_zone(&mut *tx, user_id, zone.as_str()).await?;
                    }
                    tracing::info!(user_id, %username, provider = %provider.key, "account created by sign-on");
                    (user_id, true)
                }
            };
            seen.first(&mut tx, user_id).await?;
            (user_id, created)
        }
    };
    let user = db::users::find(&mut *tx, user_id)
        .await?
        .ok_or(Failure::Study(StudyError::NotFound))?;
    if user.disabled {
        return Err(Failure::Disabled);
    }
    // The role follows the provider's groups at every login, the first included, when the
    // operator mapped any; a site that maps none keeps roles as its admins set them, but not
    // a role another provider's groups gave (this login cannot confirm those groups). The
    // break-glass admin's role is never the provider's to change.
    let origin = db::users::role_origin(&mut *tx, user_id)
        .await?
        .ok_or(Failure::Study(StudyError::NotFound))?;
    let maps_groups = !provider.instructor_groups.is_empty() || !provider.admin_groups.is_empty();
    if !origin.break_glass && maps_groups {
        let role = oidc::role_for(provider, &verified.groups);
        if role.as_str() != origin.role || origin.role_source.as_deref() != Some(&provider.key) {
            db::users::set_role_from(&mut *tx, user_id, role.as_str(), &provider.key).await?;
        }
        if role.as_str() != origin.role {
            tracing::info!(
                user_id,
                provider = %provider.key,
                from = %origin.role,
                to = role.as_str(),
                "role changed by the provider's groups"
            );
        }
    } else {
        accounts::take_back_provider_role(&mut tx, user_id, |source| source != provider.key)
            .await?;
    }
    let token = accounts::open_session(&mut tx, user_id, now).await?;
    db::identities::remember_session(
        &mut *tx,
        &session::token_hash(&token),
        &provider.key,
        &verified.id_token,
    )
    .await?;
    tx.commit().await?;
    sessions.forget(Stale::User(user_id));
    Ok(Done::SignedOn {
        token,
        next: Some(flow.next).filter(|n| !n.is_empty()),
        created,
    })
}

/// What a sign-on's provider said, as the identity's record and the account's address take it.
struct Seen<'a> {
    provider: &'a oidc::settings::ProviderSettings,
    verified: &'a oidc::Verified,
    /// The e-mail, when the provider verified it.
    checked_email: Option<&'a str>,
    now: i64,
}

impl Seen<'_> {
    fn email(&self) -> &str {
        self.checked_email.unwrap_or("")
    }

    fn name(&self) -> &str {
        self.verified.name.as_deref().unwrap_or("")
    }

    /// A known identity signs on again: its record and the address it brought follow the
    /// provider (the same person, whatever their e-mail or name is now).
    async fn again(
        &self,
        tx: &mut db::Conn,
        identity: &db::identities::IdentityRow,
    ) -> Result<(), Failure> {
        db::identities::seen(&mut *tx, identity.id, self.email(), self.name(), self.now).await?;
        let brought = Brought::known(identity);
        follow_address(
            tx,
            self.provider,
            identity.user_id,
            brought,
            self.checked_email,
            self.now,
        )
        .await
    }

    /// A new identity, linked to `user_id`'s account, and the address it brings.
    async fn first(&self, tx: &mut db::Conn, user_id: i64) -> Result<(), Failure> {
        let identity = NewIdentity {
            user_id,
            provider: &self.provider.key,
            issuer: &self.verified.issuer,
            subject: &self.verified.subject,
            email: self.email(),
            name: self.name(),
        };
        let id = db::identities::insert(&mut *tx, &identity, self.now).await?;
        follow_address(
            tx,
            self.provider,
            user_id,
            Brought::new(id),
            self.checked_email,
            self.now,
        )
        .await
    }
}

/// The write transaction a sign-on runs in, and the identity it signs on with if known. A
/// returning identity (the morning's many sign-ons) changes only its account's rows and the
/// address it brings (whose other owners it reads), so on PostgreSQL it locks just those and
/// runs beside other accounts' writes; a first sign-on or a link (which may create an account,
/// or join one by e-mail) runs alone, as other writes that read across accounts do. Should the
/// identity have been unlinked or moved between the first look and the lock, the sign-on
/// starts again under the site-wide lock.
async fn sign_on_transaction(
    pool: &Pool,
    flow: &FlowRow,
    verified: &oidc::Verified,
    checked_email: Option<&str>,
) -> Result<(db::Tx, Option<db::identities::IdentityRow>), Failure> {
    let returning = match flow.link_user_id {
        Some(_) => None,
        None => db::identities::find(pool, &verified.issuer, &verified.subject).await?,
    };
    if let Some(first_look) = returning {
        let mut rows = vec![db::Rows::of_user(first_look.user_id)];
        if let Some(address) = checked_email {
            rows.push(db::Rows::named(&format!(
                "address:{}",
                address.to_ascii_lowercase()
            )));
        }
        let mut tx = db::begin_write_of(pool, &rows).await?;
        let known = db::identities::find(&mut *tx, &verified.issuer, &verified.subject).await?;
        if known
            .as_ref()
            .is_some_and(|k| k.user_id == first_look.user_id)
        {
            return Ok((tx, known));
        }
        tx.rollback().await?;
    }
    let mut tx = db::begin_write(pool).await?;
    let known = db::identities::find(&mut *tx, &verified.issuer, &verified.subject).await?;
    Ok((tx, known))
}

/// A username for a new account from the provider's claim (an e-mail's local part, letters,
/// digits, `.`, `_` and `-`), made unique with `-2`, `-3` ... when taken.
async fn free_username(tx: &mut db::Conn, claim: Option<&str>) -> Result<Username, Failure> {
    let raw = claim.unwrap_or("");
    let raw = raw.split('@').next().unwrap_or("");
    let mut base: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(26)
        .collect();
    if base.chars().count() < 3 {
        base = format!("user{base}");
    }
    for n in 1..=1000u32 {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let Ok(name) = Username::parse(&candidate) else {
            continue;
        };
        if db::users::find_by_username(&mut *tx, name.as_str())
            .await?
            .is_none()
        {
            return Ok(name);
        }
    }
    Err(Failure::Study(StudyError::Conflict(
        "No free username was found for this account.".to_owned(),
    )))
}

/// Starts linking provider `key` to the signed-in `user_id`'s account (from /account): the
/// same flow as a login, whose callback links instead of signing on.
pub async fn begin_link(
    pool: &Pool,
    providers: &Providers,
    key: &str,
    user_id: i64,
    ip: std::net::IpAddr,
    now: i64,
) -> Result<Started, Failure> {
    begin(pool, providers, key, Some(user_id), "", None, ip, now).await
}

/// An account's name and linked identities, for an admin.
pub async fn account_identities(
    pool: &Pool,
    actor: Actor<'_>,
    user_id: i64,
) -> Result<(String, Vec<db::identities::IdentityRow>), StudyError> {
    if !actor.is_admin() {
        return Err(StudyError::Forbidden(
            "Only admins manage accounts.".to_owned(),
        ));
    }
    let user = db::users::find(pool, user_id)
        .await?
        .ok_or(StudyError::NotFound)?;
    Ok((user.username, db::identities::of_user(pool, user_id).await?))
}

/// A user's linked identities, oldest first (their own /account, or an admin's view).
pub async fn identities_of(
    pool: &Pool,
    user_id: i64,
) -> Result<Vec<db::identities::IdentityRow>, StudyError> {
    Ok(db::identities::of_user(pool, user_id).await?)
}

/// An admin unlinks identity `identity_id` from `user_id`'s account; its next sign-on there
/// makes a new account: the account's address loses the confirmation this identity gave it,
/// and linking by e-mail never joins the identity to this account again. Unlinking is how a
/// wrong or hostile link is undone, so every session of the account ends (one may have been
/// opened through the identity) and a role that provider's groups gave goes back to student
/// unless another identity at that provider stays linked. Not theirs: not found.
pub async fn unlink(
    pool: &Pool,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    user_id: i64,
    identity_id: i64,
    now: i64,
) -> Result<(), StudyError> {
    if !actor.is_admin() {
        return Err(StudyError::Forbidden(
            "Only admins manage accounts.".to_owned(),
        ));
    }
    let mut tx = db::begin_write(pool).await?;
    let identities = db::identities::of_user(&mut *tx, user_id).await?;
    let Some(provider) = identities
        .iter()
        .find(|i| i.id == identity_id)
        .map(|i| i.provider.clone())
    else {
        return Err(StudyError::NotFound);
    };
    if !db::identities::delete(&mut tx, user_id, identity_id, now).await? {
        return Err(StudyError::NotFound);
    }
    db::mail::release_address(&mut *tx, user_id, identity_id).await?;
    db::sessions::delete_all(&mut *tx, user_id).await?;
    let still_linked_there = identities
        .iter()
        .any(|i| i.id != identity_id && i.provider == provider);
    if !still_linked_there {
        accounts::take_back_provider_role(&mut tx, user_id, |source| source == provider).await?;
    }
    tx.commit().await?;
    sessions.forget(Stale::User(user_id));
    tracing::info!(
        admin_id = actor.id(),
        user_id,
        identity_id,
        "identity unlinked"
    );
    Ok(())
}

/// Where a session logging out goes next: the provider's `end_session_endpoint` with the ID
/// token it signed on with, when it signed on and the provider advertises one. Read before
/// the session ends (its sign-on record goes with it).
pub async fn logout_destination(
    pool: &Pool,
    providers: &Providers,
    session_id: i64,
) -> Result<Option<String>, StudyError> {
    let Some((provider, id_token)) = db::identities::session_sign_on(pool, session_id).await?
    else {
        return Ok(None);
    };
    Ok(providers.logout_url(&provider, &id_token).await)
}

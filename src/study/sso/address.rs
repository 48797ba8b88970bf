//! What sign-on does to an account's e-mail address: the address follows the provider's
//! verified e-mail (only the one the identity brought), it is confirmed only by a provider
//! authoritative for its domain, and a first sign-on joins an existing account by it only
//! while that confirmation still counts.

use super::Failure;
use crate::auth::oidc;
use crate::db;

/// The account a first sign-on joins by e-mail, if any: only when the operator made the
/// provider authoritative for the address's domain, the provider verified the address in the
/// same ID token, and exactly one account here has that address confirmed (and no identity at
/// this issuer yet); never an admin's (an admin links a provider from /account only), nor an
/// account an admin unlinked this identity from. An unverified address that some account here
/// has confirmed is refused rather than given a second account.
pub(super) async fn owner_by_email(
    tx: &mut db::Conn,
    settings: &oidc::settings::SignOn,
    provider: &oidc::settings::ProviderSettings,
    verified: &oidc::Verified,
) -> Result<Option<i64>, Failure> {
    let Some(address) = verified.email.as_deref() else {
        return Ok(None);
    };
    if !authoritative_for(provider, address) {
        return Ok(None);
    }
    // A confirmation counts only while what gave it still vouches for the address: the mailed
    // link always, a provider's sign-on only while the operator keeps it authoritative for the
    // domain (authority taken away, or confirmations from before authority was required, no
    // longer join accounts).
    let owners: Vec<i64> = db::mail::confirmed_owners(&mut *tx, address, OWNERS_LOOKED_AT)
        .await?
        .into_iter()
        .filter(|owner| still_vouched(settings, owner, address))
        .map(|owner| owner.user_id)
        .collect();
    if owners.is_empty() {
        return Ok(None);
    }
    if !verified.email_verified {
        return Err(Failure::Unverified);
    }
    let [owner] = owners.as_slice() else {
        tracing::warn!(provider = %provider.key, "several accounts have this address: not linked by e-mail");
        return Ok(None);
    };
    if db::identities::has_issuer(&mut *tx, *owner, &verified.issuer).await? {
        return Ok(None);
    }
    let role = db::users::find(&mut *tx, *owner).await?.map(|u| u.role);
    if role.as_deref() != Some("student") && role.as_deref() != Some("instructor") {
        tracing::warn!(provider = %provider.key, owner, "an admin's address: not linked by e-mail");
        return Ok(None);
    }
    if db::identities::was_unlinked(&mut *tx, &verified.issuer, &verified.subject, *owner).await? {
        return Ok(None);
    }
    Ok(Some(*owner))
}

/// How many accounts with one confirmed address linking by e-mail looks at: more than one
/// that still counts is already "several" (no link), so a handful is plenty.
const OWNERS_LOOKED_AT: i64 = 16;

/// Whether the operator made `provider` the authority for `address`'s domain.
fn authoritative_for(provider: &oidc::settings::ProviderSettings, address: &str) -> bool {
    !provider.authoritative_domains.is_empty()
        && oidc::domain_allowed(&provider.authoritative_domains, Some(address))
}

/// Whether `owner`'s confirmation of `address` still counts: proved by the mailed link, or
/// given by a provider the settings of today still make authoritative for its domain, at the
/// issuer that provider has today (a key pointed at another issuer vouches for nothing the old
/// one confirmed).
fn still_vouched(
    settings: &oidc::settings::SignOn,
    owner: &db::mail::ConfirmedOwner,
    address: &str,
) -> bool {
    match owner.confirmed_by.as_deref() {
        None => true,
        Some(key) => settings.provider(key).is_some_and(|provider| {
            owner.issuer.as_deref() == Some(provider.issuer.as_str())
                && authoritative_for(provider, address)
        }),
    }
}

/// The identity a sign-on came through, as far as the account's address goes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Brought {
    /// The identity.
    id: i64,
    /// Whether it gave the account an address before.
    gave_before: bool,
}

impl Brought {
    pub(super) fn new(id: i64) -> Self {
        Self {
            id,
            gave_before: false,
        }
    }

    pub(super) fn known(identity: &db::identities::IdentityRow) -> Self {
        Self {
            id: identity.id,
            gave_before: identity.gave_address != 0,
        }
    }
}

/// The account's address follows the provider's verified e-mail (`checked`; None changes
/// nothing), but only an address this identity brought: taken when the account has none and
/// the identity never gave one (an address the user removed is not given back), and changed
/// while the account's address is still the one this identity brought (one the user typed or
/// confirmed by mail, or another identity brought, stays). It is confirmed only when the
/// operator made the provider authoritative for its domain and no other account here has it
/// confirmed; otherwise it is set unconfirmed (the user may confirm it by the mailed link), so
/// a provider can never hand an address to linking by e-mail for a domain it does not answer
/// for.
pub(super) async fn follow_address(
    tx: &mut db::Conn,
    provider: &oidc::settings::ProviderSettings,
    user_id: i64,
    identity: Brought,
    checked: Option<&str>,
    now: i64,
) -> Result<(), Failure> {
    let Some(address) = checked.filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    let current = db::mail::address_of(&mut *tx, user_id).await?;
    let ours = match &current {
        None => !identity.gave_before,
        Some(row) => row.source_identity == Some(identity.id),
    };
    if !ours {
        return Ok(());
    }
    // Any other account's confirmation, whatever gave it, keeps this one unconfirmed: two
    // accounts never both hold an address confirmed by sign-on.
    let confirm = authoritative_for(provider, address)
        && db::mail::confirmed_owners(&mut *tx, address, OWNERS_LOOKED_AT)
            .await?
            .iter()
            .all(|owner| owner.user_id == user_id);
    // A confirmation this identity gave is held only while it would give it today (the
    // operator may have taken the provider's authority away): otherwise it is dropped.
    let unchanged = current.as_ref().is_some_and(|row| {
        row.address.eq_ignore_ascii_case(address) && row.confirmed_at.is_some() == confirm
    });
    if !unchanged {
        db::mail::set_address_from(&mut *tx, user_id, address, confirm, identity.id, now).await?;
    }
    if !identity.gave_before {
        db::identities::mark_gave_address(&mut *tx, identity.id).await?;
    }
    Ok(())
}

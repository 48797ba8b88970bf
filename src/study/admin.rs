//! Running the site's accounts: the user list, roles, disabling an account, resetting a
//! password. Only an admin does these, never to their own account (which could lock everyone
//! out); each change drops the user's sessions from the cache, as their role or their right to
//! log in has changed.

use super::actor::Actor;
use super::{Context, Forget, Stale, StudyError};
use crate::db;
use crate::db::Pool;
use crate::domain::Role;

pub use crate::db::users::UserListRow;

/// Refuses anyone but an admin, and an admin's changes to their own account.
fn may_change(actor: Actor<'_>, user_id: i64) -> Result<(), StudyError> {
    may_run(actor)?;
    if actor.id() == user_id {
        return Err(StudyError::Conflict(
            "You cannot change your own role or disable your own account; ask another admin."
                .to_owned(),
        ));
    }
    Ok(())
}

/// Refuses anyone but an admin.
fn may_run(actor: Actor<'_>) -> Result<(), StudyError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(StudyError::Forbidden(
            "Only admins manage accounts.".to_owned(),
        ))
    }
}

/// Accounts whose name contains `search` (all when empty), by name, at most `limit`.
pub async fn users(
    pool: &Pool,
    actor: Actor<'_>,
    search: &str,
    limit: i64,
) -> Result<Vec<UserListRow>, StudyError> {
    may_run(actor)?;
    db::users::list(pool, search.trim(), limit)
        .await
        .context("listing accounts")
}

/// The name of account `user_id`, for the question before changing it.
pub async fn user_name(pool: &Pool, actor: Actor<'_>, user_id: i64) -> Result<String, StudyError> {
    may_change(actor, user_id)?;
    Ok(db::users::find(pool, user_id)
        .await
        .context("finding an account")?
        .ok_or(StudyError::NotFound)?
        .username)
}

/// Gives account `user_id` the role named `role`; it applies from their next page.
pub async fn set_role(
    pool: &Pool,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    user_id: i64,
    role: &str,
) -> Result<(), StudyError> {
    may_change(actor, user_id)?;
    let role = Role::parse(role)?;
    if !db::users::set_role(pool, user_id, role.as_str())
        .await
        .context("setting a role")?
    {
        return Err(StudyError::NotFound);
    }
    sessions.forget(Stale::User(user_id));
    Ok(())
}

/// Disables account `user_id` (ending every session of theirs) or enables it again.
pub async fn set_disabled(
    db: &db::Db,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    user_id: i64,
    disabled: bool,
) -> Result<(), StudyError> {
    may_change(actor, user_id)?;
    let mut tx = db.begin_write().await.context("disabling an account")?;
    if !db::users::set_disabled(&mut *tx, user_id, disabled)
        .await
        .context("disabling an account")?
    {
        return Err(StudyError::NotFound);
    }
    if disabled {
        db::sessions::delete_all(&mut *tx, user_id)
            .await
            .context("ending a disabled account's sessions")?;
    }
    tx.commit().await.context("disabling an account")?;
    sessions.forget(Stale::User(user_id));
    Ok(())
}

/// Resets account `user_id`'s password to a temporary one (see
/// [`super::accounts::reset_password`]); returns their name and the temporary password, to show
/// the admin once.
pub async fn reset_password(
    db: &db::Db,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    user_id: i64,
) -> Result<(String, String), StudyError> {
    may_change(actor, user_id)?;
    let temporary = super::accounts::reset_password(db.writer(), user_id).await?;
    sessions.forget(Stale::User(user_id));
    let name = db::users::find(db.reader(), user_id)
        .await
        .context("finding an account")?
        .map(|u| u.username)
        .unwrap_or_default();
    Ok((name, temporary))
}

//! A learner with the role they hold now: what the use cases that change shared things (decks,
//! reports, accounts) need beyond the decks a learner may see. Rights follow the current role:
//! a demoted instructor keeps their deck but not the right to edit it.

use super::Learner;
use crate::domain::Role;

/// Who acts, and as what.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// Their id, calendar and the decks they may see.
    pub learner: &'a Learner,
    /// Their role.
    pub role: Role,
}

impl Actor<'_> {
    /// Their user id.
    pub fn id(&self) -> i64 {
        self.learner.id
    }

    /// Whether they run the site.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether they teach (instructors and admins).
    pub fn is_instructor(&self) -> bool {
        matches!(self.role, Role::Instructor | Role::Admin)
    }

    /// Whether they may change a deck owned by `owner_id`: its owner while they still teach,
    /// or an admin.
    pub fn may_edit_deck(&self, owner_id: Option<i64>) -> bool {
        self.is_admin() || (self.is_instructor() && owner_id == Some(self.id()))
    }

    /// Whether they may assign a deck owned by `owner_id` to a class they run, while they
    /// teach: a public deck gives nobody anything they could not see already, a private one
    /// only its owner (or an admin) may hand out.
    pub fn may_assign_deck(&self, owner_id: Option<i64>, public: bool) -> bool {
        self.is_instructor() && (public || self.is_admin() || owner_id == Some(self.id()))
    }
}

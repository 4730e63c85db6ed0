//! Who may do what. [`Action::is_permitted_for`] is the single place that answers it;
//! every surface (pages, server functions, the JSON API, the CLI) asks it, so a button
//! hidden in the UI is never the only thing standing between a user and an action.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A role. Roles are a set, not a ladder: QA is not "more than" dev, and a user may
/// hold several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads boards, deployments and logs.
    Viewer,
    /// Marks SHAs ready.
    Dev,
    /// Promotes where a stage allows QA, signs off, locks non-production stages.
    Qa,
    /// Promotes where allowed, approves, locks any stage, cancels, rolls back.
    Ops,
    /// Users, tokens, audit, and everything ops may.
    Admin,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 5] = [Role::Viewer, Role::Dev, Role::Qa, Role::Ops, Role::Admin];

    /// The name used in config files, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Dev => "dev",
            Role::Qa => "qa",
            Role::Ops => "ops",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name; the error lists the valid ones.
    pub fn parse(s: &str) -> Result<Self, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected one of viewer, dev, qa, ops, admin")]
pub struct UnknownRole(pub String);

/// A set of roles (a user's, or those a stage lets promote).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<Role>", into = "Vec<Role>")]
pub struct RoleSet(u8);

impl RoleSet {
    /// No roles at all.
    pub const EMPTY: RoleSet = RoleSet(0);

    /// Whether the set holds `role`.
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Adds `role`.
    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    /// Whether the two sets share a role.
    pub fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }

    /// The roles in both sets.
    pub fn intersection(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles, in display order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut set = RoleSet::EMPTY;
        for r in iter {
            set.insert(r);
        }
        set
    }
}

impl From<Vec<Role>> for RoleSet {
    fn from(v: Vec<Role>) -> Self {
        v.into_iter().collect()
    }
}

impl From<RoleSet> for Vec<Role> {
    fn from(s: RoleSet) -> Self {
        s.iter().collect()
    }
}

impl fmt::Debug for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Role::as_str).collect();
        f.write_str(&names.join(", "))
    }
}

/// Something a user may try to do. Variants carry the facts the decision depends on
/// (which roles a stage lets promote, whether a stage is production), never a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read boards, deployments and logs.
    View,
    /// Fetch a pipeline's repository now (the *refresh* button).
    RefreshRepository,
    /// Mark or unmark a SHA ready.
    MarkReady,
    /// Promote into a stage whose configuration lets `allowed` promote.
    PromoteInto {
        /// The stage's `promote_roles`.
        allowed: RoleSet,
    },
    /// Sign a SHA off on a stage (or withdraw a sign-off) whose configuration lets
    /// `allowed` sign off.
    SignOff {
        /// The stage's `sign_off.roles`.
        allowed: RoleSet,
    },
    /// Lock or unlock a stage.
    Lock {
        /// Whether the stage is a production stage.
        production: bool,
    },
    /// Approve or reject promotions into a stage whose configuration lets `allowed`
    /// approve.
    Approve {
        /// The stage's `approval.roles`.
        allowed: RoleSet,
    },
    /// Promote through a closed deploy window or a freeze, with a reason.
    EmergencyOverride,
    /// Declare or end a freeze.
    ManageFreezes,
    /// Cancel a running deployment.
    Cancel,
    /// Roll a stage back to its previous good SHA, on a stage whose configuration lets
    /// `allowed` roll back.
    Rollback {
        /// The stage's `rollback_roles`.
        allowed: RoleSet,
    },
    /// Create, change, disable users and their roles.
    ManageUsers,
    /// Browse and export the audit log.
    ViewAudit,
}

impl Action {
    /// The one answer to "may someone holding `roles` do this?".
    pub fn is_permitted_for(self, roles: RoleSet) -> bool {
        use Role::*;
        let any = |rs: &[Role]| rs.iter().any(|r| roles.contains(*r));
        match self {
            Action::View => !roles.is_empty(),
            Action::RefreshRepository => any(&[Dev, Qa, Ops, Admin]),
            // Saying "this commit is ready to test" is the developer's call; someone who
            // should do that and also test it holds both roles.
            Action::MarkReady => any(&[Dev, Admin]),
            Action::PromoteInto { allowed }
            | Action::Rollback { allowed }
            | Action::SignOff { allowed }
            | Action::Approve { allowed } => {
                // Admin may do everything ops may, so it inherits a stage's ops permission.
                roles.intersects(allowed) || (roles.contains(Admin) && allowed.contains(Ops))
            }
            Action::Lock { production: false } => any(&[Qa, Ops, Admin]),
            Action::Lock { production: true } => any(&[Ops, Admin]),
            Action::Cancel | Action::EmergencyOverride | Action::ManageFreezes => {
                any(&[Ops, Admin])
            }
            Action::ManageUsers | Action::ViewAudit => any(&[Admin]),
        }
    }

    /// A sentence for refusals: "your roles (dev) may not lock a production stage".
    pub fn describe(self) -> String {
        match self {
            Action::View => "view boards".into(),
            Action::RefreshRepository => "refresh a repository".into(),
            Action::MarkReady => "mark a commit ready".into(),
            Action::PromoteInto { allowed } => {
                format!("promote into this stage (allowed: {allowed})")
            }
            Action::SignOff { allowed } => {
                format!("sign off commits on this stage (allowed: {allowed})")
            }
            Action::Lock { production: true } => "lock a production stage".into(),
            Action::Lock { production: false } => "lock a stage".into(),
            Action::Approve { allowed } => {
                format!("approve promotions into this stage (allowed: {allowed})")
            }
            Action::EmergencyOverride => {
                "promote through a closed window or a freeze (emergency override)".into()
            }
            Action::ManageFreezes => "declare or end freezes".into(),
            Action::Cancel => "cancel a deployment".into(),
            Action::Rollback { allowed } => {
                format!("roll back this stage (allowed: {allowed})")
            }
            Action::ManageUsers => "manage users".into(),
            Action::ViewAudit => "view the audit log".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    fn set(rs: &[Role]) -> RoleSet {
        rs.iter().copied().collect()
    }

    #[test]
    fn roles_parse_by_name_and_list_the_valid_ones_otherwise() {
        assert_eq!(Role::parse("ops"), Ok(Ops));
        let err = Role::parse("superuser").unwrap_err().to_string();
        assert!(err.contains("viewer, dev, qa, ops, admin"), "{err}");
    }

    #[test]
    fn the_policy_table() {
        let qa_ops = set(&[Qa, Ops]);
        let ops_only = set(&[Ops]);
        let qa_only = set(&[Qa]);
        // (roles, action, expected)
        let cases: &[(&[Role], Action, bool)] = &[
            (&[Viewer], Action::View, true),
            (&[], Action::View, false),
            (&[Viewer], Action::MarkReady, false),
            (&[Qa], Action::MarkReady, false),
            (&[Ops], Action::MarkReady, false),
            (&[Admin], Action::MarkReady, true),
            (&[Viewer], Action::RefreshRepository, false),
            (&[Dev], Action::MarkReady, true),
            (&[Dev], Action::RefreshRepository, true),
            (&[Dev], Action::PromoteInto { allowed: qa_ops }, false),
            (&[Qa], Action::PromoteInto { allowed: qa_ops }, true),
            (&[Qa], Action::PromoteInto { allowed: ops_only }, false),
            (&[Ops], Action::PromoteInto { allowed: ops_only }, true),
            (&[Admin], Action::PromoteInto { allowed: ops_only }, true),
            // Admin inherits ops' permissions, not QA's.
            (&[Admin], Action::PromoteInto { allowed: qa_only }, false),
            (&[Dev, Qa], Action::PromoteInto { allowed: qa_only }, true),
            (&[Qa], Action::SignOff { allowed: qa_only }, true),
            (&[Ops], Action::SignOff { allowed: qa_only }, false),
            (&[Admin], Action::SignOff { allowed: qa_only }, false),
            (&[Ops], Action::SignOff { allowed: qa_ops }, true),
            (&[Qa], Action::Lock { production: false }, true),
            (&[Qa], Action::Lock { production: true }, false),
            (&[Ops], Action::Lock { production: true }, true),
            (&[Admin], Action::Lock { production: true }, true),
            (&[Dev], Action::Lock { production: false }, false),
            (&[Qa], Action::Rollback { allowed: ops_only }, false),
            (&[Ops], Action::Rollback { allowed: ops_only }, true),
            (&[Admin], Action::Rollback { allowed: ops_only }, true),
            (
                &[Ops],
                Action::Rollback {
                    allowed: set(&[Admin]),
                },
                false,
            ),
            (&[Ops], Action::Cancel, true),
            (&[Ops], Action::Approve { allowed: ops_only }, true),
            (&[Admin], Action::Approve { allowed: ops_only }, true),
            (&[Qa], Action::Approve { allowed: ops_only }, false),
            (&[Ops], Action::EmergencyOverride, true),
            (&[Admin], Action::EmergencyOverride, true),
            (&[Qa], Action::EmergencyOverride, false),
            (&[Ops], Action::ManageFreezes, true),
            (&[Dev], Action::ManageFreezes, false),
            (&[Ops], Action::ManageUsers, false),
            (&[Admin], Action::ManageUsers, true),
            (&[Viewer], Action::ViewAudit, false),
            (&[Admin], Action::ViewAudit, true),
        ];
        for (roles, action, expected) in cases {
            assert_eq!(
                action.is_permitted_for(set(roles)),
                *expected,
                "{roles:?} {action:?}"
            );
        }
    }

    #[test]
    fn role_sets_serialise_as_lists_of_names() {
        let json = serde_json::to_string(&set(&[Ops, Dev])).expect("serialise");
        assert_eq!(json, r#"["dev","ops"]"#);
        let back: RoleSet = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, set(&[Dev, Ops]));
    }
}

//! One stage's keys: who may promote and roll back, how its deploys run, its gates'
//! settings; and the two shapes stages share with other keys (an argv, a role list).

use super::super::defaults;
use super::super::raw::RawStage;
use super::super::StageConfig;
use super::Validator;
use slipway_model::{Role, RoleSet, StageId};
use std::path::Path;
use toml::Spanned;

impl Validator<'_> {
    pub(super) fn stage(
        &mut self,
        s: &RawStage,
        key: &str,
        base: &Path,
        default_production: bool,
    ) -> Option<StageConfig> {
        let id = StageId::parse(s.id.get_ref())
            .map_err(|e| self.push(&s.id, &format!("{key}.id"), e.to_string()))
            .ok();
        let production = s
            .production
            .as_ref()
            .map_or(default_production, |p| *p.get_ref());
        let promote_roles = match &s.promote_roles {
            None => defaults::promote_roles(production),
            Some(list) => self.roles(list, &format!("{key}.promote_roles"), "promote into"),
        };
        let rollback_roles = match &s.rollback_roles {
            None => defaults::rollback_roles(promote_roles),
            Some(list) => self.roles(list, &format!("{key}.rollback_roles"), "roll back"),
        };
        let fast_forward_only = s
            .fast_forward_only
            .as_ref()
            .map_or(production, |f| *f.get_ref());
        let label = s
            .label
            .as_ref()
            .map_or_else(|| s.id.get_ref().clone(), |l| l.get_ref().clone());
        let deployer = self.deployer(&s.deployer, &format!("{key}.deployer"), base);
        let sign_off = s
            .sign_off
            .as_ref()
            .map(|so| self.sign_off(so.get_ref(), &format!("{key}.sign_off")));
        let checklist = s
            .checklist
            .as_ref()
            .map_or_else(Vec::new, |c| self.checklist(c, &format!("{key}.checklist")));
        let approval = s
            .approval
            .as_ref()
            .map(|a| self.approval(a.get_ref(), &format!("{key}.approval")));
        let windows = s
            .windows
            .as_ref()
            .map_or_else(Vec::new, |w| self.windows(w, &format!("{key}.windows")));
        let health = s
            .health
            .as_ref()
            .and_then(|h| self.probe(h, &format!("{key}.health")));
        let version = s
            .version
            .as_ref()
            .and_then(|v| self.version_probe(v, &format!("{key}.version")));
        let smoke = s
            .smoke
            .as_ref()
            .and_then(|sm| self.smoke(sm, s.version.is_some(), &format!("{key}.smoke")));
        let artifact = s
            .artifact
            .as_ref()
            .and_then(|a| self.artifact(a, &format!("{key}.artifact")));
        Some(StageConfig {
            id: id?,
            label,
            production,
            promote_roles,
            rollback_roles,
            fast_forward_only,
            sign_off,
            checklist,
            windows,
            approval,
            health,
            version,
            smoke,
            // Checked against the pipeline's stages once they are all read.
            requires_healthy: Vec::new(),
            artifact,
            deployer: deployer?,
        })
    }

    /// A program and its arguments (no shell): the first must not be blank. `example`
    /// shows what is expected.
    pub(super) fn argv(
        &mut self,
        list: &Spanned<Vec<Spanned<String>>>,
        key: &str,
        example: &str,
    ) -> Option<Vec<String>> {
        let argv: Vec<String> = list.get_ref().iter().map(|c| c.get_ref().clone()).collect();
        if argv.first().is_none_or(|p| p.trim().is_empty()) {
            self.push(
                list,
                key,
                format!("expected a program and its arguments, like {example}"),
            );
            return None;
        }
        Some(argv)
    }

    /// A non-empty list of role names, for what `doing` says they may do to the stage.
    pub(super) fn roles(
        &mut self,
        list: &Spanned<Vec<Spanned<String>>>,
        key: &str,
        doing: &str,
    ) -> RoleSet {
        let mut set = RoleSet::EMPTY;
        for r in list.get_ref() {
            match Role::parse(r.get_ref()) {
                Ok(role) => set.insert(role),
                Err(e) => self.push(r, key, e.to_string()),
            }
        }
        if list.get_ref().is_empty() {
            self.push(
                list,
                key,
                format!("expected at least one role (viewer, dev, qa, ops, admin); nobody could {doing} this stage"),
            );
        }
        set
    }
}

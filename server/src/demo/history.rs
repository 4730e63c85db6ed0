//! Three weeks of history for a fresh demo, so a newcomer's first board shows the
//! product at work: releases that went through every stage, a failed deployment and
//! its fix, a production rollback, QA's sign-off of the SHA on staging, a production
//! approval waiting for ops, a lock with its reason, a commit just marked ready.
//!
//! Written through the real `Storage` API (each deployment in its creating transaction
//! with its audit entry, its log, its end), with the store's clock set to when each
//! thing happened: the board, the histories, the audit log and the insights read it
//! as they read anything else. Only an empty demo is seeded.

use anyhow::{bail, Context as _};
use slipway_core::clock::FixedClock;
use slipway_core::config::PipelineConfig;
use slipway_core::store::{
    Decision, Deployment, NewApprovalRequest, NewAudit, NewDeployment, SignOffKey, Storage,
};
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::{Sha, UserId, UserName};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// Who does what in the story (the demo's users).
struct Cast {
    dev: UserId,
    qa: UserId,
    ops: UserId,
}

/// What the seeding left running, per stage (to write the environments' files).
pub struct Seeded {
    /// `(stage id, SHA it runs)`.
    pub running: Vec<(String, Sha)>,
}

/// Seeds `p`'s history, ending at `now`, from the first-parent commits of the demo
/// repository at `repo`, unless the demo already has deployments. `clock` is the
/// store's clock: it is moved to each event's time and left at `now`.
pub async fn seed(
    storage: &dyn Storage,
    clock: &FixedClock,
    p: &PipelineConfig,
    repo: &Path,
    now: OffsetDateTime,
) -> anyhow::Result<Option<Seeded>> {
    for stage in &p.stages {
        let snap = storage.stage_snapshot(&p.id, &stage.id, None, None).await?;
        if snap.current.is_some() || snap.active.is_some() || snap.last_finished.is_some() {
            return Ok(None);
        }
    }
    if p.stages.len() != 3 {
        bail!("the demo's history is written for its three stages (QA, Staging, Production); this config has {}", p.stages.len());
    }
    let commits = first_parent_commits(repo, &p.branch)?;
    if commits.len() < 12 {
        bail!(
            "the demo repository has {} first-parent commits; its history needs 12",
            commits.len()
        );
    }
    let cast = Cast {
        dev: user(storage, "dev").await?,
        qa: user(storage, "qa").await?,
        ops: user(storage, "ops").await?,
    };
    let mut story = Story {
        storage,
        clock,
        p,
        cast,
        last: now - Duration::days(30),
        now,
    };
    let n = commits.len();
    // The releases: which commit (a fraction of the way along the branch) and how many
    // days before now it was marked ready.
    let pick = |fraction: f64| {
        // In range by construction: fraction < 1 and n ≥ 12.
        let i = ((n as f64) * fraction) as usize;
        commits[i.min(n - 1)].clone()
    };
    let (qa, staging, production) = (0, 1, 2);
    for (fraction, days_ago) in [(0.25, 19), (0.35, 16), (0.45, 13)] {
        let (sha, when) = pick(fraction);
        story.at(when, now - Duration::days(days_ago));
        story.release(&sha, &[qa, staging, production]).await?;
    }
    // A staging deployment fails (a migration times out); the fix goes out the next day.
    let (broken, when) = pick(0.5);
    story.at(when, now - Duration::days(11));
    story.ready(&broken, None).await?;
    story
        .deploy(qa, &broken, DeploymentKind::Promote, None, true)
        .await?;
    story.later(Duration::hours(3));
    story
        .deploy(staging, &broken, DeploymentKind::Promote, None, false)
        .await?;
    let (fix, when) = pick(0.55);
    story.at(when, now - Duration::days(10));
    story.release(&fix, &[qa, staging, production]).await?;
    // A release that production rolls back 40 minutes after it went out.
    let (regressed, when) = pick(0.65);
    story.at(when, now - Duration::days(7));
    story
        .release(&regressed, &[qa, staging, production])
        .await?;
    story.later(Duration::minutes(40));
    story
        .rollback(production, &fix, "Checkout errors up 4x since the deploy")
        .await?;
    let mut in_production = fix;
    for (fraction, days_ago) in [(0.75, 5), (0.82, 2)] {
        let (sha, when) = pick(fraction);
        story.at(when, now - Duration::days(days_ago));
        story.release(&sha, &[qa, staging, production]).await?;
        in_production = sha;
    }
    // Today: staging runs a SHA QA signed off, waiting for ops to approve production;
    // QA runs a newer one and is locked for a load test; the newest commit is ready.
    let (candidate, when) = pick(0.88);
    story.at(when, now - Duration::hours(9));
    story.release(&candidate, &[qa, staging]).await?;
    story.later(Duration::hours(1));
    story.request_approval(production, &candidate).await?;
    let (testing, when) = pick(0.94);
    story.at(when, now - Duration::hours(3));
    story.release(&testing, &[qa]).await?;
    story.later(Duration::minutes(30));
    story
        .lock(
            qa,
            "Load test until 16:00 UTC: ask #perf before promoting",
            Duration::hours(3),
        )
        .await?;
    let (newest, when) = commits[n - 1].clone();
    story.at(when, now - Duration::minutes(20));
    story.ready(&newest, Some("CI green; ready for QA")).await?;
    clock.set(now);
    Ok(Some(Seeded {
        running: vec![
            (p.stages[qa].id.to_string(), testing),
            (p.stages[staging].id.to_string(), candidate),
            (p.stages[production].id.to_string(), in_production),
        ],
    }))
}

/// The seeding in progress: the store, its clock, and the time of the last event.
struct Story<'a> {
    storage: &'a dyn Storage,
    clock: &'a FixedClock,
    p: &'a PipelineConfig,
    cast: Cast,
    /// The last event's time: events only move forward.
    last: OffsetDateTime,
    now: OffsetDateTime,
}

impl Story<'_> {
    /// Moves the clock to `planned`, but never before a commit exists (`committed`) or
    /// before the last event, and never past now.
    fn at(&mut self, committed: OffsetDateTime, planned: OffsetDateTime) {
        let t = planned
            .max(committed + Duration::minutes(20))
            .max(self.last + Duration::minutes(1))
            .min(self.now - Duration::seconds(30));
        self.set(t);
    }

    fn later(&mut self, by: Duration) {
        let t = (self.last + by).min(self.now - Duration::seconds(30));
        self.set(t);
    }

    fn set(&mut self, t: OffsetDateTime) {
        self.last = t.max(self.last);
        self.clock.set(self.last);
    }

    async fn audit(
        &self,
        action: AuditAction,
        actor: &str,
        stage: Option<usize>,
        sha: &Sha,
        detail: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut e = NewAudit::new(action, Outcome::Ok);
        e.actor = Some(actor.to_owned());
        e.pipeline = Some(self.p.id.to_string());
        e.stage = stage.map(|i| self.p.stages[i].id.to_string());
        e.sha = Some(sha.to_string());
        e.detail = detail.map(str::to_owned);
        Ok(self.storage.audit(e).await?)
    }

    async fn ready(&mut self, sha: &Sha, note: Option<&str>) -> anyhow::Result<()> {
        self.storage
            .mark_ready(&self.p.id, sha, self.cast.dev, note)
            .await?;
        self.audit(AuditAction::MarkReady, "dev", None, sha, note)
            .await
    }

    /// Marks `sha` ready and takes it through `stages`, hours apart: QA's sign-off on
    /// staging, and ops' approval before production.
    async fn release(&mut self, sha: &Sha, stages: &[usize]) -> anyhow::Result<()> {
        self.ready(sha, None).await?;
        for &stage in stages {
            self.later(Duration::hours(2));
            if self.p.stages[stage].approval.is_some() {
                let request = self.request_approval(stage, sha).await?;
                self.later(Duration::minutes(25));
                let from = self.last;
                let decision = Decision::Approve {
                    from,
                    until: from + Duration::hours(2),
                    auto_start: false,
                    outside_windows_reason: None,
                };
                self.storage
                    .decide(request, self.cast.ops, &decision, &|_| Ok(()))
                    .await
                    .map_err(|e| anyhow::anyhow!("approving: {e}"))?;
                self.audit(AuditAction::ApprovalGranted, "ops", Some(stage), sha, None)
                    .await?;
                self.later(Duration::minutes(5));
            }
            self.deploy(stage, sha, DeploymentKind::Promote, None, true)
                .await?;
            if self.p.stages[stage].sign_off.is_some() {
                self.later(Duration::minutes(50));
                self.sign_off(stage, sha).await?;
            }
        }
        Ok(())
    }

    async fn request_approval(
        &mut self,
        stage: usize,
        sha: &Sha,
    ) -> anyhow::Result<slipway_model::RequestId> {
        let note = "Staging signed off; release notes posted";
        let r = self
            .storage
            .request_approval(&NewApprovalRequest {
                pipeline: self.p.id.clone(),
                stage: self.p.stages[stage].id.clone(),
                sha: sha.clone(),
                by: self.cast.qa,
                note: Some(note.to_owned()),
                checklist: Some(self.p.stages[stage].checklist.clone()),
                acks: Default::default(),
            })
            .await?;
        self.audit(
            AuditAction::ApprovalRequested,
            "qa",
            Some(stage),
            sha,
            Some(note),
        )
        .await?;
        Ok(r.id)
    }

    async fn sign_off(&mut self, stage: usize, sha: &Sha) -> anyhow::Result<()> {
        let note = "Regression suite and exploratory pass green";
        let key = SignOffKey {
            pipeline: &self.p.id,
            stage: &self.p.stages[stage].id,
            next_stage: &self.p.stages[stage + 1].id,
            sha,
        };
        self.storage
            .sign_off(key, self.cast.qa, Some(note), &|_| Ok(()))
            .await
            .map_err(|e| anyhow::anyhow!("signing off: {e}"))?;
        self.audit(AuditAction::SignOff, "qa", Some(stage), sha, Some(note))
            .await
    }

    async fn lock(&mut self, stage: usize, reason: &str, for_: Duration) -> anyhow::Result<()> {
        // The lock ends after `for_` of real time from now, not of the story's.
        let expires = self.now + for_;
        self.storage
            .lock_stage(
                &self.p.id,
                &self.p.stages[stage].id,
                self.cast.ops,
                reason,
                Some(expires),
            )
            .await?;
        let mut e = NewAudit::new(AuditAction::Lock, Outcome::Ok);
        e.actor = Some("ops".into());
        e.pipeline = Some(self.p.id.to_string());
        e.stage = Some(self.p.stages[stage].id.to_string());
        e.detail = Some(reason.to_owned());
        Ok(self.storage.audit(e).await?)
    }

    async fn rollback(&mut self, stage: usize, to: &Sha, reason: &str) -> anyhow::Result<()> {
        self.deploy(stage, to, DeploymentKind::Rollback, Some(reason), true)
            .await
    }

    /// One deployment of `sha` to `stage`: created (audited), run with its log, ended.
    async fn deploy(
        &mut self,
        stage: usize,
        sha: &Sha,
        kind: DeploymentKind,
        reason: Option<&str>,
        succeeds: bool,
    ) -> anyhow::Result<()> {
        let s = &self.p.stages[stage];
        let (by, name) = match (kind, s.production) {
            (DeploymentKind::Promote, false) => (self.cast.qa, "qa"),
            _ => (self.cast.ops, "ops"),
        };
        let new = NewDeployment {
            pipeline: self.p.id.clone(),
            stage: s.id.clone(),
            previous_stage: stage.checked_sub(1).map(|i| self.p.stages[i].id.clone()),
            sha: sha.clone(),
            kind,
            requested_by: by,
            reason: reason.map(str::to_owned),
            checklist: (!s.checklist.is_empty() && kind == DeploymentKind::Promote)
                .then(|| s.checklist.clone()),
            emergency_reason: None,
            migrations: None,
            drift: None,
            runner: None,
        };
        let action = match kind {
            DeploymentKind::Rollback => AuditAction::Rollback,
            _ => AuditAction::Promote,
        };
        let audited = |d: &Deployment| {
            let mut e = NewAudit::new(action, Outcome::Ok);
            e.actor = Some(name.to_owned());
            e.pipeline = Some(d.pipeline.clone());
            e.stage = Some(d.stage.clone());
            e.sha = Some(d.sha.to_string());
            e.target = Some(format!("deployment #{}", d.id));
            e.detail = reason.map(str::to_owned);
            e
        };
        let d = self
            .storage
            .create_deployment(&new, &|_| Ok(()), &audited)
            .await
            .map_err(|e| anyhow::anyhow!("seeding a deployment to {}: {e}", s.id))?;
        let start = self.last + Duration::seconds(2);
        self.storage.mark_running(d.id, None, start).await?;
        let mut lines = vec![
            (
                "stdout",
                format!(
                    "Deploying {} {} to {} (deployment {})",
                    self.p.id, sha, s.id, d.id
                ),
            ),
            ("stdout", "... fetching artifact".to_owned()),
            ("stdout", "... running checks".to_owned()),
        ];
        if succeeds {
            lines.push(("stdout", "... switching traffic".to_owned()));
            lines.push(("stdout", format!("Done: {} now runs {sha}", s.id)));
        } else {
            lines.push((
                "stdout",
                "... applying migrations/0003_add_orders_index.sql".to_owned(),
            ));
            lines.push((
                "stderr",
                "error: canceling statement due to lock timeout".to_owned(),
            ));
            lines.push((
                "stderr",
                "migration failed; nothing was switched".to_owned(),
            ));
        }
        for (i, (stream, line)) in lines.iter().enumerate() {
            let seq = i64::try_from(i).unwrap_or_default() + 1;
            let at = start + Duration::seconds(seq * 6);
            self.storage
                .append_log(d.id, seq, 1, at, stream, line)
                .await?;
        }
        let end = start + Duration::seconds(45);
        let (state, code) = if succeeds {
            (DeploymentState::Succeeded, 0)
        } else {
            (DeploymentState::Failed, 1)
        };
        self.storage
            .finish_deployment(d.id, state, Some(code), end)
            .await?;
        self.set(end);
        Ok(())
    }
}

async fn user(storage: &dyn Storage, name: &str) -> anyhow::Result<UserId> {
    let name = UserName::parse(name).context("a demo user name")?;
    Ok(storage
        .user_by_name(&name)
        .await?
        .with_context(|| format!("the demo user {name} is missing"))?
        .id)
}

/// The branch's first-parent commits, oldest first, with their commit times.
fn first_parent_commits(repo: &Path, branch: &str) -> anyhow::Result<Vec<(Sha, OffsetDateTime)>> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "log",
            "--first-parent",
            "--reverse",
            "--format=%H %ct",
            branch,
            "--",
        ])
        .output()
        .context("failed to run git")?;
    if !out.status.success() {
        bail!(
            "git log in {} failed: {}",
            repo.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let (sha, time) = line
                .split_once(' ')
                .with_context(|| format!("unexpected git log line {line:?}"))?;
            let t: i64 = time
                .parse()
                .with_context(|| format!("unexpected commit time {time:?}"))?;
            Ok((Sha::parse(sha)?, OffsetDateTime::from_unix_timestamp(t)?))
        })
        .collect()
}

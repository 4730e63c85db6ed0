//! The governance keys: who signs off, what a promoter confirms, when a stage is open
//! (deploy windows) and when it is closed (freezes).

use super::super::raw::{RawApproval, RawCalendar, RawFreeze, RawSignOff, RawWindow};
use super::super::{
    defaults, ApprovalConfig, CalendarFeed, FeedSource, FreezeConfig, SignOffConfig, StageConfig,
};
use super::Validator;
use crate::calendar::Window;
use std::collections::HashSet;
use std::path::Path;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use toml::Spanned;

/// The longest checklist item: one line on a form.
const CHECKLIST_ITEM_MAX: usize = 200;

impl Validator<'_> {
    pub(super) fn approval(&mut self, raw: &RawApproval, key: &str) -> ApprovalConfig {
        let valid = raw
            .valid_minutes
            .as_ref()
            .and_then(|v| {
                self.duration(v, &format!("{key}.valid_minutes"), 1, super::Unit::Minutes)
            })
            .unwrap_or(defaults::APPROVAL_VALID);
        ApprovalConfig {
            roles: self.roles(
                &raw.roles,
                &format!("{key}.roles"),
                "approve promotions into",
            ),
            four_eyes: raw
                .four_eyes
                .as_ref()
                .map_or(defaults::APPROVAL_FOUR_EYES, |f| *f.get_ref()),
            valid,
        }
    }

    pub(super) fn sign_off(&mut self, raw: &RawSignOff, key: &str) -> SignOffConfig {
        SignOffConfig {
            roles: self.roles(&raw.roles, &format!("{key}.roles"), "sign off on"),
        }
    }

    /// Distinct, non-empty one-line items.
    pub(super) fn checklist(
        &mut self,
        list: &Spanned<Vec<Spanned<String>>>,
        key: &str,
    ) -> Vec<String> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        for item in list.get_ref() {
            let text = item.get_ref().trim();
            if text.is_empty() {
                self.push(
                    item,
                    key,
                    "expected the text of an item, like \"Backup taken\"; got an empty one",
                );
            } else if text.chars().count() > CHECKLIST_ITEM_MAX || text.contains(['\n', '\r']) {
                self.push(
                    item,
                    key,
                    format!("expected one line of at most {CHECKLIST_ITEM_MAX} characters"),
                );
            } else if !seen.insert(text.to_owned()) {
                self.push(
                    item,
                    key,
                    format!("{text:?} is listed twice; list each item once"),
                );
            } else {
                items.push(text.to_owned());
            }
        }
        items
    }
}

impl Validator<'_> {
    pub(super) fn windows(
        &mut self,
        list: &Spanned<Vec<Spanned<RawWindow>>>,
        key: &str,
    ) -> Vec<Window> {
        let mut windows = Vec::new();
        for (i, w) in list.get_ref().iter().enumerate() {
            let w = w.get_ref();
            match Window::parse(
                w.days.get_ref(),
                w.from.get_ref(),
                w.to.get_ref(),
                w.time_zone.get_ref(),
            ) {
                Ok(window) => windows.push(window),
                // The message names the value (days, from, to or time_zone) that is wrong.
                Err(e) => self.push(&w.days, &format!("{key}[{i}]"), e),
            }
        }
        if list.get_ref().is_empty() {
            self.push(
                list,
                key,
                "an empty list would close the stage for good; leave windows out to keep it always open",
            );
        }
        windows
    }

    /// Freezes declared for a pipeline: RFC 3339 instants, an end after the start, a
    /// reason, and stage ids of this pipeline (none: all of them).
    pub(super) fn freezes(
        &mut self,
        raw: &[Spanned<RawFreeze>],
        pipeline_key: &str,
        stages: &[StageConfig],
    ) -> Vec<FreezeConfig> {
        let mut out = Vec::new();
        for (i, f) in raw.iter().enumerate() {
            let key = format!("{pipeline_key}.freezes[{i}]");
            let f = f.get_ref();
            let instant = |v: &Spanned<String>| {
                OffsetDateTime::parse(v.get_ref().trim(), &Rfc3339).map_err(|_| {
                    format!(
                        "{:?} is not a date and time: use RFC 3339 with an offset, like \"2026-12-24T18:00:00+01:00\"",
                        v.get_ref()
                    )
                })
            };
            let from = instant(&f.from).map_err(|e| self.push(&f.from, &format!("{key}.from"), e));
            let until =
                instant(&f.until).map_err(|e| self.push(&f.until, &format!("{key}.until"), e));
            let reason = f.reason.get_ref().trim();
            if reason.is_empty() || reason.chars().count() > 500 {
                self.push(
                    &f.reason,
                    &format!("{key}.reason"),
                    "expected a reason of 1 to 500 characters that tells people why",
                );
            }
            let ids = self.stage_ids(f.stages.as_ref(), &format!("{key}.stages"), stages);
            if let (Ok(from), Ok(until)) = (from, until) {
                if until <= from {
                    self.push(
                        &f.until,
                        &format!("{key}.until"),
                        "the freeze must end after it starts",
                    );
                } else {
                    out.push(FreezeConfig {
                        stages: ids,
                        from,
                        until,
                        reason: reason.to_owned(),
                    });
                }
            }
        }
        out
    }
}

impl Validator<'_> {
    /// iCalendar feeds: a file (relative to the config) or an http(s) URL, stages of this
    /// pipeline, a refresh interval in minutes (default 15).
    pub(super) fn calendars(
        &mut self,
        raw: &[Spanned<RawCalendar>],
        pipeline_key: &str,
        stages: &[StageConfig],
        base: &Path,
    ) -> Vec<CalendarFeed> {
        let mut out = Vec::new();
        for (i, c) in raw.iter().enumerate() {
            let key = format!("{pipeline_key}.calendars[{i}]");
            let c = c.get_ref();
            let text = c.source.get_ref().trim();
            let source = if text.starts_with("http://") || text.starts_with("https://") {
                match url::Url::parse(text) {
                    Ok(u) => Some(FeedSource::Url(u)),
                    Err(e) => {
                        self.push(
                            &c.source,
                            &format!("{key}.source"),
                            format!("not a valid URL: {e}"),
                        );
                        None
                    }
                }
            } else if text.contains("://") {
                self.push(
                    &c.source,
                    &format!("{key}.source"),
                    "expected a file path or an http:// or https:// URL",
                );
                None
            } else if text.is_empty() {
                self.push(
                    &c.source,
                    &format!("{key}.source"),
                    "expected a file path or a URL",
                );
                None
            } else {
                Some(FeedSource::File(Self::resolve(base, text)))
            };
            let refresh = c
                .refresh_minutes
                .as_ref()
                .and_then(|v| {
                    self.duration(
                        v,
                        &format!("{key}.refresh_minutes"),
                        1,
                        super::Unit::Minutes,
                    )
                })
                .unwrap_or(defaults::CALENDAR_REFRESH);
            let ids = self.stage_ids(c.stages.as_ref(), &format!("{key}.stages"), stages);
            if let Some(source) = source {
                out.push(CalendarFeed {
                    source,
                    stages: ids,
                    refresh,
                });
            }
        }
        out
    }
}

impl Validator<'_> {
    /// Ids naming stages of this pipeline (absent: none, meaning every stage); each
    /// unknown one is a problem that lists the pipeline's stages.
    fn stage_ids(
        &mut self,
        list: Option<&Spanned<Vec<Spanned<String>>>>,
        key: &str,
        stages: &[StageConfig],
    ) -> Vec<slipway_model::StageId> {
        let mut ids = Vec::new();
        for s in list.iter().flat_map(|l| l.get_ref()) {
            match stages.iter().find(|st| st.id.as_str() == s.get_ref()) {
                Some(st) => ids.push(st.id.clone()),
                None => {
                    let known: Vec<&str> = stages.iter().map(|st| st.id.as_str()).collect();
                    self.push(
                        s,
                        key,
                        format!(
                            "this pipeline has no stage {:?} (stages: {})",
                            s.get_ref(),
                            known.join(", ")
                        ),
                    );
                }
            }
        }
        ids
    }
}

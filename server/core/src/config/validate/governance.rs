//! The governance keys of a stage: who signs off, what a promoter confirms.

use super::super::raw::RawSignOff;
use super::super::SignOffConfig;
use super::Validator;
use std::collections::HashSet;
use toml::Spanned;

/// The longest checklist item: one line on a form.
const CHECKLIST_ITEM_MAX: usize = 200;

impl Validator<'_> {
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

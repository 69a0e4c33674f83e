//! Leaving accounts out by place in the hierarchy or by status, per scope.
//!
//! An account left out is not written, so after a complete read it counts as not seen: if it
//! was stored before, it is marked removed. Leaving something out means "not in this
//! inventory", not "keep whatever we had".

use entity::enums::AccountStatus;
use entity::record::AccountRecord;

#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    /// OU, folder or management-group ids: accounts at or below any of them are left out.
    pub subtrees: Vec<String>,
    pub statuses: Vec<AccountStatus>,
}

impl Exclusions {
    pub fn keeps(&self, account: &AccountRecord) -> bool {
        let in_subtree = account
            .ancestors
            .iter()
            .map(|a| a.id.as_str())
            .chain(account.parent.as_deref())
            .any(|id| self.subtrees.iter().any(|s| s == id));
        !in_subtree && !self.statuses.contains(&account.status)
    }

    pub fn is_empty(&self) -> bool {
        self.subtrees.is_empty() && self.statuses.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::enums::Provider;
    use entity::record::Ancestor;
    use serde_json::json;

    fn account(ancestors: &[&str], status: AccountStatus) -> AccountRecord {
        AccountRecord {
            provider: Provider::Aws,
            native_id: "1".into(),
            name: "a".into(),
            org_path: String::new(),
            ancestors: ancestors
                .iter()
                .map(|id| Ancestor {
                    id: (*id).into(),
                    name: (*id).into(),
                    kind: "organizational_unit".into(),
                })
                .collect(),
            parent: ancestors.last().map(|s| (*s).to_owned()),
            status,
            raw_status: None,
            region_residency: None,
            tags: Default::default(),
            raw: json!({}),
            scope: "o".into(),
            source: String::new(),
            provenance: json!({}),
        }
    }

    #[test]
    fn subtrees_and_statuses_are_left_out() {
        let rules = Exclusions {
            subtrees: vec!["ou-sandbox".into()],
            statuses: vec![AccountStatus::Suspended],
        };
        assert!(rules.keeps(&account(&["r", "ou-prod"], AccountStatus::Active)));
        assert!(!rules.keeps(&account(
            &["r", "ou-sandbox", "ou-deeper"],
            AccountStatus::Active
        )));
        assert!(!rules.keeps(&account(&["r", "ou-prod"], AccountStatus::Suspended)));
        assert!(Exclusions::default().keeps(&account(&[], AccountStatus::Suspended)));
    }
}

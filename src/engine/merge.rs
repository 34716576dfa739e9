//! Merge rules: the one place that decides how a refresh result lands on the data we
//! already hold.
//!
//! - A failure changes only the status and error; the last good data stays.
//! - A part that failed or is unsupported this time keeps its previous value.
//! - An empty list never replaces a non-empty one without the user's say-so.
//! - A masked key (`sk-abc***xyz`) never replaces a known full key.

use crate::domain::snapshot::{AccountState, ApiKey, Availability, ErrorInfo, Part, Snapshot};

/// Merges one refresh outcome into the previous state.
pub fn merge(previous: AccountState, outcome: Result<Snapshot, ErrorInfo>, attempted_at: i64) -> AccountState {
    match outcome {
        Err(error) => AccountState {
            snapshot: previous.snapshot,
            last_error: Some(error),
            last_attempt_at: Some(attempted_at),
            consecutive_failures: previous.consecutive_failures.saturating_add(1),
        },
        Ok(new) => {
            let mut merged = match previous.snapshot {
                None => Box::new(new),
                Some(mut old) => {
                    *old = merge_snapshot(*old, new);
                    old
                }
            };
            merged.shrink_to_fit();
            AccountState {
                snapshot: Some(merged),
                last_error: None,
                last_attempt_at: Some(attempted_at),
                consecutive_failures: 0,
            }
        }
    }
}

fn merge_snapshot(old: Snapshot, new: Snapshot) -> Snapshot {
    Snapshot {
        user: keep_value(old.user, new.user),
        today: keep_value(old.today, new.today),
        keys: merge_keys(old.keys, new.keys),
        models: keep_nonempty(old.models, new.models),
        groups: keep_nonempty(old.groups, new.groups),
        checkin: keep_value(old.checkin, new.checkin),
        pricing: keep_value(old.pricing, new.pricing),
        system_name: new.system_name.or(old.system_name),
        notice: new.notice.or(old.notice),
        ..new
    }
}

/// A part without a value this time keeps the previous value (its availability says why).
fn keep_value<T>(old: Part<T>, new: Part<T>) -> Part<T> {
    if new.value.is_none() && old.value.is_some() {
        return Part { value: old.value, availability: new.availability };
    }
    new
}

/// An empty list never replaces a non-empty one.
fn keep_nonempty<T>(old: Part<Vec<T>>, new: Part<Vec<T>>) -> Part<Vec<T>> {
    let new_empty = new.value.as_ref().is_none_or(Vec::is_empty);
    let old_has = old.value.as_ref().is_some_and(|v| !v.is_empty());
    if new_empty && old_has {
        let availability = match new.availability {
            Availability::Complete => {
                Availability::Partial("the site returned an empty list; kept the previous one".into())
            }
            other => other,
        };
        return Part { value: old.value, availability };
    }
    new
}

/// Keys: the empty-list rule, plus a masked key never replaces a known full key.
fn merge_keys(old: Part<Vec<ApiKey>>, new: Part<Vec<ApiKey>>) -> Part<Vec<ApiKey>> {
    let old_keys = old.value.clone().unwrap_or_default();
    let mut merged = keep_nonempty(old, new);
    if let Some(keys) = merged.value.as_mut() {
        for key in keys.iter_mut().filter(|k| k.masked) {
            if let Some(full) = old_keys.iter().find(|o| o.id == key.id && !o.masked && masks_match(&key.key, &o.key)) {
                key.key = full.key.clone();
                key.masked = false;
            }
        }
    }
    merged
}

/// Whether a masked key (`sk-abcd****wxyz`) is consistent with a full key.
fn masks_match(masked: &str, full: &str) -> bool {
    let m = masked.trim_start_matches("sk-");
    let f = full.trim_start_matches("sk-");
    let head: String = m.chars().take_while(|c| *c != '*').collect();
    let tail: String = m.chars().rev().take_while(|c| *c != '*').collect::<Vec<_>>().into_iter().rev().collect();
    f.starts_with(&head) && f.ends_with(&tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::UserInfo;

    fn snap(quota: i64, models: Vec<&str>, keys: Vec<ApiKey>) -> Snapshot {
        Snapshot {
            fetched_at: 1,
            user: Part::complete(UserInfo {
                balance: crate::domain::money::Amount::Quota(quota),
                ..Default::default()
            }),
            models: Part::complete(models.into_iter().map(String::from).collect()),
            keys: Part::complete(keys),
            ..Default::default()
        }
    }

    fn key(id: i64, k: &str, masked: bool) -> ApiKey {
        ApiKey { id, key: k.into(), masked, ..Default::default() }
    }

    #[test]
    fn failure_keeps_data_and_counts() {
        let ok = merge(AccountState::default(), Ok(snap(100, vec!["m"], vec![])), 10);
        let failed = merge(ok.clone(), Err(ErrorInfo { kind: "unavailable".into(), message: "502".into() }), 20);
        assert_eq!(failed.snapshot, ok.snapshot);
        assert_eq!(failed.consecutive_failures, 1);
        assert_eq!(failed.last_attempt_at, Some(20));
        assert!(!failed.is_ok());
        let again = merge(failed, Err(ErrorInfo { kind: "auth".into(), message: "x".into() }), 30);
        assert_eq!(again.consecutive_failures, 2);
        let recovered = merge(again, Ok(snap(50, vec!["m"], vec![])), 40);
        assert_eq!(recovered.consecutive_failures, 0);
        assert!(recovered.is_ok());
    }

    #[test]
    fn empty_list_does_not_replace_a_full_one() {
        let prev =
            merge(AccountState::default(), Ok(snap(1, vec!["gpt-4o", "claude"], vec![key(1, "sk-a", false)])), 1);
        let next = merge(prev, Ok(snap(2, vec![], vec![])), 2);
        let s = next.snapshot.unwrap();
        assert_eq!(s.models.value.unwrap().len(), 2);
        assert!(matches!(s.models.availability, Availability::Partial(_)));
        assert_eq!(s.keys.value.unwrap().len(), 1);
        assert_eq!(
            s.user.value.unwrap().balance,
            crate::domain::money::Amount::Quota(2),
            "non-list parts take the new value"
        );
    }

    #[test]
    fn failed_part_keeps_previous_value() {
        let prev = merge(AccountState::default(), Ok(snap(1, vec!["m"], vec![])), 1);
        let mut new = snap(2, vec!["m"], vec![]);
        new.user = Part::failed("500");
        let s = merge(prev, Ok(new), 2).snapshot.unwrap();
        assert_eq!(s.user.value.unwrap().balance, crate::domain::money::Amount::Quota(1));
        assert_eq!(s.user.availability, Availability::Failed("500".into()));
    }

    #[test]
    fn masked_key_never_replaces_a_known_full_key() {
        let full = "sk-abcd1234567890wxyz";
        let prev = merge(AccountState::default(), Ok(snap(1, vec![], vec![key(7, full, false)])), 1);
        let next =
            merge(prev, Ok(snap(1, vec![], vec![key(7, "sk-abcd**********wxyz", true), key(8, "sk-ef**gh", true)])), 2);
        let keys = next.snapshot.unwrap().keys.value.unwrap();
        assert_eq!(keys[0].key, full);
        assert!(!keys[0].masked);
        assert!(keys[1].masked, "unknown masked keys stay masked");
        assert!(!masks_match("sk-zzzz****wxyz", full));
    }
}

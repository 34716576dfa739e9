//! Synthetic usage-log rows shared by the log benches: row `i` of a large history.

use apihub::domain::usage_log::{LogKind, UsageLog};

/// Models the rows cycle through.
pub const MODELS: [&str; 8] =
    ["gpt-4o-mini", "gpt-4o", "claude-sonnet", "claude-haiku", "deepseek-chat", "gemini-pro", "qwen-max", "glm-4"];

/// Row `i` of `account_id`, made at `created_at`.
pub fn row(i: usize, account_id: i64, created_at: i64) -> UsageLog {
    let i64i = i as i64;
    UsageLog {
        account_id,
        created_at,
        kind: if i.is_multiple_of(50) { LogKind::Topup } else { LogKind::Consume },
        raw_type: 2,
        model: MODELS[(i / 3) % MODELS.len()].into(),
        token_name: format!("key-{}", i % 7),
        quota: 500 + (i64i * 37) % 20_000,
        prompt_tokens: 100 + i64i % 900,
        completion_tokens: 20 + i64i % 300,
        duration_ms: Some(800 + i64i % 4000),
        group: "default".into(),
        request_id: format!("req-{i:08}"),
        content: if i.is_multiple_of(10) { format!("model ratio {}", i % 13) } else { String::new() },
        content_hash: format!("{i:016x}"),
        ..Default::default()
    }
}

//! Each policy picks the expected account; pins override it.

use std::time::Duration;

use apihub::gateway::Policy;

use crate::rig::{Acct, Rig, settings};
use crate::upstream::{self, Mode, Upstream, reply_text};

/// Three upstreams selling `m`: a (ratio 2, balance $5), b (ratio 1, balance $1),
/// c (ratio 3, balance $50).
async fn three() -> (Vec<Upstream>, Vec<Acct>) {
    let ups = vec![upstream::start("a").await, upstream::start("b").await, upstream::start("c").await];
    let accts = vec![
        Acct::new("a", &ups[0].url, &["m"]).ratio(2.0).balance(5.0),
        Acct::new("b", &ups[1].url, &["m"]).ratio(1.0).balance(1.0),
        Acct::new("c", &ups[2].url, &["m"]).ratio(3.0).balance(50.0),
    ];
    (ups, accts)
}

async fn served_by(rig: &Rig) -> String {
    let r = rig.chat("m", false).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["choices"][0]["message"]["content"].as_str().unwrap().trim_start_matches("hello from ").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheapest_balance_and_order() {
    let (_ups, accts) = three().await;
    for (policy, expect) in [(Policy::Cheapest, "b"), (Policy::Balance, "c"), (Policy::Order, "a")] {
        let rig = Rig::start(&accts, settings(|s| s.policy = policy)).await;
        assert_eq!(served_by(&rig).await, expect, "{policy}");
        rig.stop().await;
    }
    // The user's order list wins over the Sites order.
    let rig = Rig::start(&accts, settings(|s| s.policy = Policy::Order)).await;
    let ids = rig.ids.clone();
    rig.stop().await;
    let rig = Rig::start(
        &accts,
        settings(|s| {
            s.policy = Policy::Order;
            s.order = vec![ids[2], ids[0]];
        }),
    )
    .await;
    assert_eq!(served_by(&rig).await, "c");
    // A pin forces the model to its list, whatever the policy.
    rig.stop().await;
    let rig = Rig::start(
        &accts,
        settings(|s| {
            s.pins.insert("m".into(), vec![ids[0], ids[2]]);
        }),
    )
    .await;
    assert_eq!(served_by(&rig).await, "a");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastest_measures_each_then_prefers_the_quickest() {
    let (ups, accts) = three().await;
    ups[0].set(Mode::Delay(Duration::from_millis(60)));
    ups[2].set(Mode::Delay(Duration::from_millis(60)));
    let rig = Rig::start(&accts, settings(|s| s.policy = Policy::Fastest)).await;
    // Unmeasured candidates go first (in the static order), so each gets measured once.
    let mut first = Vec::new();
    for _ in 0..3 {
        first.push(served_by(&rig).await);
    }
    first.sort();
    assert_eq!(first, ["a", "b", "c"]);
    for _ in 0..3 {
        assert_eq!(served_by(&rig).await, "b", "the measured quickest");
    }
    let view = rig.gw().view(Some("m"));
    assert_eq!(view.models[0].candidates[0].info.account_label, "b / b");
    assert!(view.models[0].candidates.iter().all(|c| c.ttfb_ms.is_some()));
    assert_eq!(reply_text("b"), "hello from b");
    rig.stop().await;
}

//! The webhook delivery worker (docs/WEBHOOKS.md). One supervised task per node polls the
//! store: it expands new outbox events into deliveries, takes the due ones (claimed with
//! `next_at_ms`, so a restart or another node picks up what a dead one held) and posts each to
//! its subscription's URL, signed with the subscription's secret. A 2xx ends the delivery;
//! anything else is tried again after an exponential backoff with jitter, and a delivery that
//! keeps failing pauses its subscription (the managers are told). At least once, in order per
//! lead: a lead's later event waits while an earlier one is undelivered.
//!
//! URLs come from managers, so every request goes through `net_guard` as web push does: https
//! and public addresses only (checked again as the connection is made), no redirects, a short
//! timeout — unless `webhooks.allow_insecure_endpoints` is set for tests or an on-premise CRM.

use crate::net_guard::{Policy, PublicOnly};
use crate::settings::WebhookSettings;
use crate::store::{DueDelivery, Store};
use crate::supervise::Supervisor;
use crate::Clock;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Headers every delivery carries.
pub const EVENT_ID_HEADER: &str = "X-Roleta-Event-Id";
pub const TIMESTAMP_HEADER: &str = "X-Roleta-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Roleta-Signature";
/// How often delivered deliveries past their retention are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// The longest error text kept on a delivery.
const MAX_ERROR: usize = 300;

/// The outbound rules of webhooks, from `[webhooks]`.
pub fn policy(s: &WebhookSettings) -> Policy {
    Policy {
        allow_insecure: s.allow_insecure_endpoints,
        allowed_hosts: s.allowed_hosts.clone(),
    }
}

/// `sha256=<hex>`: HMAC-SHA256 with the subscription's secret over `"{timestamp}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // An HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `attempts + 1`, after `attempts` failures (1 or more): the base
/// doubled each time up to the limit, then a random point between half of it and all of it, so
/// deliveries that failed together do not all come back at the same moment.
pub fn backoff_ms(s: &WebhookSettings, attempts: i64) -> i64 {
    let base = s.base_delay_ms.max(1);
    let shift = attempts.clamp(1, 40) - 1;
    let full = base
        .saturating_mul(1u64 << shift)
        .min(s.max_delay_ms.max(base));
    let half = full / 2;
    let jittered = half + rand::thread_rng().gen_range(0..=full - half);
    i64::try_from(jittered).unwrap_or(i64::MAX)
}

/// The body of one event: the envelope around the data kept in the outbox. The same bytes at
/// every attempt.
pub fn body(d: &DueDelivery) -> String {
    let data: serde_json::Value = serde_json::from_str(&d.data).unwrap_or_default();
    let occurred_at =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(d.event_at_ms) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
    serde_json::json!({
        "id": d.event_id,
        "type": d.event_type,
        "agency_id": d.agency_id,
        "occurred_at": occurred_at,
        "data": data,
    })
    .to_string()
}

/// Starts the worker under the supervisor (unless `webhooks.enabled` is off on this node).
pub fn start(
    settings: &WebhookSettings,
    store: Store,
    clock: Clock,
    sup: &Supervisor,
) -> anyhow::Result<()> {
    let policy = policy(settings);
    if policy.allow_insecure {
        tracing::warn!(
            "webhooks.allow_insecure_endpoints is on: webhook URLs may be http and internal \
             addresses (for tests and a CRM on the agency's own network)"
        );
    }
    if !settings.enabled {
        return Ok(());
    }
    let timeout = Duration::from_millis(settings.request_timeout_ms.max(1));
    let mut http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent("Roleta-Webhooks/1")
        .no_proxy();
    if !policy.allow_insecure {
        http = http.dns_resolver(Arc::new(PublicOnly));
    }
    let worker = Worker {
        store,
        clock,
        http: http.build()?,
        policy,
        settings: settings.clone(),
        last_purge: None,
    };
    sup.spawn("webhook-sender", worker, |w, cancel| {
        Box::pin(w.run(cancel))
    });
    Ok(())
}

struct Worker {
    store: Store,
    clock: Clock,
    http: reqwest::Client,
    policy: Policy,
    settings: WebhookSettings,
    last_purge: Option<tokio::time::Instant>,
}

/// What one attempt came to.
enum Outcome {
    Delivered(u16),
    Failed(Option<u16>, String),
}

impl Worker {
    async fn run(&mut self, cancel: CancellationToken) {
        let every = Duration::from_millis(self.settings.poll_interval_ms.max(1));
        loop {
            // A round is never cut short: its requests are bounded by the request timeout,
            // and what was claimed gets its result written.
            let busy = match self.round().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "a webhook round failed; trying again");
                    false
                }
            };
            if cancel.is_cancelled() {
                break;
            }
            if !busy {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(every) => {}
                }
            }
        }
    }

    /// Expands new events, sends what is due; answers how many deliveries it sent.
    async fn round(&mut self) -> anyhow::Result<usize> {
        let batch = self.settings.batch.clamp(1, 1000) as i64;
        self.store
            .expand_webhook_events(self.clock.now_ms(), batch)
            .await?;
        self.purge().await;
        let now = self.clock.now_ms();
        let due = self.store.due_webhook_deliveries(now, batch).await?;
        let lease = 2 * self.settings.request_timeout_ms.max(1) as i64 + 1000;
        let mut mine = Vec::with_capacity(due.len());
        for d in due {
            if self.store.claim_webhook_delivery(&d, now + lease).await? {
                mine.push(d);
            }
        }
        let sent = mine.len();
        let this = &*self;
        futures_util::stream::iter(mine)
            .for_each_concurrent(self.settings.concurrency.clamp(1, 64), |d| async move {
                this.deliver(d).await
            })
            .await;
        Ok(sent)
    }

    async fn purge(&mut self) {
        let now = tokio::time::Instant::now();
        if self.last_purge.is_some_and(|t| now < t + PURGE_EVERY) {
            return;
        }
        self.last_purge = Some(now);
        let days = self.settings.retention_days.max(1);
        let before = self.clock.now_ms() - days * 86_400_000;
        if let Err(e) = self.store.purge_webhooks(before).await {
            tracing::warn!(error = %e, "deleting old webhook deliveries failed");
        }
    }

    async fn deliver(&self, d: DueDelivery) {
        let outcome = self.attempt(&d).await;
        let now = self.clock.now_ms();
        let written = match outcome {
            Outcome::Delivered(status) => {
                tracing::debug!(
                    delivery = d.id,
                    event = d.event_id,
                    status,
                    "webhook delivered"
                );
                self.store
                    .webhook_delivered(&d, status, now)
                    .await
                    .map(drop)
            }
            Outcome::Failed(status, error) => {
                let next = now + backoff_ms(&self.settings, d.attempts + 1);
                let host = reqwest::Url::parse(&d.url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default();
                tracing::info!(delivery = d.id, event = d.event_id, ?status, %error, "webhook attempt failed");
                self.store
                    .webhook_failed(
                        &d,
                        status,
                        &error,
                        next,
                        self.settings.attempts_before_pause,
                        &host,
                        now,
                    )
                    .await
                    .map(|paused| {
                        if paused {
                            tracing::warn!(
                                subscription = d.subscription_id,
                                "a webhook subscription kept failing and was paused"
                            );
                        }
                    })
            }
        };
        if let Err(e) = written {
            // The claim runs out and the delivery is taken again: at least once.
            tracing::warn!(delivery = d.id, error = %e, "recording a webhook attempt failed");
        }
    }

    async fn attempt(&self, d: &DueDelivery) -> Outcome {
        // Checked at every send: rows stored before a stricter allowlist are refused too; a
        // host name's addresses are checked by the resolver as the connection is made.
        let url = match self.policy.check_url(&d.url) {
            Ok(u) => u,
            Err(e) => return Outcome::Failed(None, e.to_string()),
        };
        let body = body(d);
        let timestamp = self.clock.now_ms() / 1000;
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, d.event_id.to_string())
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature(&d.secret, timestamp, &body))
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Outcome::Delivered(r.status().as_u16()),
            Ok(r) => {
                let status = r.status();
                let error = if status.is_redirection() {
                    format!("answered {status} (redirects are not followed)")
                } else {
                    format!("answered {status}")
                };
                Outcome::Failed(Some(status.as_u16()), error)
            }
            Err(e) => {
                let mut error = if e.is_timeout() {
                    "no answer within the request timeout".to_string()
                } else if e.is_connect() {
                    "could not connect".to_string()
                } else {
                    format!("request failed: {e}")
                };
                error.truncate(MAX_ERROR);
                Outcome::Failed(None, error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf %s '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test
        let s = signature("whsec_test", 1_700_000_000, "{}");
        assert_eq!(
            s,
            "sha256=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(s, signature("whsec_other", 1_700_000_000, "{}"));
        assert_ne!(s, signature("whsec_test", 1_700_000_001, "{}"));
    }

    #[test]
    fn backoff_doubles_up_to_the_limit_with_jitter() -> Result<(), config::ConfigError> {
        let mut s = crate::Settings::defaults()?.webhooks;
        s.base_delay_ms = 100;
        s.max_delay_ms = 1000;
        for _ in 0..50 {
            let first = backoff_ms(&s, 1);
            assert!((50..=100).contains(&first), "{first}");
            let third = backoff_ms(&s, 3);
            assert!((200..=400).contains(&third), "{third}");
            let late = backoff_ms(&s, 30);
            assert!((500..=1000).contains(&late), "{late}");
        }
        Ok(())
    }
}

//! Web push to brokers whose pages are all in the background (R8). The VAPID key pair is
//! generated on first start and kept in the database (or taken from config); each offer sends
//! one encrypted message (RFC 8291, aes128gcm) per subscribed device, with a TTL equal to the
//! seconds left, so a push service never delivers an offer that has already ended. Payloads
//! carry the offer id and a short text — never the client's phone. Subscriptions the push
//! service answers 404 or 410 for are deleted.
//!
//! Endpoints come from users, so every request goes through `net_guard`: https only, a public
//! address (checked again when connecting, so a changed DNS answer cannot reach an internal
//! service), the configured push hosts, no redirects, short timeouts.

use crate::model::{AgencyId, BrokerId, OfferId};
use crate::net_guard::{Policy, PublicOnly, Refusal};
use crate::settings::PushSettings;
use crate::store::{PushSubscription, Store};
use crate::supervise::Supervisor;
use crate::Clock;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use web_push::{ContentEncoding, SubscriptionInfo, VapidSignatureBuilder, WebPushMessageBuilder};

/// One offer to announce.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PushJob {
    pub agency: AgencyId,
    pub broker: BrokerId,
    pub offer: OfferId,
    pub deadline_ms: i64,
    pub client_name: String,
}

/// Cheap handle: the public key for browsers and a bounded queue to the sender task.
#[derive(Clone)]
pub struct Push {
    tx: Option<mpsc::Sender<PushJob>>,
    public_key: Arc<str>,
    policy: Arc<Policy>,
}

/// A push service gets this long to accept a connection, and this long for the whole request:
/// one sender serves every broker, so a slow endpoint must not hold the others up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

struct Worker {
    store: Store,
    clock: Clock,
    http: reqwest::Client,
    policy: Arc<Policy>,
    private_key: String,
    subject: String,
}

impl Push {
    /// Loads or creates the VAPID keys and starts the sender under the supervisor.
    pub async fn start(
        settings: &PushSettings,
        store: Store,
        clock: Clock,
        sup: &Supervisor,
    ) -> anyhow::Result<Self> {
        let (private_key, public_key) = keys(settings, &store, clock.now_ms()).await?;
        let policy = Arc::new(Policy {
            allow_insecure: settings.allow_insecure_endpoints,
            allowed_hosts: settings.allowed_hosts.clone(),
        });
        if policy.allow_insecure {
            tracing::warn!(
                "push.allow_insecure_endpoints is on: push endpoints may be http and internal \
                 addresses (for tests only; never in production)"
            );
        }
        if !settings.enabled {
            return Ok(Self {
                tx: None,
                public_key: public_key.into(),
                policy,
            });
        }
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .no_proxy();
        if !policy.allow_insecure {
            http = http.dns_resolver(Arc::new(PublicOnly));
        }
        let worker = Worker {
            store,
            clock,
            http: http.build()?,
            policy: policy.clone(),
            private_key,
            subject: settings.subject.clone(),
        };
        sup.spawn("push-sender", (worker, rx), |(w, rx), cancel| {
            Box::pin(w.run(rx, cancel))
        });
        Ok(Self {
            tx: Some(tx),
            public_key: public_key.into(),
            policy,
        })
    }

    /// Whether a browser's endpoint may be stored: https, on an allowed host, resolving only to
    /// public addresses. The same rules are applied again at every send.
    pub async fn check_endpoint(&self, endpoint: &str) -> Result<(), Refusal> {
        self.policy.check_endpoint(endpoint).await.map(drop)
    }

    /// Whether a browser's keys can be encrypted to (the point is on the P-256 curve): a test
    /// message is encrypted once, so a bad key is refused at registration, not at every offer.
    pub fn keys_usable(p256dh: &str, auth: &str) -> bool {
        let info = SubscriptionInfo::new("https://push.invalid/", p256dh, auth);
        let mut msg = WebPushMessageBuilder::new(&info);
        msg.set_payload(ContentEncoding::Aes128Gcm, b"{}");
        msg.build().is_ok()
    }

    /// The application server key a browser subscribes with (base64url, uncompressed point).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Queues a push; never waits. A full queue drops it (the WebSocket copy still goes out).
    pub fn offer(&self, job: PushJob) {
        if let Some(tx) = &self.tx {
            if tx.try_send(job).is_err() {
                tracing::warn!("push queue full; a push was dropped");
            }
        }
    }
}

async fn keys(
    settings: &PushSettings,
    store: &Store,
    now_ms: i64,
) -> anyhow::Result<(String, String)> {
    let configured = settings.vapid_private_key.expose().trim();
    if !configured.is_empty() {
        let public = public_key_of(configured)?;
        return Ok((configured.to_string(), public));
    }
    let pair = jwt_simple::algorithms::ES256KeyPair::generate();
    let private = URL_SAFE_NO_PAD.encode(pair.to_bytes());
    let public = public_key_of(&private)?;
    Ok(store.vapid_keys((&private, &public), now_ms).await?)
}

fn public_key_of(private: &str) -> anyhow::Result<String> {
    let partial = VapidSignatureBuilder::from_base64_no_sub(private)
        .map_err(|e| anyhow::anyhow!("invalid VAPID private key: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(partial.get_public_key()))
}

impl Worker {
    async fn run(&self, rx: &mut mpsc::Receiver<PushJob>, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                job = rx.recv() => match job {
                    Some(job) => self.send_all(job).await,
                    None => break,
                },
            }
        }
    }

    async fn send_all(&self, job: PushJob) {
        tracing::debug!(offer = %job.offer, broker = %job.broker, "sending web push");
        let subs = match self.store.push_subscriptions(job.agency, job.broker).await {
            Ok(s) => s,
            Err(e) => return tracing::warn!(error = %e, "reading push subscriptions failed"),
        };
        for sub in subs {
            let ttl = (job.deadline_ms - self.clock.now_ms()) / 1000;
            if ttl <= 0 {
                return; // the offer is over: nothing worth announcing
            }
            match self.send(&sub, &job, ttl as u32).await {
                Ok(status) if status == 404 || status == 410 => {
                    tracing::info!(
                        subscription = sub.id,
                        status,
                        "push subscription gone; deleting it"
                    );
                    if let Err(e) = self.store.delete_push_subscription(sub.id).await {
                        // Tried again at the next offer to this broker.
                        tracing::warn!(subscription = sub.id, error = %e, "deleting a gone push subscription failed");
                    }
                }
                Ok(status) if !(200..300).contains(&status) => {
                    tracing::warn!(
                        subscription = sub.id,
                        status,
                        "push service refused the message"
                    );
                }
                Ok(status) => tracing::debug!(subscription = sub.id, status, "push delivered"),
                Err(e) => tracing::warn!(subscription = sub.id, error = %e, "push failed"),
            }
        }
    }

    async fn send(&self, sub: &PushSubscription, job: &PushJob, ttl: u32) -> anyhow::Result<u16> {
        // Rows stored before these rules, or a stricter allowlist since: checked again here;
        // a host name's addresses are checked by the resolver as the connection is made.
        let endpoint = self.policy.check_url(&sub.endpoint)?;
        let info = SubscriptionInfo::new(
            sub.endpoint.as_str(),
            sub.p256dh.as_str(),
            sub.auth.as_str(),
        );
        let payload = serde_json::json!({
            "offer_id": job.offer,
            "title": "Novo lead na roleta",
            "body": format!("{} — você tem {ttl} s para atender", job.client_name),
        })
        .to_string();
        // RFC 8292: `aud` is the endpoint's origin. web-push derives it from scheme and host
        // only, which drops a non-default port, so it is set here.
        let origin = endpoint.origin().ascii_serialization();
        let mut sig = VapidSignatureBuilder::from_base64(&self.private_key, &info)?;
        sig.add_claim("sub", self.subject.as_str());
        sig.add_claim("aud", origin.as_str());
        let mut msg = WebPushMessageBuilder::new(&info);
        msg.set_ttl(ttl);
        msg.set_payload(ContentEncoding::Aes128Gcm, payload.as_bytes());
        msg.set_vapid_signature(sig.build()?);
        let request = web_push::request_builder::build_request::<Vec<u8>>(msg.build()?);
        let mut out = self.http.post(endpoint);
        for (name, value) in request.headers() {
            out = out.header(name.as_str(), value.as_bytes());
        }
        let response = out.body(request.into_body()).send().await?;
        Ok(response.status().as_u16())
    }
}

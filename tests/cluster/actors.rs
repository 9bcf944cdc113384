//! The scripted people of a fault test: brokers over WebSocket who reconnect to another node
//! when theirs goes away, and lead sources posting at a steady rate with idempotency keys.

use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Copy, Debug)]
pub enum Policy {
    /// Never answers: offers run to their deadline.
    Silent,
    /// Half accept after 0.3–1.5 s, a fifth refuse, the rest stay silent.
    Mixed,
}

#[derive(Default)]
pub struct FleetStats {
    pub connected: AtomicUsize,
    pub offers: AtomicUsize,
    pub answers: AtomicUsize,
    pub errors: Mutex<BTreeMap<String, usize>>,
    pub closes: Mutex<BTreeMap<u16, usize>>,
}

pub struct Fleet {
    pub stats: Arc<FleetStats>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Fleet {
    pub fn start(urls: Vec<String>, tokens: &[String], policy: Policy) -> Self {
        let stats = Arc::new(FleetStats::default());
        let cancel = CancellationToken::new();
        let urls = Arc::new(urls);
        let mut tasks = JoinSet::new();
        for (i, token) in tokens.iter().enumerate() {
            let (stats, cancel, urls, token) =
                (stats.clone(), cancel.clone(), urls.clone(), token.clone());
            tasks.spawn(broker(i, urls, token, policy, stats, cancel));
        }
        Self {
            stats,
            cancel,
            tasks,
        }
    }

    pub fn connected(&self) -> usize {
        self.stats.connected.load(Ordering::Relaxed)
    }

    pub async fn wait_connected(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.connected() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} brokers connected",
                self.connected()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn closes(&self, code: u16) -> usize {
        self.stats
            .closes
            .lock()
            .map(|c| c.get(&code).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn errors(&self) -> BTreeMap<String, usize> {
        self.stats
            .errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

fn decide(policy: Policy, offer: i64) -> Option<(u64, bool)> {
    match policy {
        Policy::Silent => None,
        Policy::Mixed => {
            let r = rand::random::<u32>() % 10;
            let _ = offer;
            if r < 5 {
                Some((300 + rand::random::<u64>() % 1200, true))
            } else if r < 7 {
                Some((200 + rand::random::<u64>() % 600, false))
            } else {
                None
            }
        }
    }
}

async fn broker(
    i: usize,
    urls: Arc<Vec<String>>,
    token: String,
    policy: Policy,
    stats: Arc<FleetStats>,
    cancel: CancellationToken,
) {
    let mut idx = i % urls.len();
    while !cancel.is_cancelled() {
        let Ok(mut req) = urls[idx].as_str().into_client_request() else {
            return;
        };
        let Ok(auth) = format!("Bearer {token}").parse() else {
            return;
        };
        req.headers_mut().insert("authorization", auth);
        let conn = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(req),
        )
        .await;
        let Ok(Ok((mut ws, _))) = conn else {
            idx = (idx + 1) % urls.len();
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if ws
            .send(Message::text(r#"{"type":"set_online","online":true}"#))
            .await
            .is_err()
        {
            continue;
        }
        stats.connected.fetch_add(1, Ordering::Relaxed);
        let mut answer: Option<(tokio::time::Instant, i64, bool)> = None;
        loop {
            let due = answer.map(|(at, _, _)| at);
            tokio::select! {
                _ = cancel.cancelled() => {
                    let _ = ws.close(None).await;
                    break;
                }
                _ = async { match due { Some(at) => tokio::time::sleep_until(at).await, None => std::future::pending().await } } => {
                    if let Some((_, offer, accept)) = answer.take() {
                        let text = if accept {
                            format!(r#"{{"type":"accept","offer_id":{offer}}}"#)
                        } else {
                            format!(r#"{{"type":"refuse","offer_id":{offer},"reason":"agenda cheia"}}"#)
                        };
                        stats.answers.fetch_add(1, Ordering::Relaxed);
                        if ws.send(Message::text(text)).await.is_err() { break; }
                    }
                }
                msg = ws.next() => {
                    let Some(Ok(msg)) = msg else { break };
                    match msg {
                        Message::Text(t) => {
                            let Ok(v) = serde_json::from_str::<serde_json::Value>(t.as_str()) else { continue };
                            match v["type"].as_str() {
                                Some("offer") => {
                                    stats.offers.fetch_add(1, Ordering::Relaxed);
                                    let offer = v["offer_id"].as_i64().unwrap_or(0);
                                    if let Some((ms, accept)) = decide(policy, offer) {
                                        answer = Some((tokio::time::Instant::now() + Duration::from_millis(ms), offer, accept));
                                    }
                                }
                                Some("error") => {
                                    let code = v["code"].as_str().unwrap_or("?").to_string();
                                    if let Ok(mut e) = stats.errors.lock() { *e.entry(code).or_default() += 1; }
                                }
                                _ => {}
                            }
                        }
                        Message::Close(frame) => {
                            let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                            if let Ok(mut c) = stats.closes.lock() { *c.entry(code).or_default() += 1; }
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
        stats.connected.fetch_sub(1, Ordering::Relaxed);
        if cancel.is_cancelled() {
            break;
        }
        idx = (idx + 1) % urls.len();
        tokio::time::sleep(Duration::from_millis(100 + rand::random::<u64>() % 200)).await;
    }
}

/// The last answer a source got for one lead it sent.
#[derive(Debug, Clone)]
pub struct Post {
    pub key: String,
    pub status: u16,
    pub lead: Option<i64>,
}

pub fn phone(i: usize) -> String {
    format!("+5511{}", 900_000_000 + i)
}

/// Posts one lead; on a transport error (node down) tries the next node with the same key.
pub async fn post_lead(
    http: &reqwest::Client,
    bases: &[String],
    start: usize,
    api_key: &str,
    key: &str,
    body: &serde_json::Value,
) -> Post {
    let mut last = 0u16;
    for attempt in 0..bases.len() {
        let base = &bases[(start + attempt) % bases.len()];
        let r = http
            .post(format!("{base}/api/v1/leads"))
            .bearer_auth(api_key)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await;
        match r {
            Ok(r) => {
                let status = r.status().as_u16();
                let lead = r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["lead_id"].as_i64());
                return Post {
                    key: key.to_string(),
                    status,
                    lead,
                };
            }
            Err(_) => last = 0,
        }
    }
    Post {
        key: key.to_string(),
        status: last,
        lead: None,
    }
}

/// Steady lead traffic over the given agencies' API keys until cancelled (bounded in flight).
pub struct Traffic {
    pub posts: Arc<Mutex<Vec<(String, serde_json::Value, Post)>>>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

pub fn lead_body(i: usize) -> serde_json::Value {
    serde_json::json!({ "name": format!("Cliente {i}"), "phone": phone(i), "comment": "teste de falha" })
}

impl Traffic {
    pub fn start(bases: Vec<String>, api_keys: Vec<String>, per_second: u64, first: usize) -> Self {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let cancel = CancellationToken::new();
        let (p, c) = (posts.clone(), cancel.clone());
        let task = tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("client");
            let gate = Arc::new(tokio::sync::Semaphore::new(64));
            let mut tick =
                tokio::time::interval(Duration::from_micros(1_000_000 / per_second.max(1)));
            let mut inflight = JoinSet::new();
            let mut i = first;
            loop {
                tokio::select! {
                    _ = c.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let Ok(permit) = gate.clone().acquire_owned().await else {
                    break;
                };
                let (http, bases, p) = (http.clone(), bases.clone(), p.clone());
                let api_key = api_keys[i % api_keys.len()].clone();
                let key = format!("lead-{i}");
                let body = lead_body(i);
                inflight.spawn(async move {
                    let post = post_lead(&http, &bases, i, &api_key, &key, &body).await;
                    if let Ok(mut v) = p.lock() {
                        v.push((api_key, body, post));
                    }
                    drop(permit);
                });
                i += 1;
            }
            while inflight.join_next().await.is_some() {}
        });
        Self {
            posts,
            cancel,
            task,
        }
    }

    pub async fn stop(self) -> Vec<(String, serde_json::Value, Post)> {
        self.cancel.cancel();
        let _ = self.task.await;
        self.posts.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

//! The bus between nodes: Redis pub/sub. Each node listens on its own channel and on one
//! broadcast channel. Pub/sub, not streams: everything sent here is either re-derivable from
//! PostgreSQL (a lead to dispatch, an offer to show — the hello snapshot and the sweeper cover a
//! lost message) or answered with a timeout (a forwarded accept), so at-most-once delivery with
//! no stored backlog is what fits; a stream would keep history nobody reads.

use super::wire::{BusMsg, ReplyBody, EVENT_VERSION};
use super::{Cluster, Waiting};
use crate::dispatch::{Answer, AnswerError, Command};
use crate::model::AgencyId;
use crate::presence::{close, Outbound, Sockets};
use deadpool_redis::redis;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Messages published per pipeline at most.
const MAX_PIPELINE: usize = 256;

/// Answers to other nodes' forwarded commands awaited at once; past this the listener waits
/// for the one in hand before reading on.
const MAX_PENDING_REPLIES: usize = 1024;

/// An answer this node owes another: resolves once the actor answered and it is published.
type PendingReply = BoxFuture<'static, ()>;

impl Cluster {
    pub(super) fn send_to(&self, node: &str, msg: &BusMsg) {
        match serde_json::to_string(msg) {
            Ok(payload) => self.publish(self.node_channel(node), payload),
            Err(e) => tracing::warn!(error = %e, "encoding a bus message failed"),
        }
    }

    pub(super) fn broadcast(&self, msg: &BusMsg) {
        match serde_json::to_string(msg) {
            Ok(payload) => self.publish(self.broadcast_channel(), payload),
            Err(e) => tracing::warn!(error = %e, "encoding a bus message failed"),
        }
    }

    fn reply(&self, node: &str, req: u64, body: ReplyBody) {
        self.send_to(node, &BusMsg::Reply { req, body });
    }

    /// Closes the chosen WebSockets on this node now and on every other node by broadcast.
    pub(super) fn close_everywhere(&self, which: Sockets, code: u16) {
        let reason = close::reason(code);
        self.inner.hub.close(&which, code, reason);
        self.broadcast(&BusMsg::Close {
            which,
            code,
            from: self.inner.node.clone(),
        });
    }

    /// A command for an agency another node dispatches.
    pub(super) fn forward(&self, node: &str, agency: AgencyId, cmd: Command) {
        let from = self.inner.node.clone();
        let msg = match cmd {
            Command::LeadArrived { lead, .. } => BusMsg::LeadArrived { agency, lead },
            Command::BrokerChanged { broker, .. } => BusMsg::BrokerChanged { agency, broker },
            Command::SettingsChanged { .. } => BusMsg::SettingsChanged { agency },
            Command::Reload { .. } => BusMsg::Reload { agency },
            Command::Answer {
                broker,
                offer,
                answer,
                reason,
                reply,
                ..
            } => {
                let req = self.next_req();
                self.inner.pending.insert(req, Waiting::Answer(reply));
                BusMsg::Answer {
                    agency,
                    broker,
                    offer,
                    accept: answer == Answer::Accept,
                    reason,
                    from,
                    req,
                }
            }
            Command::Stats { reply, .. } => {
                let req = self.next_req();
                self.inner.pending.insert(req, Waiting::Stats(reply));
                BusMsg::Stats { agency, from, req }
            }
            // Ownership commands are local by nature.
            other => {
                tracing::debug!(%agency, "a node-local command was not forwarded");
                other.answer_moving();
                return;
            }
        };
        self.send_to(node, &msg);
    }

    /// A message from another node; an answer this node now owes comes back to be awaited.
    async fn receive(&self, msg: BusMsg) -> Option<PendingReply> {
        match msg {
            BusMsg::Event {
                v,
                broker,
                event,
                push,
            } => {
                if v == EVENT_VERSION {
                    self.deliver_here(broker, Outbound::Event(Arc::new(event)), push);
                } else {
                    tracing::warn!(
                        v,
                        "an event of a version this node does not know was dropped"
                    );
                }
            }
            BusMsg::Deliver { broker, text, push } => {
                // From a node of the previous release (see `BusMsg::Deliver`).
                self.deliver_here(broker, Outbound::Encoded(text.into()), push);
            }
            BusMsg::Toggle {
                agency,
                broker,
                on,
                reason,
                from,
            } => {
                // The node that sent it has applied it already.
                if from != self.inner.node && self.inner.hub.is_connected(broker) {
                    self.apply_toggle(agency, broker, on, reason).await;
                }
            }
            BusMsg::LeadArrived { agency, lead } => {
                self.local_only(agency, Command::LeadArrived { agency, lead })
                    .await
            }
            BusMsg::BrokerChanged { agency, broker } => {
                self.local_only(agency, Command::BrokerChanged { agency, broker })
                    .await
            }
            BusMsg::SettingsChanged { agency } => {
                self.local_only(agency, Command::SettingsChanged { agency })
                    .await
            }
            BusMsg::Answer {
                agency,
                broker,
                offer,
                accept,
                reason,
                from,
                req,
            } => {
                let (reply, rx) = oneshot::channel();
                let answer = if accept {
                    Answer::Accept
                } else {
                    Answer::Refuse
                };
                let cmd = Command::Answer {
                    agency,
                    broker,
                    offer,
                    answer,
                    reason,
                    reply,
                };
                self.local_only(agency, cmd).await;
                let c = self.clone();
                return Some(Box::pin(async move {
                    let r = rx.await.unwrap_or(Err(AnswerError::Stopped));
                    c.reply(&from, req, r.into());
                }));
            }
            BusMsg::Stats { agency, from, req } => {
                let (reply, rx) = oneshot::channel();
                self.local_only(agency, Command::Stats { agency, reply })
                    .await;
                let c = self.clone();
                return Some(Box::pin(async move {
                    let stats = rx.await.unwrap_or_default();
                    c.reply(&from, req, stats.into());
                }));
            }
            BusMsg::Reply { req, body } => {
                // No one waiting any more (timed out): the answer is not needed.
                if let Some((_, waiting)) = self.inner.pending.remove(&req) {
                    match waiting {
                        Waiting::Answer(tx) => {
                            tx.send(body.into_answer()).ok();
                        }
                        Waiting::Stats(tx) => {
                            if let ReplyBody::Stats { stats } = body {
                                tx.send(stats).ok();
                            }
                        }
                    }
                }
            }
            BusMsg::Close { which, code, from } => {
                // The node that sent it has closed its own already.
                if from != self.inner.node {
                    self.inner.hub.close(&which, code, close::reason(code));
                }
            }
            BusMsg::Reload { agency } => self.local_only(agency, Command::Reload { agency }).await,
            BusMsg::Released { agency } => {
                tracing::debug!(%agency, "an agency was released");
                self.inner.lease_check.notify_one();
            }
        }
        None
    }

    /// A forwarded command runs here only if this node still dispatches the agency; otherwise
    /// its sender gets "moving" (answers, stats) or the sweeper catches the lead later.
    async fn local_only(&self, agency: AgencyId, cmd: Command) {
        if self.holds(agency) {
            if let Err(e) = self.inner.local.send(agency, cmd).await {
                tracing::debug!(%agency, error = %e, "a forwarded command found the actors stopped");
            }
            return;
        }
        if !matches!(cmd, Command::Answer { .. } | Command::Stats { .. }) {
            self.inner.lease_check.notify_one();
        }
        cmd.answer_moving();
    }

    /// Drops replies whose asker stopped waiting (timed out).
    pub(super) fn forget_abandoned(&self) {
        self.inner.pending.retain(|_, w| !w.is_closed());
    }
}

/// Publishes queued messages, a pipeline at a time, on one pooled connection.
pub(super) async fn publisher(
    cluster: Cluster,
    rx: &mut mpsc::Receiver<(String, String)>,
    cancel: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_PIPELINE);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                // What was queued before the stop still goes out (the drain's hand-over).
                cluster.inner.closed.store(true, std::sync::atomic::Ordering::Relaxed);
                while let Ok(m) = rx.try_recv() {
                    batch.push(m);
                }
                if batch.is_empty() {
                    break;
                }
            }
            n = rx.recv_many(&mut batch, MAX_PIPELINE) => if n == 0 { break },
        }
        let mut pipe = redis::pipe();
        for (channel, payload) in batch.drain(..) {
            pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
        }
        if let Err(e) = cluster.query_pipe::<()>(&pipe).await {
            tracing::warn!(error = %e, "publishing to other nodes failed");
        }
        if cancel.is_cancelled() {
            break;
        }
    }
}

/// Listens on this node's channel and the broadcast one; reconnects after Redis goes away.
pub(super) async fn listener(cluster: Cluster, cancel: CancellationToken) {
    let mine = cluster.node_channel(&cluster.inner.node);
    let all = cluster.broadcast_channel();
    let mut replies: FuturesUnordered<PendingReply> = FuturesUnordered::new();
    while !cancel.is_cancelled() {
        let mut pubsub = match cluster.inner.client.get_async_pubsub().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "subscribing to the bus failed; retrying");
                pause(&cancel, 500).await;
                continue;
            }
        };
        if let Err(e) = async {
            pubsub.subscribe(&mine).await?;
            pubsub.subscribe(&all).await
        }
        .await
        {
            tracing::warn!(error = %e, "subscribing to the bus failed; retrying");
            pause(&cancel, 500).await;
            continue;
        }
        let mut stream = pubsub.on_message();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                Some(()) = replies.next(), if !replies.is_empty() => {}
                m = stream.next() => match m {
                    Some(m) => {
                        let payload = match m.get_payload::<String>() {
                            Ok(p) => p,
                            Err(e) => {
                                tracing::warn!(error = %e, "a bus message that is not text was dropped");
                                continue;
                            }
                        };
                        let msg = match serde_json::from_str::<BusMsg>(&payload) {
                            Ok(msg) => msg,
                            Err(e) => {
                                tracing::warn!(error = %e, "a bus message this node does not understand");
                                continue;
                            }
                        };
                        if let Some(reply) = cluster.receive(msg).await {
                            if replies.len() >= MAX_PENDING_REPLIES {
                                reply.await;
                            } else {
                                replies.push(reply);
                            }
                        }
                    }
                    None => {
                        tracing::warn!("the bus connection closed; resubscribing");
                        break;
                    }
                },
            }
        }
        pause(&cancel, 200).await;
    }
}

pub(super) async fn pause(cancel: &CancellationToken, ms: u64) {
    tokio::select! {
        _ = cancel.cancelled() => {},
        _ = tokio::time::sleep(Duration::from_millis(ms)) => {},
    }
}

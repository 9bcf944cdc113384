//! The bus between nodes: Redis pub/sub. Each node listens on its own channel and on one
//! broadcast channel. Pub/sub, not streams: everything sent here is either re-derivable from
//! PostgreSQL (a lead to dispatch, an offer to show — the hello snapshot and the sweeper cover a
//! lost message) or answered with a timeout (a forwarded accept), so at-most-once delivery with
//! no stored backlog is what fits; a stream would keep history nobody reads.

use super::wire::{BusMsg, ReplyBody};
use super::{Cluster, Waiting};
use crate::dispatch::{AgencyStats, Answer, AnswerError, Command, Responder};
use crate::model::AgencyId;
use crate::presence::Sockets;
use deadpool_redis::redis;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Messages published per pipeline at most.
const MAX_PIPELINE: usize = 256;

impl Cluster {
    pub(crate) fn send_to(&self, node: &str, msg: &BusMsg) {
        match serde_json::to_string(msg) {
            Ok(payload) => self.publish(self.node_channel(node), payload),
            Err(e) => tracing::warn!(error = %e, "encoding a bus message failed"),
        }
    }

    pub(crate) fn broadcast(&self, msg: &BusMsg) {
        match serde_json::to_string(msg) {
            Ok(payload) => self.publish(self.broadcast_channel(), payload),
            Err(e) => tracing::warn!(error = %e, "encoding a bus message failed"),
        }
    }

    pub(crate) fn reply(&self, node: &str, req: u64, body: ReplyBody) {
        self.send_to(node, &BusMsg::Reply { req, body });
    }

    /// Closes the chosen WebSockets on this node now and on every other node by broadcast.
    pub(crate) fn close_sockets(&self, which: Sockets, code: u16) {
        let reason = crate::ws::protocol::close::reason(code);
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
                match reply {
                    Responder::Local(tx) => {
                        self.inner.pending.insert(req, Waiting::Answer(tx));
                    }
                    // Never forwarded twice: the sender gets "moving" and tries again.
                    Responder::Remote { .. } => {
                        reply.send(Err(AnswerError::Moving));
                        return;
                    }
                }
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
                match reply {
                    Responder::Local(tx) => {
                        self.inner.pending.insert(req, Waiting::Stats(tx));
                    }
                    Responder::Remote { .. } => {
                        reply.send(AgencyStats::default());
                        return;
                    }
                }
                BusMsg::Stats { agency, from, req }
            }
            // Ownership commands are local by nature.
            other => {
                tracing::debug!(agency, "a node-local command was not forwarded");
                drop(other);
                return;
            }
        };
        self.send_to(node, &msg);
    }

    /// A message from another node.
    async fn receive(&self, msg: BusMsg) {
        match msg {
            BusMsg::Deliver { broker, text, push } => {
                if !self.inner.hub.is_connected(broker) {
                    return;
                }
                if let Some(job) = push.filter(|_| !self.inner.hub.any_visible(broker)) {
                    self.inner.push.offer(job);
                }
                self.inner.hub.send_text(broker, text.into());
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
                let reply = Responder::Remote {
                    cluster: self.clone(),
                    node: from,
                    req,
                };
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
            }
            BusMsg::Stats { agency, from, req } => {
                let reply = Responder::Remote {
                    cluster: self.clone(),
                    node: from,
                    req,
                };
                self.local_only(agency, Command::Stats { agency, reply })
                    .await;
            }
            BusMsg::Reply { req, body } => {
                if let Some((_, waiting)) = self.inner.pending.remove(&req) {
                    match waiting {
                        Waiting::Answer(tx) => {
                            let _ = tx.send(body.into_answer());
                        }
                        Waiting::Stats(tx) => {
                            if let ReplyBody::Stats { stats } = body {
                                let _ = tx.send(stats);
                            }
                        }
                    }
                }
            }
            BusMsg::Close { which, code, from } => {
                // The node that sent it has closed its own already.
                if from != self.inner.node {
                    let reason = crate::ws::protocol::close::reason(code);
                    self.inner.hub.close(&which, code, reason);
                }
            }
            BusMsg::Reload { agency } => self.local_only(agency, Command::Reload { agency }).await,
            BusMsg::Released { agency } => {
                tracing::debug!(agency, "an agency was released");
                self.inner.lease_check.notify_one();
            }
        }
    }

    /// A forwarded command runs here only if this node still dispatches the agency; otherwise
    /// its sender gets "moving" (answers, stats) or the sweeper catches the lead later.
    async fn local_only(&self, agency: AgencyId, cmd: Command) {
        if self.owns(agency) {
            if let Err(e) = self.inner.local.send(agency, cmd).await {
                tracing::debug!(agency, error = %e, "a forwarded command found the actors stopped");
            }
            return;
        }
        match cmd {
            Command::Answer { reply, .. } => reply.send(Err(AnswerError::Moving)),
            Command::Stats { reply, .. } => reply.send(AgencyStats::default()),
            _ => self.inner.lease_check.notify_one(),
        }
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
                m = stream.next() => match m {
                    Some(m) => {
                        let Ok(payload) = m.get_payload::<String>() else { continue };
                        match serde_json::from_str::<BusMsg>(&payload) {
                            Ok(msg) => cluster.receive(msg).await,
                            Err(e) => tracing::warn!(error = %e, "a bus message this node does not understand"),
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

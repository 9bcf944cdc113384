//! What nodes say to each other over the bus (JSON on Redis pub/sub), and how an answer to a
//! forwarded command travels back.

use crate::dispatch::{AgencyStats, AnswerError, Event};
use crate::model::{AgencyId, BrokerId, LeadId, OfferId, OfferState};
use crate::presence::Sockets;
use crate::push::PushJob;
use crate::store::OfferRejection;
use serde::{Deserialize, Serialize};

/// The version of [`BusMsg::Event`]'s payload this node writes; it reads the versions it
/// knows and logs the others.
pub(crate) const EVENT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum BusMsg {
    /// A domain event for the broker's sockets on the receiving node, which encodes it for
    /// each of them; `push` when it is an offer (sent by web push if none of the broker's
    /// pages there is in front).
    Event {
        v: u32,
        broker: BrokerId,
        event: Event,
        push: Option<PushJob>,
    },
    /// The shape before `event`: a server message already encoded by the sending node. Still
    /// read for one release, so a rolling restart of mixed versions keeps delivering; no
    /// longer written.
    Deliver {
        broker: BrokerId,
        text: String,
        push: Option<PushJob>,
    },
    /// The broker's toggle changed (broadcast): every node's pages show it.
    Toggle {
        agency: AgencyId,
        broker: BrokerId,
        on: bool,
        reason: String,
        from: String,
    },
    LeadArrived {
        agency: AgencyId,
        lead: LeadId,
    },
    BrokerChanged {
        agency: AgencyId,
        broker: BrokerId,
    },
    SettingsChanged {
        agency: AgencyId,
    },
    Answer {
        agency: AgencyId,
        broker: BrokerId,
        offer: OfferId,
        accept: bool,
        reason: Option<String>,
        from: String,
        req: u64,
    },
    Stats {
        agency: AgencyId,
        from: String,
        req: u64,
    },
    Reply {
        req: u64,
        body: ReplyBody,
    },
    /// Close these WebSockets with `code` wherever they are (broadcast): a user deactivated or
    /// signed out, an agency suspended. Lost on the way, the receiving node's session check
    /// (`ws/sessions.rs`) closes them within one ping interval anyway.
    Close {
        which: Sockets,
        code: u16,
        from: String,
    },
    /// Read the agency's roulette again from the store (departments moved leads).
    Reload {
        agency: AgencyId,
    },
    /// A draining node let the agency go (broadcast): take it now rather than at the next tick.
    Released {
        agency: AgencyId,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub(crate) enum ReplyBody {
    Ok,
    NotFound,
    NotYours,
    Decided { state: String },
    DeadlinePassed,
    Unavailable { message: String },
    Stats { stats: AgencyStats },
}

impl From<Result<(), AnswerError>> for ReplyBody {
    fn from(r: Result<(), AnswerError>) -> Self {
        match r {
            Ok(()) => ReplyBody::Ok,
            Err(AnswerError::Rejected(OfferRejection::NotFound)) => ReplyBody::NotFound,
            Err(AnswerError::Rejected(OfferRejection::NotYours)) => ReplyBody::NotYours,
            Err(AnswerError::Rejected(OfferRejection::AlreadyDecided(s))) => ReplyBody::Decided {
                state: s.as_str().to_string(),
            },
            Err(AnswerError::Rejected(OfferRejection::DeadlinePassed)) => ReplyBody::DeadlinePassed,
            Err(e) => ReplyBody::Unavailable {
                message: e.to_string(),
            },
        }
    }
}

impl From<AgencyStats> for ReplyBody {
    fn from(stats: AgencyStats) -> Self {
        ReplyBody::Stats { stats }
    }
}

impl ReplyBody {
    pub(crate) fn into_answer(self) -> Result<(), AnswerError> {
        match self {
            ReplyBody::Ok => Ok(()),
            ReplyBody::NotFound => Err(OfferRejection::NotFound.into()),
            ReplyBody::NotYours => Err(OfferRejection::NotYours.into()),
            ReplyBody::Decided { state } => Err(OfferRejection::AlreadyDecided(
                OfferState::parse(&state).unwrap_or(OfferState::Cancelled),
            )
            .into()),
            ReplyBody::DeadlinePassed => Err(OfferRejection::DeadlinePassed.into()),
            ReplyBody::Unavailable { .. } | ReplyBody::Stats { .. } => Err(AnswerError::Moving),
        }
    }
}

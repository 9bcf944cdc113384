//! Domain vocabulary shared by the store, the dispatcher and the edges (DOMAIN.md glossary).

use serde::{Deserialize, Serialize};

/// Declares an id newtype: an `i64` on the wire and in the database (serde and sqlx
/// transparent, an integer in the OpenAPI document), a distinct type to the compiler so that
/// an agency id can never be passed where a broker id is expected.
macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident;)+) => {$(
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    )+};
}

id_type! {
    /// An agency: the tenant every row belongs to.
    AgencyId;
    /// A user of the agency who takes leads (the broker role).
    BrokerId;
    /// A lead: one contact request from a source.
    LeadId;
    /// One offer of a lead to one broker.
    OfferId;
}

pub type DepartmentId = i64;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        /// Read from a text column: a value the code does not know is an error, never a guess.
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).ok_or_else(|| format!("unknown {}: {s:?}", stringify!($name)))
            }
        }
    };
}

text_enum!(
    /// A contact's result with a client (O4); the first two are positive.
    Outcome {
        HighInterest => "high_interest", AskedInfo => "asked_info", LowInterest => "low_interest",
        NoAnswer => "no_answer", NoInterest => "no_interest"
    }
);

impl Outcome {
    pub fn positive(self) -> bool {
        matches!(self, Outcome::HighInterest | Outcome::AskedInfo)
    }
}

text_enum!(
    /// What a user may do; checked on every route.
    Role {
        Admin => "admin", Manager => "manager", Receptionist => "receptionist", Broker => "broker",
        Ops => "ops"
    }
);

text_enum!(
    /// Where the lead came from, shown as a badge in the pending list (A2).
    Channel {
        Lf => "lf", Lp => "lp", Ls => "ls", Phone => "phone", WalkIn => "walk_in", Other => "other"
    }
);

text_enum!(
    /// Why the broker is attending the client (A2).
    AttendanceKind { New => "new", Rule => "rule", Returning => "returning", Transfer => "transfer" }
);

text_enum!(
    /// A lead's place in dispatch. `unrouted` leads arrived with the roulette off (R1).
    LeadState { Unrouted => "unrouted", Waiting => "waiting", Offered => "offered", Assigned => "assigned" }
);

text_enum!(
    /// Every offer ends in one of the four final states (I3).
    OfferState {
        Pending => "pending", Accepted => "accepted", Refused => "refused",
        Expired => "expired", Cancelled => "cancelled"
    }
);

text_enum!(
    /// What happens to a lead every online broker of its department has refused.
    EveryoneRefused { Retry => "retry", Fallback => "fallback" }
);

text_enum!(
    /// Whom the client is to the agency; owners' transfers follow rule A4.
    ClientRole { Buyer => "buyer", Renter => "renter", Owner => "owner" }
);

impl Channel {
    /// The badge text the console shows (LF, LP, LS…).
    pub fn badge(self) -> &'static str {
        match self {
            Channel::Lf => "LF",
            Channel::Lp => "LP",
            Channel::Ls => "LS",
            Channel::Phone => "TEL",
            Channel::WalkIn => "REC",
            Channel::Other => "OUT",
        }
    }
}

text_enum!(
    /// Why a broker is away from the roulette for a period (issue 12): férias or another absence.
    AbsenceReason { Ferias => "ferias", Ausencia => "ausencia" }
);

text_enum!(
    /// A6: what the client wants — it decides which property icons a row shows.
    Objective { Buy => "buy", Rent => "rent", Appraise => "appraise" }
);

//! Whether each broker takes roulette offers (issue 12): the manager's "participa da roleta"
//! flag and one absence period (férias / ausência). No row means "in the roulette, no
//! absence". The dispatcher reads it when it loads an agency and whenever a broker changes;
//! the manager's user list shows it beside each broker.

use super::audit::{insert_audit, AuditEntry};
use super::{flag, Store, StoreResult};
use crate::model::{AbsenceReason, AgencyId, BrokerId};
use serde::Serialize;
use std::collections::HashMap;

/// An absence period: whole days of the agency's calendar, both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Absence {
    /// First day away, `YYYY-MM-DD` (Brasília time).
    #[schema(example = "2026-01-02")]
    pub from: String,
    /// Last day away, included.
    #[schema(example = "2026-01-05")]
    pub to: String,
    pub reason: AbsenceReason,
    /// When the absence starts: `from` at 00:00 Brasília time (epoch ms).
    pub starts_at_ms: i64,
    /// When it ends: the day after `to` at 00:00 Brasília time (epoch ms).
    pub ends_at_ms: i64,
}

/// A broker's place in the roulette.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Availability {
    /// "Participa da roleta": off, the broker gets no roulette offers at all.
    pub in_roulette: bool,
    /// The absence period on record (it may be over, or still to come).
    pub absence: Option<Absence>,
    /// Whether the roulette may offer this broker a lead now: in the roulette and not inside
    /// the absence (and, as for everyone, only while online).
    pub receives_offers: bool,
    /// Inside the absence period now.
    pub absent_now: bool,
}

impl Availability {
    pub fn new(in_roulette: bool, absence: Option<Absence>, now_ms: i64) -> Self {
        let absent_now = absence
            .as_ref()
            .is_some_and(|a| a.starts_at_ms <= now_ms && now_ms < a.ends_at_ms);
        Self {
            in_roulette,
            absence,
            receives_offers: in_roulette && !absent_now,
            absent_now,
        }
    }

    /// A broker with no row: in the roulette, no absence.
    pub fn default_at(now_ms: i64) -> Self {
        Self::new(true, None, now_ms)
    }

    /// The broker's entry of [`Store::availabilities`], or the default if they have none.
    pub fn take(all: &mut HashMap<BrokerId, Availability>, broker: BrokerId, now_ms: i64) -> Self {
        all.remove(&broker)
            .unwrap_or_else(|| Self::default_at(now_ms))
    }

    /// The audit's words for this change (pt-BR: the manager reads it).
    fn describe(&self) -> String {
        let flag = if self.in_roulette {
            "participa da roleta"
        } else {
            "fora da roleta"
        };
        match &self.absence {
            None => format!("{flag}; sem ausência"),
            Some(a) => {
                let kind = match a.reason {
                    AbsenceReason::Ferias => "férias",
                    AbsenceReason::Ausencia => "ausência",
                };
                format!("{flag}; {kind} de {} a {}", a.from, a.to)
            }
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    broker_id: BrokerId,
    in_roulette: i64,
    absent_from: Option<String>,
    absent_to: Option<String>,
    absence_reason: Option<String>,
    absent_from_ms: Option<i64>,
    absent_until_ms: Option<i64>,
}

impl Row {
    fn into_availability(self, now_ms: i64) -> Availability {
        let absence = match (
            self.absent_from,
            self.absent_to,
            self.absence_reason
                .as_deref()
                .and_then(AbsenceReason::parse),
            self.absent_from_ms,
            self.absent_until_ms,
        ) {
            (Some(from), Some(to), Some(reason), Some(starts_at_ms), Some(ends_at_ms)) => {
                Some(Absence {
                    from,
                    to,
                    reason,
                    starts_at_ms,
                    ends_at_ms,
                })
            }
            _ => None,
        };
        Availability::new(flag(self.in_roulette), absence, now_ms)
    }
}

const COLS: &str = "broker_id, in_roulette, absent_from, absent_to, absence_reason, \
                    absent_from_ms, absent_until_ms";

impl Store {
    /// The availability rows of the brokers listed in `ids` (comma-separated integers, made by
    /// `broker_states`); brokers with none are absent from the map.
    pub(super) async fn availabilities_in(
        &self,
        agency: AgencyId,
        ids: &str,
        now_ms: i64,
    ) -> StoreResult<HashMap<BrokerId, Availability>> {
        self.availability_rows(agency, &format!(" AND broker_id IN ({ids})"), now_ms)
            .await
    }

    /// The agency's availability rows that match `and` (empty: all of them).
    async fn availability_rows(
        &self,
        agency: AgencyId,
        and: &str,
        now_ms: i64,
    ) -> StoreResult<HashMap<BrokerId, Availability>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLS} FROM broker_availability WHERE agency_id = $1{and}"
        ))
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.broker_id, r.into_availability(now_ms)))
            .collect())
    }

    /// One broker's availability (the default when nothing was ever set).
    pub async fn availability(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        now_ms: i64,
    ) -> StoreResult<Availability> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLS} FROM broker_availability WHERE agency_id = $1 AND broker_id = $2"
        ))
        .bind(agency)
        .bind(broker)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map_or_else(
            || Availability::default_at(now_ms),
            |r| r.into_availability(now_ms),
        ))
    }

    /// Every broker of the agency that has a row; the others are in the roulette, not away.
    pub async fn availabilities(
        &self,
        agency: AgencyId,
        now_ms: i64,
    ) -> StoreResult<HashMap<BrokerId, Availability>> {
        self.availability_rows(agency, "", now_ms).await
    }

    /// Replaces the broker's flag and absence, with an audit row saying so, in one transaction.
    /// The caller checked that `broker` is a broker of `agency`.
    pub async fn set_availability(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        in_roulette: bool,
        absence: Option<&Absence>,
        by: i64,
        now_ms: i64,
    ) -> StoreResult<Availability> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO broker_availability (agency_id, broker_id, in_roulette, absent_from, \
             absent_to, absence_reason, absent_from_ms, absent_until_ms, updated_at_ms, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (agency_id, broker_id) DO UPDATE SET in_roulette = excluded.in_roulette, \
             absent_from = excluded.absent_from, absent_to = excluded.absent_to, \
             absence_reason = excluded.absence_reason, absent_from_ms = excluded.absent_from_ms, \
             absent_until_ms = excluded.absent_until_ms, updated_at_ms = excluded.updated_at_ms, \
             updated_by = excluded.updated_by",
        )
        .bind(agency)
        .bind(broker)
        .bind(i64::from(in_roulette))
        .bind(absence.map(|a| a.from.clone()))
        .bind(absence.map(|a| a.to.clone()))
        .bind(absence.map(|a| a.reason.as_str()))
        .bind(absence.map(|a| a.starts_at_ms))
        .bind(absence.map(|a| a.ends_at_ms))
        .bind(now_ms)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        let saved = Availability::new(in_roulette, absence.cloned(), now_ms);
        let reason = saved.describe();
        let entry = AuditEntry {
            agency,
            broker: Some(broker),
            decision: "availability",
            reason: &reason,
            ..Default::default()
        };
        insert_audit(&mut tx, &entry, now_ms).await?;
        tx.commit().await?;
        Ok(saved)
    }
}

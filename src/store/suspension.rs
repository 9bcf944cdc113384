//! Suspending an agency and lifting it (docs/PLATFORM.md): nothing is deleted but its users'
//! sessions; its sources are refused, its roulette stopped at the store (the fence), its
//! offers handed back. Shared by the platform API and the `roleta agency` command line.

use super::closing::close_one;
use super::{insert_audit, AuditEntry, Store, StoreError, StoreResult};
use crate::model::{AgencyId, OfferId, OfferState};
use serde::Serialize;

/// What a suspension ended, for the caller to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Suspension {
    /// Sessions and personal tokens of its users, all deleted.
    pub sessions_ended: u64,
    /// Offers that were out: cancelled, their leads back to waiting.
    pub offers_cancelled: u64,
    /// Leads that wait in its roulette until it is reactivated.
    pub leads_waiting: i64,
}

/// The audit's reason on the offers a suspension cancels.
pub const SUSPENDED_REASON: &str = "agency suspended";

impl Store {
    /// Suspends the agency, deleting nothing but its users' sessions. In one transaction:
    /// the agency is marked suspended (a second call keeps the first time); every session and
    /// personal token of its users is deleted, so each of their requests answers 401 from now
    /// on and sign-in is refused; its pending offers are cancelled (reason
    /// [`SUSPENDED_REASON`]) and their leads go back to waiting, keeping their arrival time;
    /// and its dispatch shard's epoch is raised, so a dispatcher still holding the agency
    /// (this process or another) has its next write refused, and no offer can be written for
    /// it while it stays suspended (the fence checks suspension). Its lead sources are refused
    /// with 403 as soon as this commits. Leads, clients, attendances and history stay.
    /// A running server should also be told (`Dispatcher::settings_changed`) so the brokers'
    /// popups close at once; without it they close when the sockets do.
    /// `NotFound` if no agency.
    pub async fn suspend_agency(&self, agency: AgencyId, now_ms: i64) -> StoreResult<Suspension> {
        let mut tx = self.begin_write().await?;
        // The shard row first: a dispatch write under way holds it, and this waits for it to
        // commit, so no offer it makes is missed below.
        sqlx::query(
            "INSERT INTO shards (agency_id, epoch, owner, claimed_at_ms) \
             SELECT id, 1, NULL, $2 FROM agencies WHERE id = $1 \
             ON CONFLICT (agency_id) DO UPDATE SET epoch = shards.epoch + 1, owner = NULL",
        )
        .bind(agency)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let r = sqlx::query(
            "UPDATE agencies SET suspended_at_ms = COALESCE(suspended_at_ms, $2) WHERE id = $1",
        )
        .bind(agency)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        super::one_row(r)?;
        let sessions_ended = sqlx::query("DELETE FROM sessions WHERE agency_id = $1")
            .bind(agency)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let pending: Vec<OfferId> = sqlx::query_scalar(
            "SELECT id FROM offers WHERE agency_id = $1 AND state = 'pending' ORDER BY id",
        )
        .bind(agency)
        .fetch_all(&mut *tx)
        .await?;
        let mut offers_cancelled = 0;
        for offer in pending {
            let closed = close_one(
                &mut tx,
                agency,
                offer,
                None,
                OfferState::Cancelled,
                SUSPENDED_REASON,
                now_ms,
            )
            .await?;
            offers_cancelled += u64::from(closed.is_some());
        }
        let entry = AuditEntry {
            agency,
            decision: "agency_suspended",
            reason: "suspended by the platform",
            ..Default::default()
        };
        insert_audit(&mut tx, &entry, now_ms).await?;
        let leads_waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM leads WHERE agency_id = $1 AND state = 'waiting'",
        )
        .bind(agency)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Suspension {
            sessions_ended,
            offers_cancelled,
            leads_waiting,
        })
    }

    /// Lifts a suspension (a working agency stays as it is). Its users sign in again and its
    /// sources are accepted again; a running server should be told
    /// (`Dispatcher::settings_changed`) so its waiting leads go out as soon as brokers are
    /// online. Sessions ended by the suspension stay ended. `NotFound` if no agency.
    pub async fn reactivate_agency(&self, agency: AgencyId, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let was: Option<Option<i64>> =
            sqlx::query_scalar("SELECT suspended_at_ms FROM agencies WHERE id = $1")
                .bind(agency)
                .fetch_optional(&mut *tx)
                .await?;
        match was {
            None => return Err(StoreError::NotFound),
            Some(None) => return Ok(()),
            Some(Some(_)) => {}
        }
        sqlx::query("UPDATE agencies SET suspended_at_ms = NULL WHERE id = $1")
            .bind(agency)
            .execute(&mut *tx)
            .await?;
        let entry = AuditEntry {
            agency,
            decision: "agency_reactivated",
            reason: "reactivated by the platform",
            ..Default::default()
        };
        insert_audit(&mut tx, &entry, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }
}

//! The statements shared by every way an offer ends untaken (refused, expired, cancelled),
//! run inside the caller's transaction, and the broker's missed-in-a-row count.

use super::Closed;
use crate::model::{AgencyId, BrokerId, LeadId, OfferId, OfferState};
use crate::store::{insert_audit, AuditEntry, StoreResult};

/// The statements that end one pending offer, inside the caller's transaction: the offer's final
/// state, its lead back to waiting (if the epoch still matches), the broker's missed-in-a-row
/// count, and the audit row. `None` if the offer was not pending (or not this broker's).
#[allow(clippy::too_many_arguments)]
pub(in crate::store) async fn close_one(
    conn: &mut sqlx::AnyConnection,
    agency: AgencyId,
    offer: OfferId,
    broker: Option<BrokerId>,
    state: OfferState,
    reason: &str,
    now_ms: i64,
) -> StoreResult<Option<Closed>> {
    close_one_told(conn, agency, offer, broker, state, reason, now_ms, None).await
}

/// [`close_one`], for a batch that already asked whether the agency's CRM wants the ending
/// (`told`: `Some(answer)`; `None` asks here).
#[allow(clippy::too_many_arguments)]
pub(in crate::store) async fn close_one_told(
    conn: &mut sqlx::AnyConnection,
    agency: AgencyId,
    offer: OfferId,
    broker: Option<BrokerId>,
    state: OfferState,
    reason: &str,
    now_ms: i64,
    told: Option<bool>,
) -> StoreResult<Option<Closed>> {
    let row: Option<(LeadId, BrokerId, i64)> = sqlx::query_as(
        "UPDATE offers SET state = $3, decided_at_ms = $4, outcome_reason = $5 \
         WHERE agency_id = $1 AND id = $2 AND state = 'pending' AND ($6 = 0 OR broker_id = $6) \
         RETURNING lead_id, broker_id, epoch",
    )
    .bind(agency)
    .bind(offer)
    .bind(state.as_str())
    .bind(now_ms)
    .bind(reason)
    .bind(broker.unwrap_or_default())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((lead, b, epoch)) = row else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE leads SET state = 'waiting' WHERE agency_id = $1 AND id = $2 AND epoch = $3 AND state = 'offered'",
    )
    .bind(agency)
    .bind(lead)
    .bind(epoch)
    .execute(&mut *conn)
    .await?;
    let missed = record_answer(conn, agency, b, state != OfferState::Expired).await?;
    let entry = AuditEntry {
        agency,
        lead: Some(lead),
        broker: Some(b),
        offer: Some(offer),
        decision: state.as_str(),
        reason,
    };
    insert_audit(conn, &entry, now_ms).await?;
    let ended = crate::store::Event::OfferEnded {
        offer,
        lead,
        broker: b,
        state,
    };
    match told {
        None => crate::store::outbox::record(conn, agency, ended, now_ms).await?,
        Some(true) => crate::store::outbox::write(conn, agency, ended, now_ms).await?,
        Some(false) => {}
    }
    Ok(Some(Closed {
        lead_id: lead,
        broker_id: b,
        missed_in_row: missed,
    }))
}

/// The broker's count of offers let expire in a row: any answer (accept, refuse, going offline)
/// resets it, an expiry adds one. Returns the new count.
pub(super) async fn record_answer(
    conn: &mut sqlx::AnyConnection,
    agency: AgencyId,
    broker: BrokerId,
    answered: bool,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(if answered {
        "UPDATE users SET missed_in_row = 0 WHERE agency_id = $1 AND id = $2 RETURNING missed_in_row"
    } else {
        "UPDATE users SET missed_in_row = missed_in_row + 1 WHERE agency_id = $1 AND id = $2 RETURNING missed_in_row"
    })
    .bind(agency)
    .bind(broker)
    .fetch_one(conn)
    .await?)
}

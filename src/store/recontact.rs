//! L8, one lead per open deal: a source's contact from a client whose lead is still open is
//! written on that lead instead of opening a second one (docs/SOURCES.md).

use super::leads::{IngestOutcome, NewLead};
use super::{Store, StoreResult};
use crate::model::{BrokerId, LeadId, LeadState};
use sqlx::AnyConnection;

impl Store {
    /// L8: when the client has an open lead (its status is not a final one), this contact is
    /// written on that lead — a `recontact` entry of the client's history, keyed by the
    /// source's id so a retry finds it — instead of opening a second lead. Sources only: a
    /// person forwarding a client (reception, the lead form) decides for themselves.
    pub(super) async fn recontact(
        &self,
        conn: &mut AnyConnection,
        l: &NewLead,
        client: i64,
        now_ms: i64,
    ) -> StoreResult<Option<IngestOutcome>> {
        let open: Option<(LeadId, String, String, Option<BrokerId>)> = sqlx::query_as(
            "SELECT l.id, l.number, l.state, l.broker_id FROM leads l WHERE l.agency_id = $1 AND l.client_id = $2 \
             AND NOT EXISTS (SELECT 1 FROM lead_statuses s WHERE s.agency_id = l.agency_id AND s.type_id = l.type_id \
             AND s.name = l.status AND s.is_final = 1) ORDER BY l.id DESC LIMIT 1",
        )
        .bind(l.agency_id)
        .bind(client)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((lead, number, state, broker_id)) = open else {
            return Ok(None);
        };
        let what = match (&l.comment, &l.property_code) {
            (Some(c), _) => c.clone(),
            (None, Some(p)) => format!("Imóvel de interesse {p}"),
            (None, None) => l.name.clone(),
        };
        sqlx::query(
            "INSERT INTO client_history (agency_id, client_id, lead_id, kind, from_value, to_value, external_id, at_ms) \
             VALUES ($1, $2, $3, 'recontact', $4, $5, $6, $7)",
        )
        .bind(l.agency_id)
        .bind(client)
        .bind(lead)
        .bind(&l.source)
        .bind(&what)
        .bind(&l.external_id)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
        super::ingest::remember_key(conn, l, lead, now_ms).await?;
        if self.backend() == super::Backend::Sqlite {
            // The lead counter was taken up front (for the write lock); no lead was opened.
            sqlx::query("UPDATE agencies SET lead_seq = lead_seq - 1 WHERE id = $1")
                .bind(l.agency_id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(Some(IngestOutcome {
            lead_id: lead,
            number,
            client_id: client,
            state: LeadState::parse(&state).unwrap_or(LeadState::Assigned),
            replayed: false,
            linked_existing_client: true,
            recontact: true,
            broker_id,
            attendance_id: None,
            attendance_kind: None,
        }))
    }
}

//! Contact outcomes with a client (O4, T4): one write path for a campaign call and for a team
//! client's contact. A positive outcome makes the broker the client's attending broker and opens
//! a pending attendance on a new lead; every outcome marks the client as worked (T3) and feeds
//! the broker and team reports.

use super::{NewLead, Store, StoreResult};
use crate::model::{AgencyId, BrokerId, Channel, ClientRole, LeadId, LeadState, Outcome};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// What recording an outcome did.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutcomeRecorded {
    pub positive: bool,
    /// The lead opened for the broker on a positive outcome (its pending attendance).
    pub lead_id: Option<LeadId>,
    pub lead_number: Option<String>,
    pub attendance_id: Option<i64>,
}

/// One contact with a client: who called whom, from which campaign, with what result.
pub(crate) struct Contact<'a> {
    pub agency: AgencyId,
    pub client: i64,
    pub broker: BrokerId,
    pub campaign: Option<i64>,
    pub outcome: Outcome,
    pub comment: Option<&'a str>,
}

/// Writes the contact, marks the client worked, and on a positive outcome links the broker and
/// opens the attendance — inside the caller's transaction.
pub(crate) async fn record_outcome(
    store: &Store,
    conn: &mut AnyConnection,
    k: Contact<'_>,
    now_ms: i64,
) -> StoreResult<OutcomeRecorded> {
    let Contact {
        agency,
        client,
        broker,
        campaign,
        outcome,
        comment,
    } = k;
    // One statement marks the client worked, makes the broker their attending broker on a
    // positive outcome, and reads what the new lead needs.
    let (name, phone, email, role): (String, String, Option<String>, String) = sqlx::query_as(
        "UPDATE clients SET worked_at_ms = $3, broker_id = CASE WHEN $4 = 1 THEN $5 ELSE broker_id END \
         WHERE agency_id = $1 AND id = $2 RETURNING name, phone, email, role",
    )
    .bind(agency)
    .bind(client)
    .bind(now_ms)
    .bind(i64::from(outcome.positive()))
    .bind(broker)
    .fetch_one(&mut *conn)
    .await?;
    let mut out = OutcomeRecorded {
        positive: outcome.positive(),
        lead_id: None,
        lead_number: None,
        attendance_id: None,
    };
    if outcome.positive() {
        let department: i64 = sqlx::query_scalar(
            "SELECT id FROM departments WHERE agency_id = $1 AND removed_at_ms IS NULL \
             ORDER BY is_default DESC, id LIMIT 1",
        )
        .bind(agency)
        .fetch_one(&mut *conn)
        .await?;
        let source = if campaign.is_some() {
            "oferta_ativa"
        } else {
            "equipe"
        };
        let lead = NewLead {
            agency_id: agency,
            source: source.into(),
            external_id: None,
            idempotency: None,
            name,
            phone,
            email,
            client_role: ClientRole::parse(&role).unwrap_or(ClientRole::Buyer),
            department_id: department,
            channel: Channel::Phone,
            property_code: None,
            interest: Default::default(),
            appraisal_address: None,
            condominium: None,
            comment: comment.map(str::to_string),
            state: LeadState::Assigned,
            assign_to: Some((broker, None)),
            created_by: Some(broker.0),
            crm: Default::default(),
        };
        let made = store.ingest_in(conn, &lead, now_ms).await?;
        out.lead_id = Some(made.lead_id);
        out.lead_number = Some(made.number);
        out.attendance_id = made.attendance_id;
    }
    sqlx::query(
        "INSERT INTO client_contacts (agency_id, client_id, broker_id, campaign_id, outcome, comment, lead_id, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(agency)
    .bind(client)
    .bind(broker)
    .bind(campaign)
    .bind(outcome.as_str())
    .bind(comment)
    .bind(out.lead_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(out)
}

//! The lead pipeline: lead types with their statuses and allowed transitions (L1), the lead's
//! pipeline fields (L3, L4), and the marketing-efficiency report (L3).

use super::{one_row, Store, StoreError, StoreResult};
use crate::model::{AgencyId, LeadId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// The type every agency starts with; the manager may edit it or add others.
const DEFAULT_TYPE: &str = "Padrão";
/// An array, not a slice: `DEFAULT_STATUSES[0]` (the initial status) is checked when it compiles.
const DEFAULT_STATUSES: [(&str, bool); 5] = [
    ("Novo", false),
    ("Em atendimento", false),
    ("Proposta", false),
    ("Fechado", true),
    ("Perdido", true),
];
const DEFAULT_TRANSITIONS: &[(&str, &str)] = &[
    ("Novo", "Em atendimento"),
    ("Novo", "Perdido"),
    ("Em atendimento", "Proposta"),
    ("Em atendimento", "Perdido"),
    ("Proposta", "Em atendimento"),
    ("Proposta", "Fechado"),
    ("Proposta", "Perdido"),
];

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusDef {
    pub name: String,
    /// A final status ends the lead's pipeline (won or lost).
    #[serde(default)]
    pub is_final: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transition {
    pub from: String,
    pub to: String,
}

/// A lead type as the manager defines it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeadTypeDef {
    pub name: String,
    pub initial_status: String,
    pub statuses: Vec<StatusDef>,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadType {
    pub id: i64,
    pub is_default: bool,
    #[serde(flatten)]
    pub def: LeadTypeDef,
}

/// One row of the marketing-efficiency report (L3).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MarketingRow {
    /// The ad campaign; empty when the lead named none.
    pub ad_campaign: String,
    pub source: String,
    pub leads: i64,
    /// Leads a broker took (accepted an offer or was given it).
    pub accepted: i64,
    /// Leads whose attendance a broker concluded (a contact logged or the record edited).
    pub concluded: i64,
}

/// A refused status change, with what would have been allowed.
pub fn transition_error(from: &str, to: &str, allowed: &[String]) -> StoreError {
    let allowed = if allowed.is_empty() {
        "none (final status)".to_string()
    } else {
        allowed.join(", ")
    };
    StoreError::Conflict(format!(
        "the lead's type does not allow moving from \"{from}\" to \"{to}\"; allowed: {allowed}"
    ))
}

async fn insert_type(
    conn: &mut AnyConnection,
    agency: AgencyId,
    def: &LeadTypeDef,
    is_default: bool,
    now_ms: i64,
) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO lead_types (agency_id, name, initial_status, is_default, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(agency)
    .bind(&def.name)
    .bind(&def.initial_status)
    .bind(i64::from(is_default))
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    for (i, s) in def.statuses.iter().enumerate() {
        sqlx::query(
            "INSERT INTO lead_statuses (agency_id, type_id, name, position, is_final) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(agency)
        .bind(id)
        .bind(&s.name)
        .bind(i as i64)
        .bind(i64::from(s.is_final))
        .execute(&mut *conn)
        .await?;
    }
    for t in &def.transitions {
        sqlx::query(
            "INSERT INTO lead_transitions (agency_id, type_id, from_status, to_status) VALUES ($1, $2, $3, $4)",
        )
        .bind(agency)
        .bind(id)
        .bind(&t.from)
        .bind(&t.to)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

/// The default pipeline and notification rules of one new agency, inside the caller's
/// transaction (L1, L6).
pub(super) async fn seed_defaults(
    conn: &mut AnyConnection,
    agency: AgencyId,
    now_ms: i64,
) -> StoreResult<()> {
    let def = LeadTypeDef {
        name: DEFAULT_TYPE.into(),
        initial_status: DEFAULT_STATUSES[0].0.into(),
        statuses: DEFAULT_STATUSES
            .iter()
            .map(|(n, f)| StatusDef {
                name: (*n).into(),
                is_final: *f,
            })
            .collect(),
        transitions: DEFAULT_TRANSITIONS
            .iter()
            .map(|(a, b)| Transition {
                from: (*a).into(),
                to: (*b).into(),
            })
            .collect(),
    };
    insert_type(conn, agency, &def, true, now_ms).await?;
    super::notify::insert_default_rules(conn, agency).await
}

impl Store {
    /// Gives every agency without a lead type the default pipeline and the default notification
    /// rules (L1, L6). Idempotent: runs at start-up and when an agency is created.
    pub async fn seed_agency_defaults(&self, now_ms: i64) -> StoreResult<()> {
        let bare: Vec<AgencyId> = sqlx::query_scalar(
            "SELECT id FROM agencies WHERE id NOT IN (SELECT agency_id FROM lead_types)",
        )
        .fetch_all(self.pool())
        .await?;
        for agency in bare {
            let mut tx = self.begin_write().await?;
            match seed_defaults(&mut tx, agency, now_ms).await {
                // Another node seeded it first.
                Err(StoreError::Duplicate(_)) => continue,
                r => r?,
            };
            tx.commit().await?;
        }
        Ok(())
    }

    pub async fn create_lead_type(
        &self,
        agency: AgencyId,
        def: &LeadTypeDef,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let id = insert_type(&mut tx, agency, def, false, now_ms)
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(_) => {
                    StoreError::Conflict(format!("a lead type named \"{}\" exists", def.name))
                }
                e => e,
            })?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn lead_type_exists(&self, agency: AgencyId, id: i64) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM lead_types WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    pub async fn lead_types(&self, agency: AgencyId) -> StoreResult<Vec<LeadType>> {
        let types: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, name, initial_status, is_default FROM lead_types WHERE agency_id = $1 ORDER BY id",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        let statuses: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT type_id, name, is_final FROM lead_statuses WHERE agency_id = $1 ORDER BY type_id, position",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        let transitions: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT type_id, from_status, to_status FROM lead_transitions WHERE agency_id = $1 \
             ORDER BY type_id, from_status, to_status",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        Ok(types
            .into_iter()
            .map(|(id, name, initial_status, is_default)| LeadType {
                id,
                is_default: is_default != 0,
                def: LeadTypeDef {
                    name,
                    initial_status,
                    statuses: statuses
                        .iter()
                        .filter(|s| s.0 == id)
                        .map(|s| StatusDef {
                            name: s.1.clone(),
                            is_final: s.2 != 0,
                        })
                        .collect(),
                    transitions: transitions
                        .iter()
                        .filter(|t| t.0 == id)
                        .map(|t| Transition {
                            from: t.1.clone(),
                            to: t.2.clone(),
                        })
                        .collect(),
                },
            })
            .collect())
    }

    /// L1: moves a lead to another status, only along the transitions its type allows.
    /// `actor` is the user who moved it (shown on the client's timeline). Answers the status it
    /// came from.
    pub async fn change_lead_status(
        &self,
        agency: AgencyId,
        lead: LeadId,
        to: &str,
        actor: i64,
        now_ms: i64,
    ) -> StoreResult<String> {
        let mut tx = self.begin_write().await?;
        let (type_id, from): (Option<i64>, Option<String>) =
            sqlx::query_as("SELECT type_id, status FROM leads WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(lead)
                .fetch_one(&mut *tx)
                .await?;
        let (Some(type_id), Some(from)) = (type_id, from) else {
            return Err(StoreError::Conflict("the lead has no type".into()));
        };
        let allowed: Vec<String> = sqlx::query_scalar(
            "SELECT to_status FROM lead_transitions WHERE type_id = $1 AND from_status = $2 ORDER BY to_status",
        )
        .bind(type_id)
        .bind(&from)
        .fetch_all(&mut *tx)
        .await?;
        if !allowed.iter().any(|a| a == to) {
            return Err(transition_error(&from, to, &allowed));
        }
        // The status read above is the one replaced: a concurrent change makes this touch no row.
        let r = sqlx::query(
            "UPDATE leads SET status = $3, status_changed_at_ms = $4 WHERE agency_id = $1 AND id = $2 AND status = $5",
        )
        .bind(agency)
        .bind(lead)
        .bind(to)
        .bind(now_ms)
        .bind(&from)
        .execute(&mut *tx)
        .await?;
        one_row(r).map_err(|_| StoreError::Conflict("the status changed meanwhile".into()))?;
        // The client record's timeline shows every status change (A5).
        sqlx::query(
            "INSERT INTO client_history (agency_id, client_id, lead_id, actor_id, kind, from_value, to_value, at_ms) \
             SELECT agency_id, client_id, id, $6, 'status_changed', $3, $4, $5 FROM leads WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(lead)
        .bind(&from)
        .bind(to)
        .bind(now_ms)
        .bind(actor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(from)
    }

    /// L3, L4: the pipeline fields a manager or the lead's broker may change.
    pub async fn update_lead_crm(
        &self,
        agency: AgencyId,
        lead: LeadId,
        c: &super::LeadCrm,
        clear_due: bool,
    ) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE leads SET ad_campaign = COALESCE($3, ad_campaign), \
             due_at_ms = CASE WHEN $4 = 1 THEN NULL ELSE COALESCE($5, due_at_ms) END, \
             urgent = $6, location = COALESCE($7, location), manager_id = COALESCE($8, manager_id) \
             WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(lead)
        .bind(&c.ad_campaign)
        .bind(i64::from(clear_due))
        .bind(c.due_at_ms)
        .bind(i64::from(c.urgent))
        .bind(&c.location)
        .bind(c.manager_id)
        .execute(self.pool())
        .await?;
        one_row(r)
    }

    /// L3: leads, accepted and concluded per ad campaign and source, for leads created in
    /// `[from, to)`.
    pub async fn marketing_report(
        &self,
        agency: AgencyId,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<MarketingRow>> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(l.ad_campaign, '') AS ad_campaign, l.source, COUNT(*) AS leads, \
             SUM(CASE WHEN l.broker_id IS NOT NULL THEN 1 ELSE 0 END) AS accepted, \
             SUM(CASE WHEN EXISTS (SELECT 1 FROM attendances a WHERE a.lead_id = l.id AND a.concluded_at_ms IS NOT NULL) \
                 THEN 1 ELSE 0 END) AS concluded \
             FROM leads l WHERE l.agency_id = $1 AND l.created_at_ms >= $2 AND l.created_at_ms < $3 \
             GROUP BY COALESCE(l.ad_campaign, ''), l.source ORDER BY COUNT(*) DESC, 1, 2",
        )
        .bind(agency)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?)
    }
}

/// Re-folds a client's search text after their name or e-mail changed.
pub(crate) async fn refresh_search_key(
    conn: &mut AnyConnection,
    agency: AgencyId,
    client: i64,
) -> StoreResult<()> {
    let (name, email): (String, Option<String>) =
        sqlx::query_as("SELECT name, email FROM clients WHERE agency_id = $1 AND id = $2")
            .bind(agency)
            .bind(client)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query("UPDATE clients SET search_key = $3 WHERE agency_id = $1 AND id = $2")
        .bind(agency)
        .bind(client)
        .bind(super::search_key(&name, email.as_deref()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

//! L6: which events notify whom (rules per agency), and the notifications users read.

use super::{Store, StoreResult};
use crate::model::{AgencyId, BrokerId, LeadId};
use serde::Serialize;
use sqlx::AnyConnection;

/// The events that notify someone.
pub const EVENTS: &[&str] = &[
    "lead_created",
    "lead_assigned",
    "lead_status_changed",
    "lead_recontact",
    "campaign_positive",
    "clients_distributed",
];
/// Who can be notified: the broker concerned, the lead's responsible manager, the supervisors of
/// the broker's teams, every manager of the agency.
pub const RECIPIENTS: &[&str] = &["broker", "responsible_manager", "supervisor", "managers"];

const DEFAULT_RULES: &[(&str, &str)] = &[
    ("lead_created", "responsible_manager"),
    ("lead_assigned", "broker"),
    ("lead_status_changed", "responsible_manager"),
    ("lead_recontact", "broker"),
    ("campaign_positive", "supervisor"),
    ("clients_distributed", "broker"),
];

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub event: String,
    pub lead_id: Option<LeadId>,
    pub client_id: Option<i64>,
    pub text: String,
    pub created_at_ms: i64,
    pub read_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NotificationRule {
    pub event: String,
    pub recipient: String,
}

/// What an event is about: the lead (for its responsible manager) and the broker concerned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject {
    pub lead: Option<LeadId>,
    pub client: Option<i64>,
    pub broker: Option<BrokerId>,
}

pub(crate) async fn insert_default_rules(
    conn: &mut AnyConnection,
    agency: AgencyId,
) -> StoreResult<()> {
    for (event, recipient) in DEFAULT_RULES {
        sqlx::query(
            "INSERT INTO notification_rules (agency_id, event, recipient) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(agency)
        .bind(event)
        .bind(recipient)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    pub async fn notification_rules(&self, agency: AgencyId) -> StoreResult<Vec<NotificationRule>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT event, recipient FROM notification_rules WHERE agency_id = $1 ORDER BY event, recipient",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(event, recipient)| NotificationRule { event, recipient })
            .collect())
    }

    /// Replaces the agency's rules with these (validated by the caller).
    pub async fn set_notification_rules(
        &self,
        agency: AgencyId,
        rules: &[NotificationRule],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM notification_rules WHERE agency_id = $1")
            .bind(agency)
            .execute(&mut *tx)
            .await?;
        for r in rules {
            sqlx::query(
                "INSERT INTO notification_rules (agency_id, event, recipient) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(agency)
            .bind(&r.event)
            .bind(&r.recipient)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes one notification per person the agency's rules name for this event. Answers how
    /// many were written.
    pub async fn notify(
        &self,
        agency: AgencyId,
        event: &str,
        s: Subject,
        text: &str,
        now_ms: i64,
    ) -> StoreResult<usize> {
        let recipients: Vec<String> = sqlx::query_scalar(
            "SELECT recipient FROM notification_rules WHERE agency_id = $1 AND event = $2",
        )
        .bind(agency)
        .bind(event)
        .fetch_all(self.pool())
        .await?;
        let mut users: Vec<i64> = Vec::new();
        for r in recipients {
            let found: Vec<i64> = match (r.as_str(), s.broker, s.lead) {
                ("broker", Some(b), _) => vec![b.0],
                ("responsible_manager", _, Some(lead)) => sqlx::query_scalar(
                    "SELECT manager_id FROM leads WHERE agency_id = $1 AND id = $2 AND manager_id IS NOT NULL",
                )
                .bind(agency)
                .bind(lead)
                .fetch_all(self.pool())
                .await?,
                ("supervisor", Some(b), _) => sqlx::query_scalar(
                    "SELECT t.supervisor_id FROM teams t JOIN team_brokers tb ON tb.team_id = t.id \
                     WHERE t.agency_id = $1 AND tb.broker_id = $2",
                )
                .bind(agency)
                .bind(b)
                .fetch_all(self.pool())
                .await?,
                ("managers", _, _) => sqlx::query_scalar(
                    "SELECT id FROM users WHERE agency_id = $1 AND role IN ('manager', 'admin') AND active = 1",
                )
                .bind(agency)
                .fetch_all(self.pool())
                .await?,
                _ => Vec::new(),
            };
            users.extend(found);
        }
        users.sort_unstable();
        users.dedup();
        let mut tx = self.begin_write().await?;
        for u in &users {
            sqlx::query(
                "INSERT INTO notifications (agency_id, user_id, event, lead_id, client_id, text, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(agency)
            .bind(u)
            .bind(event)
            .bind(s.lead)
            .bind(s.client)
            .bind(text)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(users.len())
    }

    /// The user's latest notifications, newest first, and how many are unread.
    pub async fn notifications(
        &self,
        agency: AgencyId,
        user: i64,
        limit: i64,
    ) -> StoreResult<(Vec<Notification>, i64)> {
        let list = sqlx::query_as(
            "SELECT id, event, lead_id, client_id, text, created_at_ms, read_at_ms FROM notifications \
             WHERE agency_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(agency)
        .bind(user)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let unread = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE agency_id = $1 AND user_id = $2 AND read_at_ms IS NULL",
        )
        .bind(agency)
        .bind(user)
        .fetch_one(self.pool())
        .await?;
        Ok((list, unread))
    }

    pub async fn mark_notifications_read(
        &self,
        agency: AgencyId,
        user: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE notifications SET read_at_ms = $3 WHERE agency_id = $1 AND user_id = $2 AND read_at_ms IS NULL",
        )
        .bind(agency)
        .bind(user)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

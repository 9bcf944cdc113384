//! Teams and distribution (T1–T4): teams of brokers under a supervisor, the first N matching
//! clients distributed to a team (evenly, each client to one broker alone) or to a campaign,
//! a team client's contact outcome, and the broker and team reports.

use super::clients::{quarantine_sql, ClientFilter, ClientRow, Sql};
use super::outcomes::{record_outcome, Contact, OutcomeRecorded};
use super::{Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId, Outcome};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub supervisor_id: i64,
    pub supervisor_name: String,
    pub brokers: Vec<super::CampaignBroker>,
    /// Clients distributed to the team's brokers.
    pub clients: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Distributed {
    pub distributed: i64,
    /// Per broker (team distribution only).
    pub per_broker: Vec<(BrokerId, i64)>,
}

/// One broker's contact outcomes in a period (T4).
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OutcomeCounts {
    pub broker_id: BrokerId,
    pub broker_name: String,
    pub high_interest: i64,
    pub asked_info: i64,
    pub low_interest: i64,
    pub no_answer: i64,
    pub no_interest: i64,
    /// Contact log entries on leads (A3).
    pub lead_contacts: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamReport {
    pub team_id: i64,
    pub team_name: String,
    pub totals: OutcomeCounts,
    pub brokers: Vec<OutcomeCounts>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactsReport {
    pub brokers: Vec<OutcomeCounts>,
    pub teams: Vec<TeamReport>,
}

/// Not worked (T3), not distributed already (T2).
const DISTRIBUTABLE: &str = " AND c.worked_at_ms IS NULL AND NOT EXISTS (SELECT 1 FROM team_clients tc WHERE tc.client_id = c.id)";

impl Store {
    pub async fn save_team(
        &self,
        agency: AgencyId,
        id: Option<i64>,
        name: &str,
        supervisor: i64,
        brokers: &[BrokerId],
        now_ms: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let sup: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE agency_id = $1 AND id = $2 AND role IN ('manager', 'admin', 'broker') AND active = 1",
        )
        .bind(agency)
        .bind(supervisor)
        .fetch_optional(&mut *tx)
        .await?;
        if sup.is_none() {
            return Err(StoreError::Conflict(
                "the supervisor is not an active manager or broker of this agency".into(),
            ));
        }
        let id = match id {
            None => sqlx::query_scalar(
                "INSERT INTO teams (agency_id, name, supervisor_id, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(agency)
            .bind(name)
            .bind(supervisor)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Duplicate(_) => StoreError::Conflict(format!("a team named \"{name}\" exists")),
                e => e,
            })?,
            Some(id) => {
                let r = sqlx::query("UPDATE teams SET name = $3, supervisor_id = $4 WHERE agency_id = $1 AND id = $2")
                    .bind(agency)
                    .bind(id)
                    .bind(name)
                    .bind(supervisor)
                    .execute(&mut *tx)
                    .await?;
                super::one_row(r)?;
                sqlx::query("DELETE FROM team_brokers WHERE team_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
        };
        for b in brokers {
            let ok: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM users WHERE agency_id = $1 AND id = $2 AND role = 'broker' AND active = 1",
            )
            .bind(agency)
            .bind(b)
            .fetch_optional(&mut *tx)
            .await?;
            if ok.is_none() {
                return Err(StoreError::Conflict(format!(
                    "user {b} is not an active broker of this agency"
                )));
            }
            sqlx::query("INSERT INTO team_brokers (agency_id, team_id, broker_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(agency)
                .bind(id)
                .bind(b)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn teams(&self, agency: AgencyId) -> StoreResult<Vec<Team>> {
        let rows: Vec<(i64, String, i64, String, i64)> = sqlx::query_as(
            "SELECT t.id, t.name, t.supervisor_id, u.name, (SELECT COUNT(*) FROM team_clients tc WHERE tc.team_id = t.id) \
             FROM teams t JOIN users u ON u.id = t.supervisor_id WHERE t.agency_id = $1 ORDER BY t.name",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        let members = self
            .group_brokers(agency, "team_brokers", "team_id", "u.id")
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, name, supervisor_id, supervisor_name, clients) in rows {
            let brokers = super::campaigns::brokers_of(&members, id);
            out.push(Team {
                id,
                name,
                supervisor_id,
                supervisor_name,
                brokers,
                clients,
            });
        }
        Ok(out)
    }

    /// T2: the first `n` matching clients not worked and not yet distributed, dealt round
    /// the team's brokers (those holding fewest first), each client to one broker alone.
    pub async fn distribute_to_team(
        &self,
        agency: AgencyId,
        team: i64,
        f: &ClientFilter,
        n: i64,
        now_ms: i64,
    ) -> StoreResult<Distributed> {
        let days = self.quarantine_days(agency).await?;
        let mut tx = self.begin_write().await?;
        // Distributions run one at a time per agency: each sees what the previous one gave.
        super::write_first(&mut tx, "agencies", agency).await?;
        let brokers: Vec<(BrokerId, i64)> = sqlx::query_as(
            "SELECT tb.broker_id, (SELECT COUNT(*) FROM team_clients tc WHERE tc.broker_id = tb.broker_id) AS held \
             FROM team_brokers tb JOIN teams t ON t.id = tb.team_id WHERE t.agency_id = $1 AND t.id = $2 \
             ORDER BY held, tb.broker_id",
        )
        .bind(agency)
        .bind(team)
        .fetch_all(&mut *tx)
        .await?;
        if brokers.is_empty() {
            return Err(StoreError::Conflict("the team has no brokers".into()));
        }
        let ids = Self::matching_client_ids(
            &mut tx,
            self.backend(),
            agency,
            f,
            DISTRIBUTABLE,
            n,
            now_ms,
            days,
        )
        .await?;
        let mut per: Vec<(BrokerId, i64)> = brokers.iter().map(|b| (b.0, 0)).collect();
        let mut done = 0;
        for (i, c) in ids.iter().enumerate() {
            // Round robin over the team's brokers (never empty: checked above).
            let Some(slot) = i.checked_rem(per.len()).and_then(|s| per.get_mut(s)) else {
                break;
            };
            // A concurrent distribution that took the client first wins it (T2: one broker alone).
            let r = sqlx::query(
                "INSERT INTO team_clients (client_id, agency_id, team_id, broker_id, distributed_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(c)
            .bind(agency)
            .bind(team)
            .bind(slot.0)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 1 {
                slot.1 += 1;
                done += 1;
            }
        }
        tx.commit().await?;
        Ok(Distributed {
            distributed: done,
            per_broker: per,
        })
    }

    /// T2 to a campaign: the first `n` matching clients not worked, not in quarantine and not
    /// already in it, queued for any participating broker.
    pub async fn distribute_to_campaign(
        &self,
        agency: AgencyId,
        campaign: i64,
        f: &ClientFilter,
        n: i64,
        now_ms: i64,
    ) -> StoreResult<Distributed> {
        let (_, days, mut tx) = self.begin_campaign_write(agency, campaign, now_ms).await?;
        // The extra conditions continue the filter's placeholder numbering on one statement.
        let plan = super::clients::text_plan(&mut tx, self.backend(), agency, f, n).await?;
        let mut sql = Sql::new("SELECT c.id FROM clients c");
        super::clients::filter_sql(&mut sql, plan, agency, f, now_ms, days);
        let q = quarantine_sql(&mut sql, now_ms, days, campaign);
        let k = sql.int(campaign);
        let l = sql.int(n);
        sql.push(&format!(
            " AND c.worked_at_ms IS NULL AND NOT {q} AND NOT EXISTS \
             (SELECT 1 FROM campaign_clients i WHERE i.client_id = c.id AND i.campaign_id = {k}) ORDER BY c.id DESC LIMIT {l}"
        ));
        let ids: Vec<(i64,)> = sql.query_as()?.fetch_all(&mut *tx).await?;
        let mut done = 0;
        for (c,) in ids {
            let r = sqlx::query(
                "INSERT INTO campaign_clients (agency_id, campaign_id, client_id, added_at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(agency)
            .bind(campaign)
            .bind(c)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            done += r.rows_affected() as i64;
        }
        tx.commit().await?;
        Ok(Distributed {
            distributed: done,
            per_broker: Vec::new(),
        })
    }

    /// The clients distributed to this broker (T2), newest first.
    pub async fn broker_team_clients(
        &self,
        agency: AgencyId,
        broker: BrokerId,
    ) -> StoreResult<Vec<ClientRow>> {
        Ok(sqlx::query_as(
            "SELECT c.id, c.name, c.phone, c.email, c.broker_id, u.name AS broker_name, c.created_at_ms, c.worked_at_ms \
             FROM team_clients tc JOIN clients c ON c.id = tc.client_id LEFT JOIN users u ON u.id = c.broker_id \
             WHERE tc.agency_id = $1 AND tc.broker_id = $2 ORDER BY c.worked_at_ms IS NOT NULL, c.id DESC LIMIT 500",
        )
        .bind(agency)
        .bind(broker)
        .fetch_all(self.pool())
        .await?)
    }

    /// T4: a broker records a contact with a client distributed to them (or linked to them).
    pub async fn record_client_contact(
        &self,
        agency: AgencyId,
        client: i64,
        broker: BrokerId,
        outcome: Outcome,
        comment: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<OutcomeRecorded> {
        let mut tx = self.begin_write().await?;
        let mine: Option<i64> = sqlx::query_scalar(
            "SELECT c.id FROM clients c WHERE c.agency_id = $1 AND c.id = $2 AND (c.broker_id = $3 OR EXISTS \
             (SELECT 1 FROM team_clients tc WHERE tc.client_id = c.id AND tc.broker_id = $3))",
        )
        .bind(agency)
        .bind(client)
        .bind(broker)
        .fetch_optional(&mut *tx)
        .await?;
        if mine.is_none() {
            return Err(StoreError::NotFound);
        }
        let contact = Contact {
            agency,
            client,
            broker,
            campaign: None,
            outcome,
            comment,
        };
        let out = record_outcome(self, &mut tx, contact, now_ms).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// T4: contact outcomes per broker and per team in `[from, to)`.
    pub async fn contacts_report(
        &self,
        agency: AgencyId,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<ContactsReport> {
        let brokers: Vec<OutcomeCounts> = sqlx::query_as(
            "SELECT u.id AS broker_id, u.name AS broker_name, \
             SUM(CASE WHEN x.outcome = 'high_interest' THEN 1 ELSE 0 END) AS high_interest, \
             SUM(CASE WHEN x.outcome = 'asked_info' THEN 1 ELSE 0 END) AS asked_info, \
             SUM(CASE WHEN x.outcome = 'low_interest' THEN 1 ELSE 0 END) AS low_interest, \
             SUM(CASE WHEN x.outcome = 'no_answer' THEN 1 ELSE 0 END) AS no_answer, \
             SUM(CASE WHEN x.outcome = 'no_interest' THEN 1 ELSE 0 END) AS no_interest, \
             SUM(CASE WHEN x.outcome = 'lead' THEN 1 ELSE 0 END) AS lead_contacts, \
             COUNT(*) AS total \
             FROM (SELECT broker_id, outcome FROM client_contacts WHERE agency_id = $1 AND created_at_ms >= $2 AND created_at_ms < $3 \
                   UNION ALL SELECT broker_id, 'lead' FROM contact_logs WHERE agency_id = $1 AND created_at_ms >= $2 AND created_at_ms < $3) x \
             JOIN users u ON u.id = x.broker_id GROUP BY u.id, u.name ORDER BY COUNT(*) DESC, u.name",
        )
        .bind(agency)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        let mut teams = Vec::new();
        for t in self.teams(agency).await? {
            let members: Vec<OutcomeCounts> = brokers
                .iter()
                .filter(|b| t.brokers.iter().any(|m| m.id == b.broker_id))
                .cloned()
                .collect();
            let mut totals = OutcomeCounts {
                broker_name: t.name.clone(),
                ..Default::default()
            };
            for m in &members {
                totals.high_interest += m.high_interest;
                totals.asked_info += m.asked_info;
                totals.low_interest += m.low_interest;
                totals.no_answer += m.no_answer;
                totals.no_interest += m.no_interest;
                totals.lead_contacts += m.lead_contacts;
                totals.total += m.total;
            }
            teams.push(TeamReport {
                team_id: t.id,
                team_name: t.name,
                totals,
                brokers: members,
            });
        }
        Ok(ContactsReport { brokers, teams })
    }
}

//! Durable lead ingest: idempotency key, source id and phone dedupe, the lead number from the
//! agency's template — one lead per transaction, or a batch per transaction with a savepoint
//! each (group commit, `crate::ingest`).

use super::leads::{IngestOutcome, Interest, NewLead};
use super::{format_lead_number, Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId, LeadId, LeadState};
use sqlx::AnyConnection;

fn year_of(ms: i64) -> i32 {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| t.year())
        .unwrap_or(1970)
}

async fn replay(
    conn: &mut AnyConnection,
    agency: AgencyId,
    lead: LeadId,
) -> StoreResult<IngestOutcome> {
    let (number, client_id, state, broker_id): (String, i64, String, Option<BrokerId>) = sqlx::query_as(
        "SELECT number, client_id, state, broker_id FROM leads WHERE agency_id = $1 AND id = $2",
    )
    .bind(agency)
    .bind(lead)
    .fetch_one(&mut *conn)
    .await?;
    Ok(IngestOutcome {
        lead_id: lead,
        number,
        client_id,
        state: LeadState::parse(&state).unwrap_or(LeadState::Waiting),
        replayed: true,
        linked_existing_client: false,
        recontact: false,
        broker_id,
        attendance_id: None,
        attendance_kind: None,
    })
}

/// The submission's Idempotency-Key, if it has one, now names `lead`: a retry replays it.
pub(super) async fn remember_key(
    conn: &mut AnyConnection,
    l: &NewLead,
    lead: LeadId,
    now_ms: i64,
) -> StoreResult<()> {
    if let Some((key, hash)) = &l.idempotency {
        sqlx::query(
            "INSERT INTO idempotency_keys (agency_id, key, request_hash, lead_id, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(l.agency_id)
        .bind(key)
        .bind(hash)
        .bind(lead)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Writes a lead durably (I1) unless it repeats an earlier one (I4), in one transaction.
    /// SQLite: it starts with a write on the agency row (the lead counter), which takes the
    /// single write lock up front. PostgreSQL: nothing is locked up front, so an agency's
    /// ingests commit side by side (one disk flush for many); the number comes from the
    /// agency's sequence, and a race on a unique key (idempotency key, source id, the client's
    /// phone) rolls the loser back to run again, when it finds the winner's rows and replays
    /// or links to them.
    pub async fn ingest_lead(&self, l: &NewLead, now_ms: i64) -> StoreResult<IngestOutcome> {
        let mut attempt = 0;
        loop {
            match self.ingest_once(l, now_ms).await {
                Err(StoreError::Duplicate(_)) if attempt < 3 => attempt += 1,
                Err(StoreError::Duplicate(m)) => return Err(StoreError::Conflict(m)),
                r => return r,
            }
        }
    }

    async fn ingest_once(&self, l: &NewLead, now_ms: i64) -> StoreResult<IngestOutcome> {
        let mut tx = self.begin_write().await?;
        // An error (or a replay) returns before the commit: the transaction rolls back.
        let out = self.ingest_in(&mut tx, l, now_ms).await?;
        if !out.replayed {
            tx.commit().await?;
        }
        Ok(out)
    }

    /// Several leads in one transaction — one disk flush for all of them — each inside its
    /// own savepoint, so one lead's failure (or replay) undoes only its own statements. The
    /// results come in the order of `leads`; if the commit fails, every lead fails with it.
    pub async fn ingest_batch(
        &self,
        leads: &[NewLead],
        now_ms: i64,
    ) -> Vec<StoreResult<IngestOutcome>> {
        let unavailable = |e: &StoreError| {
            (0..leads.len())
                .map(|_| Err(StoreError::Unavailable(e.to_string())))
                .collect::<Vec<_>>()
        };
        let mut tx = match self.begin_write().await {
            Ok(t) => t,
            Err(e) => return unavailable(&e),
        };
        let mut out = Vec::with_capacity(leads.len());
        for l in leads {
            if let Err(e) = sqlx::query("SAVEPOINT lead").execute(&mut *tx).await {
                return unavailable(&StoreError::from(e));
            }
            let r = self.ingest_in(&mut tx, l, now_ms).await;
            let end = match &r {
                Ok(o) if !o.replayed => "RELEASE SAVEPOINT lead",
                _ => "ROLLBACK TO SAVEPOINT lead",
            };
            if let Err(e) = sqlx::query(end).execute(&mut *tx).await {
                return unavailable(&StoreError::from(e));
            }
            if end.starts_with("ROLLBACK") {
                // Leaves the savepoint itself behind; release it so they do not pile up.
                if let Err(e) = sqlx::query("RELEASE SAVEPOINT lead")
                    .execute(&mut *tx)
                    .await
                {
                    return unavailable(&StoreError::from(e));
                }
            }
            out.push(r);
        }
        match tx.commit().await {
            Ok(()) => out,
            Err(e) => unavailable(&StoreError::from(e)),
        }
    }

    /// One lead's statements inside the caller's transaction. On SQLite the first is a write
    /// (the lead counter), which takes the write lock at once.
    pub(crate) async fn ingest_in(
        &self,
        conn: &mut AnyConnection,
        l: &NewLead,
        now_ms: i64,
    ) -> StoreResult<IngestOutcome> {
        let (seq, template): (Option<i64>, String) = match self.backend() {
            super::Backend::Sqlite => {
                let (seq, t): (i64, String) = sqlx::query_as(
                    "UPDATE agencies SET lead_seq = lead_seq + 1 WHERE id = $1 RETURNING lead_seq, lead_number_template",
                )
                .bind(l.agency_id)
                .fetch_one(&mut *conn)
                .await?;
                (Some(seq), t)
            }
            super::Backend::Postgres => {
                let t: String =
                    sqlx::query_scalar("SELECT lead_number_template FROM agencies WHERE id = $1")
                        .bind(l.agency_id)
                        .fetch_one(&mut *conn)
                        .await?;
                (None, t)
            }
        };

        if let Some((key, hash)) = &l.idempotency {
            let prior: Option<(String, LeadId)> = sqlx::query_as(
                "SELECT request_hash, lead_id FROM idempotency_keys WHERE agency_id = $1 AND key = $2",
            )
            .bind(l.agency_id)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some((prior_hash, lead)) = prior {
                if &prior_hash != hash {
                    return Err(StoreError::Conflict(
                        "Idempotency-Key was already used with a different request body".into(),
                    ));
                }
                return replay(conn, l.agency_id, lead).await;
            }
        }
        if let Some(ext) = &l.external_id {
            // The source's id names a lead, or a contact written on an open lead (L8): one
            // round trip for both.
            let prior: Option<LeadId> = sqlx::query_scalar(
                "SELECT id FROM leads WHERE agency_id = $1 AND source = $2 AND external_id = $3 \
                 UNION ALL SELECT lead_id FROM client_history WHERE agency_id = $1 AND from_value = $2 \
                 AND external_id = $3 AND lead_id IS NOT NULL LIMIT 1",
            )
            .bind(l.agency_id)
            .bind(&l.source)
            .bind(ext)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(lead) = prior {
                return replay(conn, l.agency_id, lead).await;
            }
        }

        let existing: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT id, broker_id FROM clients WHERE agency_id = $1 AND phone = $2")
                .bind(l.agency_id)
                .bind(&l.phone)
                .fetch_optional(&mut *conn)
                .await?;
        let (client_id, linked) = match existing {
            Some((id, _owner)) => {
                if l.assign_to.is_none() && l.created_by.is_none() {
                    if let Some(out) = self.recontact(conn, l, id, now_ms).await? {
                        return Ok(out);
                    }
                }
                (id, true)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO clients (agency_id, name, phone, email, role, created_at_ms, search_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(l.agency_id)
                .bind(&l.name)
                .bind(&l.phone)
                .bind(&l.email)
                .bind(l.client_role.as_str())
                .bind(now_ms)
                .bind(super::search_key(&l.name, l.email.as_deref()))
                .fetch_one(&mut *conn)
                .await?;
                (id, false)
            }
        };

        let mut interest = l.interest.clone();
        let mut comment = l.comment.clone();
        let mut property_id = None;
        if let Some(code) = &l.property_code {
            #[derive(sqlx::FromRow)]
            struct P {
                id: i64,
                kind: String,
                purpose: String,
                price_cents: Option<i64>,
                neighbourhood: Option<String>,
                bedrooms: Option<i64>,
                parking_spaces: Option<i64>,
            }
            let p: Option<P> = sqlx::query_as(
                "SELECT id, kind, purpose, price_cents, neighbourhood, bedrooms, parking_spaces \
                 FROM properties WHERE agency_id = $1 AND code = $2",
            )
            .bind(l.agency_id)
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
            match p {
                Some(p) => {
                    property_id = Some(p.id);
                    interest = Interest {
                        kind: Some(p.kind),
                        purpose: Some(p.purpose),
                        price_cents: p.price_cents.or(interest.price_cents),
                        neighbourhood: p.neighbourhood.or(interest.neighbourhood),
                        bedrooms: p.bedrooms.or(interest.bedrooms),
                        parking_spaces: p.parking_spaces.or(interest.parking_spaces),
                    };
                }
                // An unknown code must not lose the lead: keep it in the comment.
                None => {
                    let note = format!("Imóvel de interesse {code} (não cadastrado)");
                    comment = Some(match comment {
                        Some(c) => format!("{c}\n{note}"),
                        None => note,
                    });
                }
            }
        }

        let seq = match seq {
            Some(s) => s,
            // Taken only once the lead is known to be new; a rollback leaves a gap, never a
            // repeat.
            None => {
                sqlx::query_scalar("SELECT nextval(format('lead_seq_%s', $1::bigint)::regclass)")
                    .bind(l.agency_id)
                    .fetch_one(&mut *conn)
                    .await?
            }
        };
        let number = format_lead_number(&template, year_of(now_ms), seq);
        let (state, broker) = match l.assign_to {
            Some((b, _)) => (LeadState::Assigned, Some(b)),
            None => (l.state, None),
        };
        let lead_id: LeadId = sqlx::query_scalar(
            "INSERT INTO leads (agency_id, number, client_id, department_id, source, external_id, channel, \
             property_id, interest_kind, interest_purpose, interest_price_cents, interest_neighbourhood, \
             interest_bedrooms, interest_parking, appraisal_address, condominium, comment, state, broker_id, \
             created_by, created_at_ms, assigned_at_ms, ad_campaign, due_at_ms, urgent, location, manager_id, \
             type_id, status, status_changed_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
             $23, $24, $25, $26, COALESCE($27, $20), COALESCE($28, (SELECT id FROM lead_types WHERE agency_id = $1 AND is_default = 1)), \
             (SELECT initial_status FROM lead_types WHERE agency_id = $1 AND id = COALESCE($28, (SELECT id FROM lead_types WHERE agency_id = $1 AND is_default = 1))), $21) \
             RETURNING id",
        )
        .bind(l.agency_id)
        .bind(&number)
        .bind(client_id)
        .bind(l.department_id)
        .bind(&l.source)
        .bind(&l.external_id)
        .bind(l.channel.as_str())
        .bind(property_id)
        .bind(&interest.kind)
        .bind(&interest.purpose)
        .bind(interest.price_cents)
        .bind(&interest.neighbourhood)
        .bind(interest.bedrooms)
        .bind(interest.parking_spaces)
        .bind(&l.appraisal_address)
        .bind(&l.condominium)
        .bind(&comment)
        .bind(state.as_str())
        .bind(broker)
        .bind(l.created_by)
        .bind(now_ms)
        .bind(broker.map(|_| now_ms))
        .bind(&l.crm.ad_campaign)
        .bind(l.crm.due_at_ms)
        .bind(i64::from(l.crm.urgent))
        .bind(&l.crm.location)
        .bind(l.crm.manager_id)
        .bind(l.crm.type_id)
        .fetch_one(&mut *conn)
        .await?;

        remember_key(conn, l, lead_id, now_ms).await?;
        super::outbox::lead_created(conn, l.agency_id, lead_id, now_ms).await?;
        let attendance = match l.assign_to {
            Some((b, kind)) => {
                Some(super::link_broker(conn, l.agency_id, lead_id, b, kind, now_ms).await?)
            }
            None => None,
        };
        Ok(IngestOutcome {
            lead_id,
            number,
            client_id,
            state,
            replayed: false,
            linked_existing_client: linked,
            recontact: false,
            broker_id: broker,
            attendance_id: attendance.map(|a| a.0),
            attendance_kind: attendance.map(|a| a.1),
        })
    }
}

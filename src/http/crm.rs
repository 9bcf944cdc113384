//! What the CRM routes share: the active-offer switch (O6), dates as managers type them, and
//! checks that an id names one of the agency's lead types or managers.

use crate::error::ApiError;
use crate::model::{AgencyId, Role};
use crate::state::AppState;
use crate::store::Subject;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The agencies' clock: Brasília time (no daylight saving since 2019).
const BRT_SECONDS: i32 = crate::clock::AGENCY_UTC_OFFSET_SECONDS;

/// A date or moment as a form sends it: `2026-12-31` (the end of that day, Brasília time),
/// `2026-12-31T18:00` (Brasília time), or RFC 3339 with its own offset. Answers epoch ms.
pub(crate) fn parse_when(field: &'static str, s: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::invalid(
            field,
            format!("{field} must be a date (2026-12-31) or a date and time (2026-12-31T18:00)"),
        )
    };
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let (d, t) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = d.splitn(3, '-').map(str::parse::<i64>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(day))) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let month = Month::try_from(u8::try_from(m).map_err(|_| bad())?).map_err(|_| bad())?;
    let date = Date::from_calendar_date(
        i32::try_from(y).map_err(|_| bad())?,
        month,
        u8::try_from(day).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let time = match t {
        None => Time::from_hms_milli(23, 59, 59, 999).map_err(|_| bad())?,
        Some(t) => {
            let mut hm = t.splitn(3, ':').map(|p| p.parse::<u8>());
            match (hm.next(), hm.next(), hm.next()) {
                (Some(Ok(h)), Some(Ok(mi)), None) => Time::from_hms(h, mi, 0),
                (Some(Ok(h)), Some(Ok(mi)), Some(Ok(sec))) => Time::from_hms(h, mi, sec),
                _ => return Err(bad()),
            }
            .map_err(|_| bad())?
        }
    };
    let offset = UtcOffset::from_whole_seconds(BRT_SECONDS).map_err(|_| bad())?;
    let at = PrimitiveDateTime::new(date, time).assume_offset(offset);
    Ok((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// O6: refuses when the agency has not switched active-offer campaigns on, or its plan leaves
/// them out (the platform's feature switch, docs/PLATFORM.md).
pub(crate) async fn require_active_offer(app: &AppState, agency: AgencyId) -> Result<(), ApiError> {
    if app.store.crm_settings(agency).await?.active_offer_enabled {
        return Ok(());
    }
    if !app.store.agency_standing(agency).await?.features.campaigns {
        return Err(campaigns_not_in_plan());
    }
    Err(ApiError::Forbidden(
        "active offer campaigns are not enabled for this agency".into(),
    ))
}

/// The answer while the agency's plan leaves active-offer campaigns out.
pub(crate) fn campaigns_not_in_plan() -> ApiError {
    ApiError::Forbidden(
        "As campanhas de Oferta Ativa não fazem parte do plano desta imobiliária. \
         Fale com o fornecedor do sistema para ativá-las."
            .into(),
    )
}

/// R1 within the plan: switching the roulette on needs the platform's roulette feature.
pub(crate) async fn require_roulette_in_plan(
    app: &AppState,
    agency: AgencyId,
) -> Result<(), ApiError> {
    if app.store.agency_standing(agency).await?.features.roulette {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "A roleta não faz parte do plano desta imobiliária. \
             Fale com o fornecedor do sistema para ativá-la."
                .into(),
        ))
    }
}

pub(crate) async fn check_lead_type(
    app: &AppState,
    agency: AgencyId,
    id: i64,
) -> Result<(), ApiError> {
    if app.store.lead_type_exists(agency, id).await? {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "lead_type_id",
            "no such lead type in this agency",
        ))
    }
}

pub(crate) async fn check_manager(
    app: &AppState,
    agency: AgencyId,
    id: i64,
) -> Result<(), ApiError> {
    match app.store.user(agency, id).await {
        Ok(u) if matches!(u.role, Role::Manager | Role::Admin) && u.active => Ok(()),
        _ => Err(ApiError::invalid(
            "manager_id",
            "not an active manager of this agency",
        )),
    }
}

/// L6: a lead registered by hand notifies whom the rules say (lead_created), and, when it went
/// straight to a broker, lead_assigned. A failure is logged: the lead itself is committed.
pub(crate) async fn notify_lead(
    app: &AppState,
    agency: AgencyId,
    out: &crate::store::IngestOutcome,
    by: &str,
) {
    let subject = Subject {
        lead: Some(out.lead_id),
        client: Some(out.client_id),
        broker: out.broker_id,
    };
    let now = app.clock.now_ms();
    let created = format!("Lead {} registrado por {by}", out.number);
    notify(app, agency, "lead_created", subject, &created, now).await;
    if out.broker_id.is_some() {
        let assigned = format!("Lead {} encaminhado para você", out.number);
        notify(app, agency, "lead_assigned", subject, &assigned, now).await;
    }
}

/// Writes an event's notifications; a failure is logged, never returned (the event happened).
pub(crate) async fn notify(
    app: &AppState,
    agency: AgencyId,
    event: &str,
    subject: Subject,
    text: &str,
    now: i64,
) {
    if let Err(e) = app.store.notify(agency, event, subject, text, now).await {
        tracing::warn!(event, error = %e, "notification not written");
    }
}

/// A report's period from `from` / `to` dates (`to` inclusive); the last 30 days by default.
pub(crate) fn period(
    app: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(i64, i64), ApiError> {
    let now = app.clock.now_ms();
    let to_ms = match to {
        Some(t) => parse_when("to", t)? + 1,
        None => now + 1,
    };
    let from_ms = match from {
        // The start of that day: the end of the day before, plus one millisecond.
        Some(f) => parse_when("from", f)? - 86_400_000 + 1,
        None => to_ms - 30 * 86_400_000,
    };
    if from_ms >= to_ms {
        return Err(ApiError::invalid("from", "from must be before to"));
    }
    Ok((from_ms, to_ms))
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a test that cannot build its input fails loudly
mod tests {
    use super::parse_when;

    #[test]
    fn dates_are_read_in_brasilia_time() {
        // 2026-12-31T18:00-03:00 = 21:00 UTC
        let t = parse_when("due_at", "2026-12-31T18:00").expect("date and time");
        assert_eq!(
            t,
            parse_when("due_at", "2026-12-31T21:00:00Z").expect("rfc3339")
        );
        let end = parse_when("due_at", "2026-12-31").expect("date");
        assert_eq!(end - t, (5 * 3600 + 59 * 60 + 59) * 1000 + 999);
        assert!(parse_when("due_at", "31/12/2026").is_err());
        assert!(parse_when("due_at", "2026-13-01").is_err());
    }
}

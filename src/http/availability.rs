//! A broker's place in the roulette (issue 12): the manager sets "participa da roleta" and an
//! absence period (férias / ausência) per broker; the broker reads their own. An excluded or
//! absent broker gets no roulette offers but keeps their clients and pending attendances
//! (docs/ROUTING.md, "Away from the roulette").

use crate::auth::{Brokers, Managers, Require};
use crate::clock::agency_day_start_ms;
use crate::error::{ApiError, Json, Path};
use crate::model::{AbsenceReason, BrokerId, Role};
use crate::state::AppState;
use crate::store::{Absence, Availability};
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use time::Date;

/// The longest absence a manager may record in one go, in days.
pub const MAX_ABSENCE_DAYS: i64 = 366;

const DAY_MS: i64 = 86_400_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/users/{id}/availability",
            get(get_user_availability).put(set_user_availability),
        )
        .route("/api/v1/me/availability", get(get_my_availability))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityIn {
    /// "Participa da roleta": false takes the broker out of the roulette until it is set back.
    #[schema(required = true, value_type = bool)]
    in_roulette: Option<bool>,
    /// The absence period, or null for none (a PUT replaces the one on record).
    #[serde(default)]
    absence: Option<AbsenceIn>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceIn {
    /// First day away, `YYYY-MM-DD`, Brasília time.
    #[schema(required = true, value_type = String, example = "2026-01-02")]
    from: Option<String>,
    /// Last day away (included), `YYYY-MM-DD`; not before `from`, at most 366 days in all.
    #[schema(required = true, value_type = String, example = "2026-01-05")]
    to: Option<String>,
    /// `ferias` or `ausencia`.
    #[schema(required = true, value_type = AbsenceReason)]
    reason: Option<String>,
}

/// Sets whether the broker takes part in the roulette and their absence period; counts from
/// the next offer. Managers only.
#[utoipa::path(put, path = "/api/v1/users/{id}/availability", request_body = AvailabilityIn,
    params(("id" = i64, Path, description = "the broker's user id")),
    responses((status = 200, body = Availability), (status = 404), (status = 422)))]
pub async fn set_user_availability(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(i): Json<AvailabilityIn>,
) -> Result<Json<Availability>, ApiError> {
    let agency = user.agency();
    let target = app.store.user(agency, id).await?;
    if target.role != Role::Broker {
        return Err(ApiError::invalid(
            "id",
            "Só corretores participam da roleta.",
        ));
    }
    let in_roulette = i.in_roulette.ok_or_else(|| {
        ApiError::invalid("in_roulette", "Informe se o corretor participa da roleta.")
    })?;
    let absence = i.absence.map(absence).transpose()?;
    let now = app.clock.now_ms();
    let saved = app
        .store
        .set_availability(
            agency,
            BrokerId(id),
            in_roulette,
            absence.as_ref(),
            user.user.id,
            now,
        )
        .await?;
    app.dispatcher.broker_changed(agency, BrokerId(id)).await?;
    Ok(Json(saved))
}

/// A broker's place in the roulette. Managers only.
#[utoipa::path(get, path = "/api/v1/users/{id}/availability",
    params(("id" = i64, Path, description = "the broker's user id")),
    responses((status = 200, body = Availability), (status = 404)))]
pub async fn get_user_availability(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<Availability>, ApiError> {
    let agency = user.agency();
    let target = app.store.user(agency, id).await?;
    if target.role != Role::Broker {
        return Err(ApiError::NotFound);
    }
    let now = app.clock.now_ms();
    Ok(Json(
        app.store.availability(agency, BrokerId(id), now).await?,
    ))
}

/// The signed-in broker's own place in the roulette ("Você está fora da roleta até …").
#[utoipa::path(get, path = "/api/v1/me/availability",
    responses((status = 200, body = Availability)))]
pub async fn get_my_availability(
    State(app): State<AppState>,
    user: Require<Brokers>,
) -> Result<Json<Availability>, ApiError> {
    let now = app.clock.now_ms();
    Ok(Json(
        app.store
            .availability(user.agency(), user.broker(), now)
            .await?,
    ))
}

/// Validates an absence: real dates, in order, not longer than [`MAX_ABSENCE_DAYS`].
fn absence(a: AbsenceIn) -> Result<Absence, ApiError> {
    let from = day("absence.from", a.from.as_deref())?;
    let to = day("absence.to", a.to.as_deref())?;
    if to < from {
        return Err(ApiError::invalid(
            "absence.to",
            "A volta não pode ser antes do início da ausência.",
        ));
    }
    let starts_at_ms = agency_day_start_ms(from);
    let ends_at_ms = agency_day_start_ms(to) + DAY_MS;
    if (ends_at_ms - starts_at_ms) / DAY_MS > MAX_ABSENCE_DAYS {
        return Err(ApiError::invalid(
            "absence.to",
            format!("Uma ausência dura no máximo {MAX_ABSENCE_DAYS} dias."),
        ));
    }
    let reason = match a.reason.as_deref().map(str::trim) {
        Some(r) => AbsenceReason::parse(r),
        None => None,
    }
    .ok_or_else(|| {
        ApiError::invalid(
            "absence.reason",
            "Escolha o motivo: férias (ferias) ou ausência (ausencia).",
        )
    })?;
    Ok(Absence {
        from: from.to_string(),
        to: to.to_string(),
        reason,
        starts_at_ms,
        ends_at_ms,
    })
}

/// A calendar day written `YYYY-MM-DD`, between the years 2000 and 2100.
fn day(field: &'static str, s: Option<&str>) -> Result<Date, ApiError> {
    let bad = || {
        ApiError::invalid(
            field,
            "Use uma data no formato AAAA-MM-DD (por exemplo 2026-01-05).",
        )
    };
    let s = match s.map(str::trim) {
        None | Some("") => return Err(ApiError::invalid(field, "Informe a data (AAAA-MM-DD).")),
        Some(s) => s,
    };
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u16>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(bad());
    };
    if !(2000..=2100).contains(&y) {
        return Err(ApiError::invalid(
            field,
            "Use uma data entre os anos 2000 e 2100.",
        ));
    }
    let month = time::Month::try_from(u8::try_from(m).map_err(|_| bad())?).map_err(|_| bad())?;
    Date::from_calendar_date(i32::from(y), month, u8::try_from(d).map_err(|_| bad())?)
        .map_err(|_| bad())
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a test that cannot build its input fails loudly
mod tests {
    use super::{absence, day, AbsenceIn};

    fn a(from: &str, to: &str, reason: &str) -> AbsenceIn {
        AbsenceIn {
            from: Some(from.into()),
            to: Some(to.into()),
            reason: Some(reason.into()),
        }
    }

    #[test]
    fn an_absence_is_whole_days_of_brasilia_time() {
        let x = absence(a("2026-01-02", "2026-01-05", "ferias")).expect("valid");
        // 2026-01-02T00:00-03:00 = 03:00 UTC; four whole days.
        assert_eq!(x.starts_at_ms, 1_767_322_800_000);
        assert_eq!(x.ends_at_ms - x.starts_at_ms, 4 * 86_400_000);
        assert_eq!(
            (x.from.as_str(), x.to.as_str()),
            ("2026-01-02", "2026-01-05")
        );
        let one = absence(a("2026-03-01", "2026-03-01", "ausencia")).expect("one day");
        assert_eq!(one.ends_at_ms - one.starts_at_ms, 86_400_000);
    }

    #[test]
    fn bad_absences_name_their_field() {
        let field = |r: Result<_, crate::error::ApiError>| match r {
            Err(crate::error::ApiError::Invalid { field, .. }) => field.to_string(),
            other => panic!("expected invalid, got {other:?}"),
        };
        assert_eq!(
            field(absence(a("2026-01-05", "2026-01-02", "ferias"))),
            "absence.to"
        );
        assert_eq!(
            field(absence(a("05/01/2026", "2026-01-02", "ferias"))),
            "absence.from"
        );
        assert_eq!(
            field(absence(a("2026-02-01", "2026-02-30", "ferias"))),
            "absence.to"
        );
        assert_eq!(
            field(absence(a("2026-01-01", "2027-01-03", "ferias"))),
            "absence.to"
        );
        assert_eq!(
            field(absence(a("2026-01-01", "2026-01-03", "doente"))),
            "absence.reason"
        );
        assert!(day("x", Some("1999-12-31")).is_err());
        assert!(day("x", Some("２０２６-01-01")).is_err());
        assert!(
            absence(a("2026-01-01", "2027-01-01", "ferias")).is_ok(),
            "366 days"
        );
    }
}

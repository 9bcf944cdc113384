//! What a lead looks like on the way in — from a source, the reception desk or the lead form —
//! and how it is checked and turned into a `NewLead` (L1–L4 fields included).

use super::{optional, required};
use crate::error::ApiError;
use crate::model::{AgencyId, Channel, ClientRole, LeadState};
use crate::state::AppState;
use crate::store::{Interest, LeadCrm, NewLead};
use axum::http::{header, HeaderMap};
use serde::Deserialize;

/// A lead as a source sends it. Unknown fields are ignored so that a source adding fields
/// never loses leads.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LeadIn {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    /// The source's own id for this lead: a second delivery with the same id is the same lead.
    pub external_id: Option<String>,
    /// Department id (a number, or a string of digits) or name; the agency's default department
    /// when absent.
    pub department: Option<DepartmentRef>,
    pub channel: Option<Channel>,
    pub client_role: Option<ClientRole>,
    /// Code of the property of interest: the interest profile is built from it (A2).
    pub property_code: Option<String>,
    pub interest: Option<Interest>,
    pub appraisal_address: Option<String>,
    pub condominium: Option<String>,
    pub comment: Option<String>,
    /// L1: the lead type; the agency's default type when absent.
    pub lead_type_id: Option<i64>,
    /// L3: the ad campaign that brought the lead (marketing-efficiency report).
    pub ad_campaign: Option<String>,
    /// L4: due date: `2026-12-31` (end of day), `2026-12-31T18:00` (Brasília time) or RFC 3339.
    pub due_at: Option<String>,
    /// L4: urgent flag.
    pub urgent: Option<bool>,
    /// L4: where the client is, or where they want to buy or rent.
    pub location: Option<String>,
    /// L4: responsible manager; the user who registered the lead when absent.
    pub manager_id: Option<i64>,
}

/// How a source names the department: `2`, `"2"` or `"Locação"` (names match without regard
/// to case).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(
    untagged,
    expecting = "department: a department id (number) or name (string)"
)]
pub enum DepartmentRef {
    Id(i64),
    Name(String),
}

impl DepartmentRef {
    /// The text the store matches against ids and names.
    fn key(&self) -> String {
        match self {
            DepartmentRef::Id(id) => id.to_string(),
            DepartmentRef::Name(n) => n.trim().to_string(),
        }
    }
}

/// Guesses the badge from the source's name when the source does not say (LF, LP, LS).
fn channel_for(source: &str) -> Channel {
    let s = source.to_lowercase();
    if s.contains("facebook") || s.contains("meta") || s.contains("instagram") {
        Channel::Lf
    } else if ["portal", "zap", "vivareal", "olx", "imovelweb"]
        .iter()
        .any(|p| s.contains(p))
    {
        Channel::Lp
    } else if s.contains("site") || s.contains("web") {
        Channel::Ls
    } else {
        Channel::Other
    }
}

pub(crate) async fn build_lead(
    app: &AppState,
    agency: AgencyId,
    source: &str,
    l: LeadIn,
) -> Result<NewLead, ApiError> {
    let name = required("name", &l.name, 200)?;
    let phone = crate::phone::normalize(&l.phone).map_err(|m| ApiError::invalid("phone", m))?;
    let email = optional("email", l.email.as_deref(), 254)?;
    if email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err(ApiError::invalid("email", "not an e-mail address"));
    }
    let wanted = l.department.as_ref().map(DepartmentRef::key);
    let department = match app
        .store
        .resolve_department(agency, wanted.as_deref())
        .await
    {
        Ok(d) => d,
        Err(crate::store::StoreError::NotFound) => {
            let message = match &wanted {
                Some(w) => format!("no department {w:?} in this agency (give its id or name)"),
                None => "this agency has no department".into(),
            };
            return Err(ApiError::invalid("department", message));
        }
        Err(e) => return Err(e.into()),
    };
    let settings = app.store.roulette_settings(agency).await?;
    if let Some(t) = l.lead_type_id {
        super::crm::check_lead_type(app, agency, t).await?;
    }
    if let Some(m) = l.manager_id {
        super::crm::check_manager(app, agency, m).await?;
    }
    let crm = LeadCrm {
        type_id: l.lead_type_id,
        ad_campaign: optional("ad_campaign", l.ad_campaign.as_deref(), 200)?,
        due_at_ms: match l.due_at.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(super::crm::parse_when("due_at", d)?),
            None => None,
        },
        urgent: l.urgent.unwrap_or(false),
        location: optional("location", l.location.as_deref(), 300)?,
        manager_id: l.manager_id,
    };
    Ok(NewLead {
        agency_id: agency,
        source: source.to_string(),
        external_id: optional("external_id", l.external_id.as_deref(), 200)?,
        idempotency: None,
        name,
        phone,
        email,
        client_role: l.client_role.unwrap_or(ClientRole::Buyer),
        department_id: department.id,
        channel: l.channel.unwrap_or_else(|| channel_for(source)),
        property_code: optional("property_code", l.property_code.as_deref(), 64)?,
        interest: l.interest.unwrap_or_default(),
        appraisal_address: optional("appraisal_address", l.appraisal_address.as_deref(), 300)?,
        condominium: optional("condominium", l.condominium.as_deref(), 200)?,
        comment: optional("comment", l.comment.as_deref(), 4000)?,
        state: if settings.roulette_enabled {
            LeadState::Waiting
        } else {
            LeadState::Unrouted
        },
        assign_to: None,
        created_by: None,
        crm,
    })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError::UnsupportedMedia(
            "expected a body with Content-Type: application/json".into(),
        ));
    }
    crate::error::reject_nul(body)?;
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::Unprocessable(e.to_string()),
        _ => ApiError::BadRequest(format!("malformed JSON: {e}")),
    })
}

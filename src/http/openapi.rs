//! The OpenAPI document, generated from the handlers' annotations and served at
//! `/api/openapi.json`.

use super::{
    attendances, availability, campaign_calls, campaigns, client_record, clients, departments,
    leads, manager, offers, ops, pipeline, platform, push, session, teams, tokens, user_access,
    users, wallboard, webhooks,
};
use crate::state::AppState;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

mod rules;
use rules::{ErrorBody, ErrorDetail, SharedResponses};

#[derive(OpenApi)]
#[openapi(
    modifiers(&SharedResponses),
    components(schemas(ErrorBody, ErrorDetail)),
    info(
        title = "Roleta",
        description = "Real-time lead roulette. The broker WebSocket at /ws is described in docs/PROTOCOL.md."
    ),
    paths(
        session::login,
        session::logout,
        session::get_me,
        session::change_password,
        tokens::create_token,
        tokens::list_tokens,
        tokens::delete_token,
        leads::create_lead,
        leads::forward_client,
        leads::get_lead,
        leads::edit_lead,
        leads::create_contact,
        leads::assign_lead,
        leads::get_lead_audit,
        attendances::list_pending_attendances,
        offers::accept_offer,
        offers::refuse_offer,
        manager::get_roulette_settings,
        manager::update_roulette_settings,
        departments::list_departments,
        departments::create_department,
        departments::update_department,
        departments::remove_department,
        users::list_users,
        users::create_user,
        users::update_user,
        users::set_user_departments,
        user_access::deactivate_user,
        user_access::reactivate_user,
        user_access::reset_password,
        manager::list_api_keys,
        manager::create_api_key,
        manager::revoke_api_key,
        manager::create_property,
        availability::set_user_availability,
        availability::get_user_availability,
        availability::get_my_availability,
        ops::get_health,
        ops::get_ready,
        ops::get_metrics,
        ops::get_roulette_live,
        push::get_push_key,
        push::create_push_subscription,
        push::delete_push_subscription,
        wallboard::get_wallboard,
        wallboard::stream_wallboard,
        pipeline::list_lead_types,
        pipeline::create_lead_type,
        leads::list_leads,
        leads::change_status,
        leads::update_pipeline,
        clients::match_phone,
        pipeline::marketing_report,
        pipeline::get_notification_rules,
        pipeline::set_notification_rules,
        pipeline::list_notifications,
        pipeline::read_notifications,
        campaigns::get_crm_settings,
        campaigns::update_crm_settings,
        campaigns::list_campaigns,
        campaigns::create_campaign,
        campaigns::get_campaign,
        campaigns::update_campaign,
        campaigns::preview_add,
        campaigns::confirm_add,
        campaigns::release_held,
        campaign_calls::my_campaigns,
        campaign_calls::next_client,
        campaign_calls::save_result,
        campaign_calls::continue_later,
        clients::search_clients,
        clients::mark_worked,
        teams::list_teams,
        teams::create_team,
        teams::update_team,
        teams::distribute,
        clients::my_clients,
        clients::client_contact,
        client_record::list_clients,
        client_record::get_client,
        client_record::get_timeline,
        client_record::put_profile,
        client_record::contact_attempt,
        client_record::get_messages,
        client_record::put_messages,
        teams::contacts_report,
        platform::create_agency,
        platform::list_agencies,
        platform::get_agency,
        platform::suspend_agency,
        platform::reactivate_agency,
        platform::set_features,
        webhooks::list_webhooks,
        webhooks::create_webhook,
        webhooks::update_webhook,
        webhooks::delete_webhook,
        webhooks::list_webhook_deliveries,
        webhooks::resend_webhook_delivery,
    )
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/openapi.json",
        get(|| async { Json(ApiDoc::openapi()) }),
    )
}

//! The demo agency a newcomer gets on an empty database, and the lines printed so they can
//! see a lead offered within a minute.

use crate::auth;
use crate::model::EveryoneRefused;
use crate::model::{BrokerId, Role};
use crate::settings::Settings;
use crate::store::{Property, RouletteSettings, Store};

/// An array, not a slice: `BROKERS[0]` and `BROKERS[1]` below are checked when it compiles.
pub const BROKERS: [(&str, &str); 2] = [
    ("ana@demo.roleta", "Ana Corretora"),
    ("bruno@demo.roleta", "Bruno Corretor"),
];

pub async fn seed(
    store: &Store,
    settings: &Settings,
    now_ms: i64,
    host: &str,
    port: u16,
) -> anyhow::Result<()> {
    let password = settings.demo.password.expose().to_string();
    let key = settings.demo.api_key.expose().to_string();
    if store.count_agencies().await? == 0 {
        let agency = store.create_agency("Imobiliária Demo", now_ms).await?;
        store
            .update_roulette_settings(
                agency,
                &RouletteSettings {
                    roulette_enabled: true,
                    answer_seconds: 30,
                    max_missed_in_row: 3,
                    everyone_refused: EveryoneRefused::Retry,
                    retry_pause_seconds: 30,
                    fallback_broker_id: None,
                    lead_number_template: "L-{year}-{seq:05}".into(),
                },
            )
            .await?;
        let sales = store
            .create_department(agency, "Vendas", true, now_ms)
            .await?;
        let rentals = store
            .create_department(agency, "Locação", false, now_ms)
            .await?;
        let hash = auth::hash_password(password.clone()).await?;
        store
            .create_user(
                agency,
                "gestor@demo.roleta",
                "Gestora Demo",
                Role::Manager,
                &hash,
                false,
                now_ms,
            )
            .await?;
        store
            .create_user(
                agency,
                "recepcao@demo.roleta",
                "Recepção Demo",
                Role::Receptionist,
                &hash,
                false,
                now_ms,
            )
            .await?;
        let mut brokers = Vec::new();
        for (email, name) in BROKERS {
            let id = store
                .create_user(agency, email, name, Role::Broker, &hash, false, now_ms)
                .await?;
            store
                .set_broker_departments(agency, BrokerId(id), &[sales, rentals])
                .await?;
            brokers.push(BrokerId(id));
        }
        // Active offer on, with one campaign the brokers take part in (clients are added from
        // the leads that arrive, on the Campanhas page).
        store
            .update_crm_settings(
                agency,
                &crate::store::CrmSettings {
                    active_offer_enabled: true,
                    quarantine_days: 10,
                },
            )
            .await?;
        let campaign = crate::store::CampaignDef {
            name: "Lançamento Vila Nova".into(),
            expires_at_ms: now_ms + 60 * 86_400_000,
            property_id: None,
            development: Some("Residencial Vila Nova".into()),
            description: Some("Ligue e convide para conhecer o decorado.".into()),
            brokers,
        };
        let manager = store.user_for_login("gestor@demo.roleta").await?.0.id;
        store
            .create_campaign(agency, &campaign, manager, now_ms)
            .await?;
        for (code, kind, purpose, price, hood, address, beds, parking) in [
            (
                "AP-101",
                "apartment",
                "sale",
                85_000_000,
                "Pinheiros",
                "Rua dos Pinheiros, 100",
                3,
                2,
            ),
            (
                "CA-202",
                "house",
                "rent",
                650_000,
                "Vila Madalena",
                "Rua Harmonia, 45",
                2,
                1,
            ),
        ] {
            let p = Property {
                id: 0,
                code: code.into(),
                kind: kind.into(),
                purpose: purpose.into(),
                price_cents: Some(price),
                neighbourhood: Some(hood.into()),
                address: Some(address.into()),
                bedrooms: Some(beds),
                parking_spaces: Some(parking),
                status: "available".into(),
                owner_client_id: None,
            };
            store.create_property(agency, &p, now_ms).await?;
        }
        let prefix: String = key.chars().take(10).collect();
        store
            .create_api_key(agency, "site", &prefix, &auth::token_hash(&key), now_ms)
            .await?;
    } else {
        if store.user_for_login(BROKERS[0].0).await.is_ok() {
            // The password and key were printed once, when the demo was created; a log that
            // is kept or shared must not carry them at every start.
            println!(
                "\n  Roleta demo agency \"Imobiliária Demo\" is here (turn off with --no-demo)\n"
            );
        }
        return Ok(()); // a real installation: say nothing about demo data
    }
    let base = format!("http://{host}:{port}");
    println!(
        "\n  Roleta demo agency \"Imobiliária Demo\" (turn off with --no-demo)\n\
         \n  brokers:      {b1} / {pw}   and   {b2} / {pw}\
         \n  manager:      gestor@demo.roleta / {pw}\
         \n  receptionist: recepcao@demo.roleta / {pw}\
         \n\n  1. sign a broker in:   curl -s {base}/api/v1/auth/login -H 'Content-Type: application/json' \\\
         \n                           -d '{{\"email\":\"{b1}\",\"password\":\"{pw}\"}}'\
         \n  2. open the socket:    ws://{host}:{port}/ws  with  Authorization: Bearer <token>, then send\
         \n                           {{\"type\":\"set_online\",\"online\":true}}\
         \n  3. post a demo lead:   curl -s {base}/api/v1/leads -H 'Authorization: Bearer {key}' \\\
         \n                           -H 'Content-Type: application/json' -H \"Idempotency-Key: $(date +%s%N)\" \\\
         \n                           -d '{{\"name\":\"Cliente Demo\",\"phone\":\"(11) 98765-4321\",\"property_code\":\"AP-101\",\"comment\":\"Quer visitar no sábado\"}}'\n",
        b1 = BROKERS[0].0,
        b2 = BROKERS[1].0,
        pw = password,
    );
    Ok(())
}

/// A generated agency for load and fault tests: one department, `brokers` brokers (online,
/// each with a personal token) and an API key. Written straight to the database — creating
/// thousands of users through the API would measure Argon2, not dispatch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BulkAgency {
    pub agency: i64,
    pub department: i64,
    pub api_key: String,
    pub brokers: Vec<i64>,
    pub tokens: Vec<String>,
}

pub async fn bulk_agency(
    store: &Store,
    name: &str,
    brokers: usize,
    answer_seconds: i64,
    roulette_on: bool,
    now: i64,
) -> anyhow::Result<BulkAgency> {
    let agency = store.create_agency(name, now).await?;
    let mut s = store.roulette_settings(agency).await?;
    s.answer_seconds = answer_seconds;
    s.roulette_enabled = roulette_on;
    s.max_missed_in_row = 0;
    store.update_roulette_settings(agency, &s).await?;
    let dept = store.create_department(agency, "Vendas", true, now).await?;
    let hash = auth::hash_password("bench-password".into()).await?;
    let api_key = auth::new_token("rk_");
    store
        .create_api_key(
            agency,
            "bulk",
            &api_key[..10],
            &auth::token_hash(&api_key),
            now,
        )
        .await?;
    let mut ids = Vec::with_capacity(brokers);
    let mut tokens = Vec::with_capacity(brokers);
    let mut tx = store.begin_write().await?;
    for i in 0..brokers {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (agency_id, email, name, role, password_hash, online, created_at_ms) \
             VALUES ($1, $2, $3, 'broker', $4, 1, $5) RETURNING id",
        )
        .bind(agency)
        .bind(format!("b{i}.{agency}@bulk.roleta"))
        .bind(format!("Corretor {i}"))
        .bind(&hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO broker_departments (agency_id, broker_id, department_id) VALUES ($1, $2, $3)")
            .bind(agency)
            .bind(id)
            .bind(dept)
            .execute(&mut *tx)
            .await?;
        let token = auth::new_token("rs_");
        sqlx::query(
            "INSERT INTO sessions (agency_id, user_id, token_hash, kind, created_at_ms) VALUES ($1, $2, $3, 'personal', $4)",
        )
        .bind(agency)
        .bind(id)
        .bind(auth::token_hash(&token))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        ids.push(id);
        tokens.push(token);
    }
    tx.commit().await?;
    Ok(BulkAgency {
        agency: agency.0,
        department: dept,
        api_key,
        brokers: ids,
        tokens,
    })
}

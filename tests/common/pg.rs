//! A fresh PostgreSQL database for one test (the api and cluster test binaries share this).

/// Creates `<prefix><random>` on the test server and returns its URL.
pub async fn create_database(prefix: &str) -> String {
    let base = std::env::var("ROLETA_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!(
        "{prefix}{}",
        roleta::auth::new_token("").get(..16).expect("token")
    );
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{base}/postgres"))
        .await
        .expect("PostgreSQL must run on 127.0.0.1:5432 (scripts/test starts it)");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    format!("{base}/{name}")
}

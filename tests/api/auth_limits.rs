//! Finding 2: sign-in throttles per client address and per account, the lockout after wrong
//! passwords, the bound on concurrent Argon2 work, and the flood guard for unknown tokens and
//! API keys. Each app trusts 127.0.0.1 as a proxy, so `X-Forwarded-For` picks the client.

use crate::both_with;
use crate::helpers::*;
use roleta::model::Role;
use roleta::Settings;
use serde_json::{json, Value};
use std::time::Duration;

fn behind_proxy(s: &mut Settings) {
    s.server.trusted_proxies = vec!["127.0.0.1".into()];
}

/// A user of the test agency and their e-mail (their password is `PASSWORD`).
async fn account(app: &TestApp, name: &str) -> (i64, String) {
    let (id, _) = app.user(name, Role::Broker).await;
    let email = app.state.store.user(app.agency, id).await.unwrap().email;
    (id, email)
}

async fn login_from(app: &TestApp, from: &str, email: &str, password: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", from)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn retry_after_and_message(r: reqwest::Response) -> (u64, String) {
    let secs = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let body: Value = r.json().await.unwrap();
    (secs, body["error"]["message"].as_str().unwrap().to_string())
}

both_with!(
    wrong_passwords_lock_the_account_for_a_while_and_others_still_sign_in,
    |s: &mut Settings| {
        behind_proxy(s);
        s.auth.lockout_failures = 3;
        s.auth.lockout_seconds = 1;
    },
    |app| async move {
        let (_, ana) = account(app, "ana").await;
        let (_, bruno) = account(app, "bruno").await;
        let attacker = "203.0.113.9";
        for _ in 0..2 {
            let r = login_from(app, attacker, &ana, "errada-123").await;
            assert_eq!(r.status(), 401);
        }
        // The third wrong password locks the account: 429, Retry-After, a pt-BR message.
        let r = login_from(app, attacker, &ana, "errada-123").await;
        assert_eq!(r.status(), 429);
        let (secs, message) = retry_after_and_message(r).await;
        assert!((1..=60).contains(&secs), "{secs}");
        assert_eq!(
            message,
            "Muitas tentativas de acesso. Tente novamente em 1 minuto."
        );
        // Locked: even the right password waits, from any address.
        let r = login_from(app, "198.51.100.4", &ana, PASSWORD).await;
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        // Another account from another address is not touched.
        let r = login_from(app, "198.51.100.5", &bruno, PASSWORD).await;
        assert_eq!(r.status(), 200);
        // The configured lock is one second: after it the right password signs in, and that
        // forgets the failures (two more wrong ones do not lock again).
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let r = login_from(app, "198.51.100.4", &ana, PASSWORD).await;
        assert_eq!(r.status(), 200);
        for _ in 0..2 {
            let r = login_from(app, attacker, &ana, "errada-123").await;
            assert_eq!(r.status(), 401);
        }
        let r = login_from(app, "198.51.100.4", &ana, PASSWORD).await;
        assert_eq!(r.status(), 200);
    }
);

both_with!(
    one_address_trying_many_accounts_is_throttled_and_others_are_not,
    |s: &mut Settings| {
        behind_proxy(s);
        s.auth.login_per_address_burst = 3;
        s.auth.login_per_address_period_ms = 60_000;
    },
    |app| async move {
        let (_, carla) = account(app, "carla").await;
        let spray = "203.0.113.20";
        for n in 0..3 {
            let r = login_from(app, spray, &format!("x{n}@nada.roleta"), "errada-123").await;
            assert_eq!(r.status(), 401);
        }
        let r = login_from(app, spray, &carla, PASSWORD).await;
        assert_eq!(r.status(), 429);
        let (secs, message) = retry_after_and_message(r).await;
        assert!((1..=60).contains(&secs), "{secs}");
        assert!(
            message.starts_with("Muitas tentativas de acesso."),
            "{message}"
        );
        // X-Forwarded-For names the client only through a trusted proxy: another client
        // behind it is not throttled.
        let r = login_from(app, "203.0.113.21", &carla, PASSWORD).await;
        assert_eq!(r.status(), 200);
    }
);

both_with!(
    a_burst_of_logins_never_runs_more_password_checks_than_permits,
    |s: &mut Settings| {
        s.auth.argon2_permits = 2;
        s.auth.argon2_wait_ms = 50;
        s.auth.login_per_address_burst = 1000;
        s.auth.login_per_account_burst = 1000;
    },
    |app| async move {
        let (_, dora) = account(app, "dora").await;
        let logins = (0..64).map(|_| {
            let http = app.http.clone();
            let url = format!("{}/api/v1/auth/login", app.base);
            let body = json!({"email": dora, "password": PASSWORD});
            tokio::spawn(async move { http.post(url).json(&body).send().await.unwrap() })
        });
        let mut ok = 0;
        for r in futures_util::future::join_all(logins).await {
            let r = r.unwrap();
            match r.status().as_u16() {
                200 => ok += 1,
                503 => assert!(r.headers().contains_key("retry-after")),
                other => panic!("unexpected {other}: {:?}", r.text().await),
            }
        }
        assert!(ok >= 1, "some logins get through");
        let peak = app.state.passwords.peak();
        assert!(
            (1..=2).contains(&peak),
            "peak {peak} password checks at once"
        );
    }
);

both_with!(
    a_flood_of_unknown_tokens_and_keys_is_refused_without_slowing_valid_ones,
    |s: &mut Settings| {
        behind_proxy(s);
        s.auth.token_failures_burst = 5;
        s.auth.token_failures_period_ms = 60_000;
    },
    |app| async move {
        let get_me = |from: &'static str, token: String| {
            app.http
                .get(format!("{}/api/v1/me", app.base))
                .header("x-forwarded-for", from)
                .bearer_auth(token)
                .send()
        };
        let known = app.broker("Eva", &[app.sales]).await;
        let fresh = app.broker("Fabio", &[app.sales]).await;
        let flood = "203.0.113.30";
        assert_eq!(
            get_me(flood, known.token.clone()).await.unwrap().status(),
            200
        );
        let mut statuses = vec![];
        for _ in 0..8 {
            let guess = roleta::auth::new_token("rs_");
            statuses.push(get_me(flood, guess).await.unwrap().status().as_u16());
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
        let r = get_me(flood, roleta::auth::new_token("rs_")).await.unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        // A token that worked from there keeps working; others' failures never slow a
        // valid token from another address.
        assert_eq!(
            get_me(flood, known.token.clone()).await.unwrap().status(),
            200
        );
        let other = "198.51.100.30";
        assert_eq!(
            get_me(other, fresh.token.clone()).await.unwrap().status(),
            200
        );

        // The same for lead sources guessing API keys.
        let post_lead = |from: &'static str, key: String| {
            app.http
                .post(format!("{}/api/v1/leads", app.base))
                .header("x-forwarded-for", from)
                .bearer_auth(key)
                .json(&json!({"name": "Lead", "phone": "+55 11 91234-5678"}))
                .send()
        };
        let keys = "203.0.113.31";
        let mut statuses = vec![];
        for _ in 0..6 {
            let guess = roleta::auth::new_token("rk_");
            statuses.push(post_lead(keys, guess).await.unwrap().status().as_u16());
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
        let r = post_lead("198.51.100.31", app.api_key.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
);

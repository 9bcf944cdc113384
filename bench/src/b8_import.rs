//! B8, the CSV import and export at scale against a running server: posts a generated client
//! file of `--rows` rows (streamed as it is generated; one row in 50 with a bad phone, one in
//! 50 repeating the row before), confirms it, then downloads the clients export; times each and
//! reads the server's peak resident memory (VmHWM in /proc/<pid>/status) after each, to show it
//! stays flat whatever the file's size. Signs in as the demo manager.
//! `bench-b8 --server http://127.0.0.1:18990 --pid 1234 [--rows 100000]`

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

/// The server's peak resident set so far, in MiB.
fn peak_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Rows `from..to` of the file.
fn rows(from: usize, to: usize) -> Vec<u8> {
    let mut out = String::with_capacity((to - from) * 80);
    for i in from..to {
        let phone = match i % 50 {
            7 => "12-34".to_string(),
            21 => format!("(11) 9{:04}-{:04}", (i - 1) / 10_000, (i - 1) % 10_000),
            _ => format!("(11) 9{:04}-{:04}", i / 10_000, i % 10_000),
        };
        out.push_str(&format!(
            "Cliente {i};{phone};cliente{i}@exemplo.com.br;;Vendas;importado pelo B8\n"
        ));
    }
    out.into_bytes()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = arg("--server").unwrap_or_else(|| "http://127.0.0.1:18990".into());
    let pid = arg("--pid").expect("--pid of the server");
    let n: usize = arg("--rows")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{server}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "gestor@demo.roleta", "password": "demo1234"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"].as_str().expect("a token").to_string();
    let start_mib = peak_mib(&pid);

    let header = futures_util::stream::once(async {
        Ok::<_, std::io::Error>(b"nome;telefone;email;corretor;departamento;observacoes\n".to_vec())
    });
    let body = futures_util::stream::iter(
        (0..n.div_ceil(1000))
            .map(move |c| Ok::<_, std::io::Error>(rows(c * 1000, ((c + 1) * 1000).min(n)))),
    );
    use futures_util::StreamExt;
    let t = Instant::now();
    let preview: serde_json::Value = http
        .post(format!("{server}/api/v1/imports/clients"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(reqwest::Body::wrap_stream(header.chain(body)))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let upload_s = t.elapsed().as_secs_f64();
    let upload_mib = peak_mib(&pid);

    let id = preview["id"].as_i64().expect("an import id");
    let t = Instant::now();
    let done: serde_json::Value = http
        .post(format!("{server}/api/v1/imports/{id}/confirm"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let confirm_s = t.elapsed().as_secs_f64();
    let confirm_mib = peak_mib(&pid);

    let t = Instant::now();
    let mut export = http
        .get(format!("{server}/api/v1/exports/clients.csv"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    let mut bytes = 0usize;
    while let Some(chunk) = export.chunk().await? {
        bytes += chunk.len();
    }
    let export_s = t.elapsed().as_secs_f64();
    let export_mib = peak_mib(&pid);

    println!(
        "B8 {n} rows: preview valid={} invalid={} duplicates={} in {upload_s:.1} s ({:.0} rows/s); \
         confirm created={} in {confirm_s:.1} s; export {:.1} MB in {export_s:.1} s; \
         server peak RSS MiB: started {start_mib:.1}, after upload {upload_mib:.1}, after confirm {confirm_mib:.1}, after export {export_mib:.1}",
        preview["valid"],
        preview["invalid"],
        preview["duplicates"],
        n as f64 / upload_s,
        done["created"],
        bytes as f64 / 1e6,
    );
    Ok(())
}

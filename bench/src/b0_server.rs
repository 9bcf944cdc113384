//! B0, the physical limit: the least a WebSocket push server can do on this machine. A broker-like
//! client holds `GET /ws/{id}`; `POST /publish/{id}` hands the body to that one socket. Same
//! tokio, axum and tungstenite as Roleta, same 8 KiB buffers, no database, no JSON, no auth.
//! `bench-b0 --port 18991`. Loopback only.

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use dashmap::DashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

type Sockets = Arc<DashMap<u64, mpsc::Sender<Bytes>>>;

async fn subscribe(
    Path(id): Path<u64>,
    State(s): State<Sockets>,
    ws: WebSocketUpgrade,
) -> axum::response::Response {
    ws.read_buffer_size(8192)
        .write_buffer_size(8192)
        .on_upgrade(move |socket| hold(id, s, socket))
}

async fn hold(id: u64, sockets: Sockets, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::channel(64);
    sockets.insert(id, tx);
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Some(b) => if socket.send(Message::Binary(b)).await.is_err() { break },
                None => break,
            },
            r = socket.recv() => if !matches!(r, Some(Ok(_))) { break },
        }
    }
    sockets.remove(&id);
}

async fn publish(Path(id): Path<u64>, State(s): State<Sockets>, body: Bytes) -> StatusCode {
    match s.get(&id).map(|tx| tx.try_send(body)) {
        Some(Ok(())) => StatusCode::ACCEPTED,
        Some(Err(_)) => StatusCode::SERVICE_UNAVAILABLE,
        None => StatusCode::NOT_FOUND,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args()
        .skip_while(|a| a != "--port")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18991);
    let sockets: Sockets = Arc::new(DashMap::new());
    let app = Router::new()
        .route("/ws/{id}", get(subscribe))
        .route("/publish/{id}", post(publish))
        .with_state(sockets);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

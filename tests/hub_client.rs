//! `HubClient`'s error sorting against misbehaving servers on loopback: a hub that never
//! answers, one that fails with 5xx, a proxy page instead of JSON.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use sportello::sync::{ClientError, HubClient, HubClientConfig};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn client(url: &str) -> HubClient {
    let mut config = HubClientConfig::new(url);
    config.timeout = Duration::from_millis(500);
    config.token = Some("t".into());
    HubClient::new(config).unwrap()
}

#[tokio::test]
async fn a_hub_that_never_answers_is_a_timeout_to_retry() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept connections and hold them without ever answering.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = std::time::Instant::now();
    let err = client(&format!("http://{addr}"))
        .queues()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unreachable(_)), "{err:?}");
    assert!(err.retry_later());
    assert!(started.elapsed() < Duration::from_secs(5));
    holder.abort();
}

#[tokio::test]
async fn server_errors_are_retried_rejections_are_not() {
    let app = Router::new()
        .route(
            "/api/v1/queues",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "maintenance") }),
        )
        .route(
            "/api/v1/bands",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/api/v1/catalogue",
            get(|| async { (StatusCode::OK, "<html>captive portal</html>") }),
        );
    let url = serve(app).await;
    let c = client(&url);
    let err = c.queues().await.unwrap_err();
    assert_eq!(
        err,
        ClientError::Server {
            status: 503,
            message: "maintenance".into()
        }
    );
    assert!(err.retry_later());
    let err = c
        .lease_bands(&sportello::protocol::BandsRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Server { status: 500, .. }));
    let err = c.catalogue(None).await.unwrap_err();
    assert!(matches!(err, ClientError::BadResponse(_)), "{err:?}");
    // An unknown path on a non-hub server: a rejection with the status as code.
    let err = c.ticket_status(uuid::Uuid::new_v4()).await.unwrap_err();
    match err {
        ClientError::Rejected { status, code, .. } => {
            assert_eq!((status, code.as_str()), (404, "http_404"))
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

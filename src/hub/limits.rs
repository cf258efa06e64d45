//! Bounds on what one anonymous client can hold: how long a request body may take to
//! arrive, and how many display streams may be open (security finding 4). Headers have
//! their own deadline in the server (`client_header_seconds`), HTTP/2 is not served.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::{ApiError, body_too_large};
use super::state::AppState;
use super::{MAX_BODY_BYTES, MAX_ENROLL_BODY_BYTES};

/// Display streams (`/display/events`) open at once: an office has a few screens.
pub const DISPLAY_STREAMS: usize = 32;

/// Streams of the display board, counted.
#[derive(Debug)]
pub struct DisplayStreams(Arc<Semaphore>);

impl Default for DisplayStreams {
    fn default() -> Self {
        DisplayStreams(Arc::new(Semaphore::new(DISPLAY_STREAMS)))
    }
}

impl DisplayStreams {
    /// A place for one more stream, held as long as the stream lives; 503 when full.
    pub fn open(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.0.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_displays",
                format!("{DISPLAY_STREAMS} display screens are connected already"),
            )
        })
    }
}

/// Middleware: the whole request body must arrive within `client_header_seconds` of
/// the handler being reached (a body trickled a byte at a time held a connection and a
/// task forever), and is read at most [`MAX_BODY_BYTES`] at a time
/// ([`MAX_ENROLL_BODY_BYTES`] for an enrolment).
pub async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = if req.uri().path() == crate::protocol::paths::ENROLL {
        MAX_ENROLL_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return body_too_large().into_response();
    }
    let deadline = Duration::from_secs(u64::from(state.config.client_header_seconds));
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => body_too_large().into_response(),
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_too_slow",
            "the request body did not arrive in time",
        )
        .into_response(),
    }
}

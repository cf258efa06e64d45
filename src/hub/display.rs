//! The waiting-room board's data: recent calls as JSON and live as server-sent events
//! (their voice is `call_audio`'s).
//!
//! Written for both engines (`hub::sql`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::Stream;

use super::error::ApiError;
use super::events::CallEvent;
use super::sql::{Sql, SqlError, args};
use super::state::AppState;
use crate::lang::Lang;

/// How many recent calls the board lists.
pub const RECENT_CALLS: usize = 6;

/// What a board needs on connecting: office name, recent calls (newest first), and
/// whether to say new calls aloud (from `/display/calls/{number}.wav`).
#[derive(Debug, Serialize)]
pub struct DisplayState {
    office_name: String,
    time_zone: String,
    calls: Vec<CallEvent>,
    speak_calls: bool,
    call_languages: Vec<Lang>,
}

async fn snapshot(state: &AppState) -> Result<DisplayState, ApiError> {
    let day = state.today();
    let calls = state
        .db
        .read(move |conn| {
            let rows = Sql::from(&*conn)
                .query_all(
                    "SELECT number, counter, called_at FROM tickets
                     WHERE day = ?1 AND called_at IS NOT NULL AND counter IS NOT NULL
                     ORDER BY called_at DESC LIMIT ?2",
                    args![day.to_string(), RECENT_CALLS],
                )?
                .into_iter()
                .map(|r| {
                    let at: i64 = r.get(2)?;
                    Ok(CallEvent {
                        number: r.get(0)?,
                        counter: r.get(1)?,
                        recall: false,
                        at: chrono::DateTime::from_timestamp_millis(at).unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, SqlError>>()?;
            Ok(rows)
        })
        .await?;
    Ok(DisplayState {
        office_name: state.config.office_name.clone(),
        time_zone: state.config.time_zone.clone(),
        calls,
        speak_calls: state.config.display.speak_calls,
        call_languages: state.config.display.call_languages.clone(),
    })
}

/// `GET /display/state`.
pub async fn display_state(State(state): State<AppState>) -> Result<Json<DisplayState>, ApiError> {
    Ok(Json(snapshot(&state).await?))
}

fn json_event(name: &str, value: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(value).unwrap_or_default())
}

/// `GET /display/events`: a `snapshot` event, then one `call` event per call.
pub async fn display_events(
    State(state): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let place = state.display_streams.open()?;
    let mut rx = state.events.subscribe();
    let first = snapshot(&state).await?;
    let stream = async_stream(move |yielder| async move {
        // Held while the stream lives: dropped when the screen goes away.
        let _place = place;
        yielder.send(json_event("snapshot", &first)).await;
        loop {
            match rx.recv().await {
                Ok(call) => yielder.send(json_event("call", &call)).await,
                Err(RecvError::Lagged(_)) => {
                    if let Ok(snap) = snapshot(&state).await {
                        yielder.send(json_event("snapshot", &snap)).await;
                    }
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Sends events from a task into a stream (a small stand-in for an `async-stream` macro).
struct Yielder(tokio::sync::mpsc::Sender<Event>);

impl Yielder {
    async fn send(&self, event: Event) {
        let _ = self.0.send(event).await;
    }
}

fn async_stream<F, Fut>(body: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(Yielder) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let closed = tx.clone();
    let task = tokio::spawn(body(Yielder(tx)));
    // Stop the producer when the board disconnects (the receiver is dropped).
    tokio::spawn(async move {
        closed.closed().await;
        task.abort();
    });
    tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}

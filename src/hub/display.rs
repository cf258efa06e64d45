//! The waiting-room board's data: recent calls as JSON and live as server-sent events
//! (their voice is `call_audio`'s).
//!
//! Written for both engines (`hub::sql`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::Stream;

use super::error::ApiError;
use super::events::CallEvent;
use super::offices::Office;
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
    calls: Vec<BoardCall>,
    speak_calls: bool,
    call_languages: Vec<Lang>,
}

/// `?office=CODE` on the board's addresses: which office's calls it shows.
#[derive(Debug, Default, Deserialize)]
pub struct OfficeQuery {
    /// The office's code; the configured office when absent.
    pub office: Option<String>,
}

/// A call as a board receives it: what it shows, nothing else (the office it was made
/// in stays on the hub's side).
#[derive(Debug, Serialize)]
struct BoardCall {
    number: String,
    counter: String,
    recall: bool,
    at: chrono::DateTime<chrono::Utc>,
}

impl From<CallEvent> for BoardCall {
    fn from(call: CallEvent) -> BoardCall {
        BoardCall {
            number: call.number,
            counter: call.counter,
            recall: call.recall,
            at: call.at,
        }
    }
}

async fn snapshot(state: &AppState, office: &Office) -> Result<DisplayState, ApiError> {
    let day = office.day_at(state.now());
    let calls = state
        .db
        .read(move |conn| {
            let rows = Sql::from(&*conn)
                .query_all(
                    "SELECT number, counter, called_at FROM tickets
                     WHERE office_id = ?3 AND day = ?1 AND called_at IS NOT NULL
                       AND counter IS NOT NULL
                     ORDER BY called_at DESC LIMIT ?2",
                    args![day.text(), RECENT_CALLS, day.office],
                )?
                .into_iter()
                .map(|r| {
                    let at: i64 = r.get(2)?;
                    Ok(BoardCall {
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
        office_name: office.name.clone(),
        time_zone: office.time_zone.clone(),
        calls,
        speak_calls: state.config.display.speak_calls,
        call_languages: state.config.display.call_languages.clone(),
    })
}

/// `GET /display/state`.
pub async fn display_state(
    State(state): State<AppState>,
    Query(query): Query<OfficeQuery>,
) -> Result<Json<DisplayState>, ApiError> {
    let office = state.office_named(query.office.as_deref()).await?;
    Ok(Json(snapshot(&state, &office).await?))
}

fn json_event(name: &str, value: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(value).unwrap_or_default())
}

/// `GET /display/events`: a `snapshot` event, then one `call` event per call.
pub async fn display_events(
    State(state): State<AppState>,
    Query(query): Query<OfficeQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let office = state.office_named(query.office.as_deref()).await?;
    let place = state.display_streams.open()?;
    let mut rx = state.events.subscribe();
    let first = snapshot(&state, &office).await?;
    let stream = async_stream(move |yielder| async move {
        // Held while the stream lives: dropped when the screen goes away.
        let _place = place;
        yielder.send(json_event("snapshot", &first)).await;
        loop {
            match rx.recv().await {
                Ok(call) if call.office == office.id => {
                    let call = BoardCall::from(call);
                    yielder.send(json_event("call", &call)).await
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    if let Ok(snap) = snapshot(&state, &office).await {
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

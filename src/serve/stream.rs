//! The event stream of a job (`GET /api/{kind}/{id}/events`), as
//! Server-Sent Events.
//!
//! Guarantees:
//! - every event carries `id: N`, its 1-based place in the job's event log
//!   ([`super::jobs::Job::events_since`]), so ids of one job are 1, 2, 3, …
//!   without gaps;
//! - a request with `Last-Event-ID: N` (what a browser's `EventSource` sends
//!   when it reconnects) gets the events after N and nothing before: no
//!   event twice, none missing. The log of a job is kept whole while the job
//!   is in the server's table, so every id the stream has sent can be
//!   resumed from;
//! - a `Last-Event-ID` that is not an id of this job's log (not a number, or
//!   beyond its last event: the job number belongs to an earlier server
//!   lifetime) gets a `{"type":"reset"}` event (without an id) and then the
//!   whole log from id 1; the page clears its charts on `reset`;
//! - a `: keep-alive` comment after every `keep_alive` without an event, so
//!   proxies do not cut idle streams;
//! - `retry: 1000` first, so a browser reconnects after 1 s;
//! - the stream ends after the job's `done` event.

use super::jobs::Job;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use std::time::Duration;

/// How a stream starts: after which event.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Resume {
    /// From event `n + 1` (0: from the start).
    After(usize),
    /// The client's id is not one of this log's: `reset`, then everything.
    Reset,
}

/// Where to resume, given the `Last-Event-ID` header (if any) and the
/// number of events the job has logged so far.
pub fn resume_point(last_event_id: Option<&str>, logged: usize) -> Resume {
    match last_event_id.map(str::trim) {
        None | Some("") => Resume::After(0),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n <= logged => Resume::After(n),
            _ => Resume::Reset,
        },
    }
}

/// Events `first_id`, `first_id + 1`, … as SSE text.
pub fn format_events(first_id: usize, events: &[Arc<str>]) -> String {
    let mut body = String::new();
    for (i, e) in events.iter().enumerate() {
        body.push_str(&format!("id: {}\ndata: {e}\n\n", first_id + i));
    }
    body
}

struct Follow {
    job: Arc<Job>,
    rx: tokio::sync::watch::Receiver<u64>,
    /// Events sent (or skipped by the resume point).
    cursor: usize,
    /// Text to send before the events: `retry`, maybe `reset`.
    prelude: Option<String>,
    keep_alive: Duration,
    ended: bool,
}

/// The SSE response of `job` for `req` (which may carry `Last-Event-ID`).
pub fn respond(req: &HttpRequest, job: Arc<Job>, keep_alive: Duration) -> HttpResponse {
    let rx = job.subscribe();
    let last = req.headers().get("last-event-id").map(|v| v.to_str().unwrap_or("?"));
    let logged = job.logged();
    let mut prelude = String::from("retry: 1000\n\n");
    let cursor = match resume_point(last, logged) {
        Resume::After(n) => n,
        Resume::Reset => {
            prelude.push_str("data: {\"type\":\"reset\"}\n\n");
            0
        }
    };
    let start = Follow {
        job,
        rx,
        cursor,
        prelude: Some(prelude),
        keep_alive,
        ended: false,
    };
    let stream = futures_util::stream::unfold(start, |mut s| async move {
        if let Some(p) = s.prelude.take() {
            return Some((Ok::<_, actix_web::Error>(web::Bytes::from(p)), s));
        }
        if s.ended {
            return None;
        }
        loop {
            s.rx.borrow_and_update();
            let (events, finished) = s.job.events_since(s.cursor);
            if !events.is_empty() {
                let body = format_events(s.cursor + 1, &events);
                s.cursor += events.len();
                // After the last events of a finished job, end the stream.
                s.ended = finished;
                return Some((Ok(web::Bytes::from(body)), s));
            }
            if finished {
                return None;
            }
            match actix_web::rt::time::timeout(s.keep_alive, s.rx.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return None, // the job is gone
                Err(_) => return Some((Ok(web::Bytes::from_static(b": keep-alive\n\n")), s)),
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_points() {
        assert_eq!(resume_point(None, 5), Resume::After(0));
        assert_eq!(resume_point(Some(""), 5), Resume::After(0));
        assert_eq!(resume_point(Some("0"), 5), Resume::After(0));
        assert_eq!(resume_point(Some(" 3 "), 5), Resume::After(3));
        assert_eq!(resume_point(Some("5"), 5), Resume::After(5));
        assert_eq!(resume_point(Some("6"), 5), Resume::Reset);
        assert_eq!(resume_point(Some("-1"), 5), Resume::Reset);
        assert_eq!(resume_point(Some("abc"), 5), Resume::Reset);
    }

    #[test]
    fn every_event_has_its_id() {
        let ev: Vec<Arc<str>> = vec![Arc::from("{\"a\":1}"), Arc::from("{\"b\":2}")];
        assert_eq!(
            format_events(4, &ev),
            "id: 4\ndata: {\"a\":1}\n\nid: 5\ndata: {\"b\":2}\n\n"
        );
    }
}

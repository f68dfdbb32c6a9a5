//! A TCP proxy for the browser test of `tenantsim serve` that breaks event
//! streams on purpose. It relays every byte between the browser and the
//! server; for the successive event-stream requests (`GET …/events`) it
//! follows a plan, one entry per request: cut the connection in the middle
//! of the Nth event (the browser gets N-1 whole events and a torn one), and
//! drop the request's `Last-Event-ID` header (so the server replays from the
//! start and the page must ignore what it already has). It records the
//! `Last-Event-ID` each stream request carried.
//!
//! Plain threads and blocking sockets; HTTP/1.1 requests are read head by
//! head (with their `Content-Length` bodies), so kept-alive connections
//! carrying several requests work.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What to do with one event-stream request.
#[derive(Clone, Debug, Default)]
pub struct StreamPlan {
    /// Forward the request without its `Last-Event-ID`.
    pub strip_last_event_id: bool,
    /// Close the connection in the middle of this (1-based) event of the response.
    pub cut_in_event: Option<usize>,
}

/// What one event-stream request looked like and what became of it.
#[derive(Clone, Debug, Default)]
pub struct StreamSeen {
    pub last_event_id: Option<String>,
    pub cut: bool,
}

#[derive(Default)]
struct Shared {
    plans: Mutex<VecDeque<StreamPlan>>,
    seen: Mutex<Vec<StreamSeen>>,
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listen on a free loopback port and relay to `upstream`.
    pub fn start(upstream: u16, plans: Vec<StreamPlan>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            plans: Mutex::new(plans.into()),
            seen: Mutex::default(),
        });
        let sh = shared.clone();
        // Accepts until the test process ends.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let sh = sh.clone();
                std::thread::spawn(move || relay(client, upstream, &sh));
            }
        });
        Proxy { port, shared }
    }

    /// The event-stream requests so far.
    pub fn seen(&self) -> Vec<StreamSeen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

/// Where events begin in an SSE response: just after a newline, `id: `.
fn event_starts(bytes: &[u8]) -> Vec<usize> {
    (1..bytes.len())
        .filter(|&p| bytes[p - 1] == b'\n' && bytes[p..].starts_with(b"id: "))
        .collect()
}

/// The current request of a connection, when it is an event stream: its
/// entry in `seen` and where to cut.
type StreamMode = Arc<Mutex<Option<(usize, Option<usize>)>>>;

fn relay(client: TcpStream, upstream: u16, sh: &Arc<Shared>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let mode: StreamMode = Arc::default();
    let down = {
        let (mut from, mut to) = (server.try_clone().unwrap(), client.try_clone().unwrap());
        let (mode, sh) = (mode.clone(), sh.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut stream_bytes = Vec::new();
            while let Ok(n @ 1..) = from.read(&mut buf) {
                let current = *mode.lock().unwrap();
                let mut chunk = &buf[..n];
                let mut cut = false;
                if let Some((entry, Some(k))) = current {
                    let before = stream_bytes.len();
                    stream_bytes.extend_from_slice(chunk);
                    if let Some(&start) = event_starts(&stream_bytes).get(k - 1) {
                        // Into the event's data line, or as far as we have.
                        let at = (start + 16).min(stream_bytes.len()).max(before);
                        chunk = &buf[..at - before];
                        cut = true;
                        sh.seen.lock().unwrap()[entry].cut = true;
                    }
                } else {
                    stream_bytes.clear();
                }
                if to.write_all(chunk).is_err() || cut {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        })
    };
    let mut reader = BufReader::new(client);
    let mut to_server = server;
    'requests: loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break 'requests,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => head.push(line),
            }
        }
        let Some(first) = head.first() else { continue };
        let header = |name: &str| {
            head.iter().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        if first.starts_with("GET ") && first.split_whitespace().nth(1).is_some_and(|p| p.ends_with("/events")) {
            let plan = sh.plans.lock().unwrap().pop_front().unwrap_or_default();
            let mut seen = sh.seen.lock().unwrap();
            seen.push(StreamSeen {
                last_event_id: header("last-event-id"),
                cut: false,
            });
            *mode.lock().unwrap() = Some((seen.len() - 1, plan.cut_in_event));
            if plan.strip_last_event_id {
                head.retain(|l| !l.to_ascii_lowercase().starts_with("last-event-id:"));
            }
        } else {
            *mode.lock().unwrap() = None;
        }
        let mut out = head.concat().into_bytes();
        out.extend_from_slice(b"\r\n");
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            break;
        }
        out.extend_from_slice(&body);
        if to_server.write_all(&out).is_err() {
            break;
        }
    }
    let _ = to_server.shutdown(Shutdown::Both);
    let _ = down.join();
}

#[test]
fn events_are_found_after_newlines_only() {
    let text = b"HTTP/1.1 200 OK\r\n\r\n1a\r\nretry: 1000\n\nid: 1\ndata: {\"id: 9\"}\n\nid: 2\ndata: x\n\n";
    let starts = event_starts(text);
    assert_eq!(starts.len(), 2);
    assert!(text[starts[1]..].starts_with(b"id: 2"));
}

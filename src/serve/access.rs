//! Who may talk to `tenantsim serve`: the Host allowlist (DNS-rebinding
//! defence), the Origin check on state-changing requests (cross-site
//! request defence) and the access token (as Jupyter's), applied to every
//! route by one middleware ([`guard`]) before any handler runs.
//!
//! The order of the checks and what each answers:
//! 1. **Host** (every request, including the page, its assets and the event
//!    stream): the raw `Host` header's name must be a loopback name
//!    (`localhost`, `127.0.0.1`, `[::1]`), the address the server is bound to,
//!    or a name given with `--allow-host`; else 403. The port is not
//!    compared: a page that rebinds its DNS name to 127.0.0.1 still sends its
//!    own name, while an SSH tunnel or a local proxy on another port sends a
//!    loopback name with its own port. Forwarding headers
//!    (`X-Forwarded-Host`, `Forwarded`) are never read: a rebound page can set
//!    them.
//! 2. **Origin** (POST, PUT, PATCH, DELETE): an `Origin` header must be the
//!    request's own `http://HOST` (or `https://HOST`, behind a TLS proxy that
//!    keeps the Host); any other value, `null` included, is 403. A request without `Origin` (curl, scripts; browsers
//!    always send it on these methods) is allowed only when it carries the
//!    token itself (header or query), not just the page's cookie.
//! 3. **Token** (everything but the static assets `/app.js` and
//!    `/style.css`, which hold no data): `Authorization: Bearer T`,
//!    `X-Tenantsim-Token: T`, `?token=T`, or the cookie set when the page is
//!    opened with `?token=T` (HttpOnly, SameSite=Strict, named after the port
//!    so two servers on one machine do not overwrite each other's); else 401.
//!    Tokens are compared in constant time.
//!
//! Invariant: no handler sees a request that failed a check, and no check
//! depends on anything a web page can set (Host and Origin are forbidden
//! header names for scripts; SameSite=Strict keeps the cookie off cross-site
//! requests).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde_json::json;
use std::net::SocketAddr;

/// Shortest token accepted from `--token` (the generated ones are 48 hex digits).
pub const MIN_TOKEN_LEN: usize = 16;

/// The access policy of one server.
#[derive(Clone, Debug)]
pub struct Access {
    /// Host names (lowercase, IPv6 in brackets) answered besides loopback.
    hosts: Vec<String>,
    /// `None`: no token required (`--no-token`, loopback only).
    token: Option<String>,
    /// Name of the cookie holding the token.
    cookie: String,
}

/// Why `--token` was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("the token is {0} characters long: use at least {MIN_TOKEN_LEN}")]
    TooShort(usize),
    #[error("the token may only hold letters, digits, `-`, `.`, `_` and `~` (it goes into a URL and a cookie)")]
    BadCharacter,
}

/// Check a user-chosen token.
pub fn check_token(t: &str) -> Result<(), TokenError> {
    if !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
        return Err(TokenError::BadCharacter);
    }
    if t.len() < MIN_TOKEN_LEN {
        return Err(TokenError::TooShort(t.len()));
    }
    Ok(())
}

/// A fresh token: 24 bytes from the operating system's random source, as
/// 48 hex digits.
pub fn generate_token() -> std::io::Result<String> {
    use rand::TryRng;
    let mut bytes = [0u8; 24];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| std::io::Error::other(format!("the OS random source: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Access {
    /// The policy of a server bound to `bind`, also answering to the names
    /// of `extra_hosts`, requiring `token` when given.
    pub fn new(bind: SocketAddr, extra_hosts: &[String], token: Option<String>) -> Access {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].map(String::from).to_vec();
        hosts.push(match bind.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        });
        // `box.lan:8080` names `box.lan`: ports are not compared.
        hosts.extend(extra_hosts.iter().filter_map(|h| host_name(h)));
        Access {
            hosts,
            token,
            cookie: format!("tenantsim-token-{}", bind.port()),
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Whether `host` (a Host header: `name[:port]`) names this server.
    pub fn host_allowed(&self, host: &str) -> bool {
        host_name(host).is_some_and(|name| self.hosts.contains(&name))
    }

    fn token_matches(&self, given: &str) -> bool {
        self.token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), given.as_bytes()))
    }
}

/// The name part of a Host header, lowercase: `Localhost:8080` →
/// `localhost`, `[::1]:80` → `[::1]`. None when malformed.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if host.starts_with('[') {
        let end = host.find(']')?;
        let rest = &host[end + 1..];
        if !(rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        &host[..=end]
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return None,
            None => host,
        }
    };
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Equal bytes, in a time that depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `origin` is `http://HOST` or `https://HOST`.
fn same_origin(origin: &str, host: &str) -> bool {
    let origin = origin.to_ascii_lowercase();
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(|r| r.eq_ignore_ascii_case(host))
}

fn changes_state(m: &Method) -> bool {
    matches!(*m, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// The token a request carries explicitly (header or query), if any.
fn explicit_token(req: &ServiceRequest) -> Option<String> {
    let h = req.headers();
    if let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    if let Some(v) = h.get("x-tenantsim-token").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    query_token(req.query_string())
}

fn query_token(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(String::from)
}

/// The query string without its `token` parameter.
fn query_without_token(query: &str) -> String {
    query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("token="))
        .collect::<Vec<_>>()
        .join("&")
}

fn cookie_token(req: &ServiceRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('=').map(String::from))
}

fn refuse(status: StatusCode, msg: String) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": msg }))
}

/// What the checks decided about one request.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Pass,
    /// The page opened with a good `?token=`: set the cookie and send the
    /// browser to the same address without the token.
    SetCookieAndRedirect(String),
    Refuse(StatusCode, String),
}

/// Apply the checks of the module doc to a request.
pub fn judge(access: &Access, req: &ServiceRequest) -> Verdict {
    // 1. Host.
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok());
    let Some(host) = host else {
        return Verdict::Refuse(StatusCode::FORBIDDEN, "a Host header is required".into());
    };
    if !access.host_allowed(host) {
        return Verdict::Refuse(
            StatusCode::FORBIDDEN,
            format!(
                "Host `{host}` is not a name this server answers to (loopback names, the bound address, \
                 --allow-host names); if you reach it under this name, restart it with --allow-host NAME"
            ),
        );
    }
    let explicit = explicit_token(req);
    // 2. Origin.
    if changes_state(req.method()) {
        match req.headers().get(header::ORIGIN).map(|v| v.to_str().unwrap_or("")) {
            // `https://` too: behind a TLS-terminating proxy that keeps the Host.
            Some(origin) if !same_origin(origin, host) => {
                return Verdict::Refuse(
                    StatusCode::FORBIDDEN,
                    format!("cross-site request refused: Origin `{origin}` is not http://{host}"),
                );
            }
            Some(_) => {}
            None if access.token.is_none() || explicit.is_none() => {
                return Verdict::Refuse(
                    StatusCode::FORBIDDEN,
                    "a state-changing request without an Origin header must carry the token \
                     (Authorization: Bearer TOKEN or X-Tenantsim-Token: TOKEN)"
                        .into(),
                );
            }
            None => {}
        }
    }
    // 3. Token.
    if access.token.is_none() || matches!(req.path(), "/app.js" | "/style.css") {
        return Verdict::Pass;
    }
    if let Some(t) = &explicit {
        if access.token_matches(t) {
            let page = req.path() == "/" && req.method() == Method::GET;
            if page && query_token(req.query_string()).is_some() {
                let q = query_without_token(req.query_string());
                return Verdict::SetCookieAndRedirect(if q.is_empty() { "/".into() } else { format!("/?{q}") });
            }
            return Verdict::Pass;
        }
        return Verdict::Refuse(StatusCode::UNAUTHORIZED, "wrong token".into());
    }
    if cookie_token(req, &access.cookie).is_some_and(|t| access.token_matches(&t)) {
        return Verdict::Pass;
    }
    Verdict::Refuse(
        StatusCode::UNAUTHORIZED,
        "a token is required: open the URL `tenantsim serve` printed (http://…/?token=…), or send \
         Authorization: Bearer TOKEN"
            .into(),
    )
}

/// The middleware: answer refused requests at once, pass the others on.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(access) = req.app_data::<web::Data<super::AppState>>().map(|st| st.access.clone()) else {
        // Without the state nothing is served: fail closed.
        let resp = refuse(StatusCode::INTERNAL_SERVER_ERROR, "no access policy".into());
        return Ok(req.into_response(resp).map_into_right_body());
    };
    match judge(&access, &req) {
        Verdict::Pass => Ok(next.call(req).await?.map_into_left_body()),
        Verdict::SetCookieAndRedirect(to) => {
            let resp = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, to))
                .insert_header((
                    header::SET_COOKIE,
                    format!(
                        "{}={}; Path=/; HttpOnly; SameSite=Strict",
                        access.cookie,
                        access.token().unwrap_or_default()
                    ),
                ))
                .insert_header(("cache-control", "no-store"))
                .finish();
            Ok(req.into_response(resp).map_into_right_body())
        }
        Verdict::Refuse(status, msg) => Ok(req.into_response(refuse(status, msg)).map_into_right_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    const T: &str = "0123456789abcdef0123";

    fn access() -> Access {
        Access::new("127.0.0.1:8080".parse().unwrap(), &["Box.lan".into()], Some(T.into()))
    }

    fn judge_req(r: TestRequest) -> Verdict {
        judge(&access(), &r.to_srv_request())
    }

    #[test]
    fn host_names_are_parsed_with_and_without_ports() {
        assert_eq!(host_name("Localhost:8080").as_deref(), Some("localhost"));
        assert_eq!(host_name("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(host_name("[::1]").as_deref(), Some("[::1]"));
        assert_eq!(host_name("[::1]x"), None);
        assert_eq!(host_name("localhost:http"), None);
        assert_eq!(host_name(":80"), None);
    }

    #[test]
    fn only_loopback_the_bound_address_and_allowed_names_pass() {
        let a = Access::new("10.1.2.3:9000".parse().unwrap(), &["box.lan".into()], None);
        for ok in [
            "localhost",
            "localhost:9000",
            "127.0.0.1:1234",
            "[::1]:9000",
            "10.1.2.3:9000",
            "BOX.lan",
        ] {
            assert!(a.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:9000",
            "localhost.",
            "127.0.0.1.evil.example",
            "10.1.2.4",
            "",
        ] {
            assert!(!a.host_allowed(bad), "{bad}");
        }
        let v6 = Access::new("[fe80::1]:80".parse().unwrap(), &[], None);
        assert!(v6.host_allowed("[fe80::1]:80"));
    }

    #[test]
    fn user_tokens_are_checked() {
        assert_eq!(check_token("short"), Err(TokenError::TooShort(5)));
        assert_eq!(check_token("has space in it 0123"), Err(TokenError::BadCharacter));
        assert_eq!(check_token("a;b=0123456789abcdef"), Err(TokenError::BadCharacter));
        assert_eq!(check_token(T), Ok(()));
        let g = generate_token().unwrap();
        assert_eq!(g.len(), 48);
        assert_eq!(check_token(&g), Ok(()));
        assert_ne!(g, generate_token().unwrap(), "two tokens drawn alike");
    }

    #[test]
    fn the_checks_answer_in_order() {
        let get = |uri: &str| TestRequest::get().uri(uri).insert_header(("host", "localhost:8080"));
        // Host before anything: even the right token does not help.
        let evil = TestRequest::get()
            .uri("/api/scenarios")
            .insert_header(("host", "evil.example:8080"))
            .insert_header(("x-tenantsim-token", T));
        assert!(matches!(judge_req(evil), Verdict::Refuse(StatusCode::FORBIDDEN, _)));
        let no_host = TestRequest::get().uri("/");
        assert!(matches!(judge_req(no_host), Verdict::Refuse(StatusCode::FORBIDDEN, _)));
        // Token.
        assert!(matches!(
            judge_req(get("/api/scenarios")),
            Verdict::Refuse(StatusCode::UNAUTHORIZED, _)
        ));
        assert!(matches!(
            judge_req(get("/api/scenarios").insert_header(("authorization", "Bearer nope"))),
            Verdict::Refuse(StatusCode::UNAUTHORIZED, _)
        ));
        assert_eq!(
            judge_req(get("/api/scenarios").insert_header(("authorization", format!("Bearer {T}")))),
            Verdict::Pass
        );
        assert_eq!(
            judge_req(get("/api/jobs").insert_header(("cookie", format!("a=b; tenantsim-token-8080={T}")))),
            Verdict::Pass
        );
        // Another server's cookie is not this one's.
        assert!(matches!(
            judge_req(get("/api/jobs").insert_header(("cookie", format!("tenantsim-token-9999={T}")))),
            Verdict::Refuse(StatusCode::UNAUTHORIZED, _)
        ));
        assert_eq!(judge_req(get("/app.js")), Verdict::Pass);
        assert_eq!(
            judge_req(get(&format!("/?scenario=tiny&token={T}"))),
            Verdict::SetCookieAndRedirect("/?scenario=tiny".into())
        );
        assert_eq!(
            judge_req(get(&format!("/?token={T}"))),
            Verdict::SetCookieAndRedirect("/".into())
        );
        // Origin on state-changing requests.
        let post = || {
            TestRequest::post()
                .uri("/api/runs")
                .insert_header(("host", "localhost:8080"))
        };
        let cookie = ("cookie", format!("tenantsim-token-8080={T}"));
        assert!(matches!(
            judge_req(
                post()
                    .insert_header(cookie.clone())
                    .insert_header(("origin", "http://evil.example"))
            ),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
        assert!(matches!(
            judge_req(post().insert_header(cookie.clone()).insert_header(("origin", "null"))),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
        for same in ["http://localhost:8080", "https://LocalHost:8080"] {
            assert_eq!(
                judge_req(post().insert_header(cookie.clone()).insert_header(("origin", same))),
                Verdict::Pass,
                "{same}"
            );
        }
        for other in [
            "http://localhost:8081",
            "http://localhost",
            "ftp://localhost:8080",
            "localhost:8080",
        ] {
            let v = judge_req(post().insert_header(cookie.clone()).insert_header(("origin", other)));
            assert!(matches!(v, Verdict::Refuse(StatusCode::FORBIDDEN, _)), "{other}");
        }
        // No Origin: the cookie alone is not enough, the token itself is.
        assert!(matches!(
            judge_req(post().insert_header(cookie)),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
        assert_eq!(judge_req(post().insert_header(("x-tenantsim-token", T))), Verdict::Pass);
    }
}

//! The daemon's HTTP endpoint (loopback by default) and signal handling, on a small tokio
//! runtime of their own so the detection thread never waits on either: `/metrics` (Prometheus
//! text), `/healthz` (the detection loop is alive), `/readyz` (sources assigned and state
//! restored, not shutting down). SIGTERM/SIGINT request a graceful shutdown, SIGHUP a reload.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use metrics_exporter_prometheus::PrometheusHandle;

/// Connections served at once; more are accepted and closed at once (counted), so idle or
/// half-sent connections can never use up the process's file handles (snapshots, sinks).
pub const MAX_CONNECTIONS: usize = 128;
/// A client must send a request's headers within this time.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed after this long, whatever it does.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Flags shared by the detection loop, the endpoint and the signal handlers.
#[derive(Default)]
pub struct Control {
    /// A graceful shutdown was requested.
    pub shutdown: crate::shutdown::Shutdown,
    /// A reload of rules / allowlist was requested.
    pub reload: AtomicBool,
    /// Sources are assigned and state restored.
    pub ready: AtomicBool,
    /// Wall-clock ms of the detection loop's latest turn.
    pub heartbeat_ms: AtomicI64,
    /// Extra exposition text appended to /metrics (the latency summary).
    pub extra_metrics: Mutex<String>,
    /// Wakes an idle detection loop (a signal arrived): a generation count and its condvar.
    wake: (Mutex<u64>, Condvar),
}

impl Control {
    /// Wakes the detection loop if it is idle (after setting `shutdown` or `reload`).
    pub fn notify(&self) {
        let mut g = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
        *g += 1;
        self.wake.1.notify_all();
    }

    /// Waits up to `timeout` unless shutdown or reload is already requested, or until
    /// [`Control::notify`]. The idle daemon (file sources read to the end, nothing to poll)
    /// waits here instead of spinning; a sink retry waits here so SIGTERM cuts it short.
    pub fn idle(&self, timeout: Duration) {
        self.wait(timeout, true);
    }

    /// Waits up to `timeout` unless shutdown is requested (a retry's backoff: a pending reload
    /// does not cut it short, it is handled after the delivery).
    pub fn backoff(&self, timeout: Duration) {
        self.wait(timeout, false);
    }

    fn wait(&self, timeout: Duration, reload_wakes: bool) {
        let g = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
        if self.shutdown.is_requested() || (reload_wakes && self.reload.load(Ordering::SeqCst)) {
            return;
        }
        let start = *g;
        let _ = self
            .wake
            .1
            .wait_timeout_while(g, timeout, |gen| *gen == start)
            .map_err(|e| e.into_inner());
    }
}

/// Wall clock in ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn reply(code: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r
}

/// True if the request carries `Authorization: Bearer <token>` (compared in constant time).
fn authorized(req: &Request<hyper::body::Incoming>, token: &str) -> bool {
    let Some(v) = req.headers().get(hyper::header::AUTHORIZATION) else {
        return false;
    };
    let Some(got) = v.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    let want = token.as_bytes();
    // Length is not secret (the minimum is documented); the bytes are compared in full.
    got.len() == want.len() && got.iter().zip(want).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

fn route(
    req: &Request<hyper::body::Incoming>,
    c: &Control,
    prom: &PrometheusHandle,
    token: Option<&str>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    // Everything but the probes needs the token (routes added later are closed by default).
    let open = matches!(path, "/healthz" | "/readyz");
    if !open && token.is_some_and(|t| !authorized(req, t)) {
        metrics::counter!("nhid_http_unauthorized_total").increment(1);
        let mut r = reply(
            StatusCode::UNAUTHORIZED,
            "a bearer token is required\n".into(),
        );
        r.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer realm=\"nhid\""),
        );
        return r;
    }
    match path {
        "/metrics" => {
            let mut text = prom.render();
            if let Ok(extra) = c.extra_metrics.lock() {
                text.push_str(&extra);
            }
            let mut r = reply(StatusCode::OK, text);
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            r
        }
        "/healthz" => {
            let age = now_ms() - c.heartbeat_ms.load(Ordering::Relaxed);
            if age < 60_000 {
                reply(StatusCode::OK, "ok\n".into())
            } else {
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("detection loop silent for {age} ms\n"),
                )
            }
        }
        "/readyz" => {
            if c.ready.load(Ordering::Relaxed) && !c.shutdown.is_requested() {
                reply(StatusCode::OK, "ready\n".into())
            } else {
                reply(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into())
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

/// Starts the signal handlers and, if `listen` is set, the HTTP endpoint; returns the bound
/// address. Runs on its own thread until the process exits.
pub fn spawn(
    listen: Option<SocketAddr>,
    control: Arc<Control>,
    prom: PrometheusHandle,
    token: Option<String>,
) -> Result<Option<SocketAddr>, String> {
    let token: Option<Arc<str>> = token.map(Into::into);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let listener = match listen {
        Some(a) => {
            let l = rt
                .block_on(tokio::net::TcpListener::bind(a))
                .map_err(|e| format!("server.listen {a}: {e}"))?;
            Some(l)
        }
        None => None,
    };
    let bound = listener.as_ref().and_then(|l| l.local_addr().ok());
    // Signal streams are registered before the thread starts, so a signal sent right after
    // startup is never lost to the default disposition.
    let signals = rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        Ok::<_, std::io::Error>((
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
            signal(SignalKind::hangup())?,
        ))
    });
    let (mut term, mut int, mut hup) = signals.map_err(|e| format!("signals: {e}"))?;
    std::thread::Builder::new()
        .name("nhid-http".into())
        .spawn(move || {
            rt.block_on(async move {
                let c2 = control.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            // HTTP sinks stop retrying at once: a slow receiver cannot hold the
                            // drain past the stop timeout (what it cannot take is dead-lettered).
                            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); c2.shutdown.request(); c2.notify(); }
                            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); c2.shutdown.request(); c2.notify(); }
                            _ = hup.recv() => { tracing::info!("SIGHUP: reloading rules"); c2.reload.store(true, Ordering::SeqCst); c2.notify(); }
                        }
                    }
                });
                let Some(listener) = listener else {
                    std::future::pending::<()>().await;
                    return;
                };
                let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                let mut backoff = ACCEPT_BACKOFF_MIN;
                loop {
                    let stream = match listener.accept().await {
                        Ok((s, _)) => {
                            backoff = ACCEPT_BACKOFF_MIN;
                            s
                        }
                        Err(e) => {
                            // Out of file handles (or another transient error): wait instead of
                            // spinning; the held connections time out meanwhile.
                            tracing::warn!(error = %e, "http accept failed");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                            continue;
                        }
                    };
                    if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                        metrics::counter!("nhid_http_connections_refused_total").increment(1);
                        drop(stream);
                        continue;
                    }
                    open.fetch_add(1, Ordering::Relaxed);
                    let c = control.clone();
                    let p = prom.clone();
                    let t = token.clone();
                    let open = open.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            let r = route(&req, &c, &p, t.as_deref());
                            async move { Ok::<_, std::convert::Infallible>(r) }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(HEADER_READ_TIMEOUT)
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
                        let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
                        open.fetch_sub(1, Ordering::Relaxed);
                    });
                }
            });
        })
        .map_err(|e| format!("http thread: {e}"))?;
    Ok(bound)
}

//! Serving a router over TCP with bounds on every connection.
//!
//! `axum::serve` sets none: it gives hyper no timer, so hyper's header-read timeout is inert,
//! and accepts connections without limit, so idle, slowloris and trickled-body connections
//! stay open for as long as their clients like. This is axum's own accept loop on hyper-util's
//! public pieces (the "serve with hyper" pattern), with hyper's HTTP/1 timer and header-read
//! timeout, a cap on open connections, `tokio-io-timeout`'s read timeout for connections
//! that sit idle, and hyper-util's graceful shutdown. The time a whole request may take, its body
//! included, is bounded by tower-http's `TimeoutLayer` on the router.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long a connection may wait for, or take to send, what it owes.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From a connection's opening (or the first byte of a next request) to the end of the
    /// request's headers.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Connections open at once; more are closed as they arrive. With HTTP/1 this also caps
    /// the requests in flight.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves; then stops accepting, lets every
/// connection finish the request it is in, and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!(%remote, max = limits.max_connections, "connection refused: too many open");
            continue;
        };
        // A read pending longer than the idle timeout ends the connection: a kept-alive
        // connection with no next request, a client that stopped sending mid-request.
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_read_timeout(Some(limits.idle_timeout));
        let io = TokioIo::new(Box::pin(stream));
        let service =
            TowerToHyperService::new(router.clone().map_request(
                |request: hyper::Request<Incoming>| request.map(axum::body::Body::new),
            ));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

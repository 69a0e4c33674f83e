//! How every binary learns it must stop: SIGTERM (Kubernetes stopping a pod, a Job's
//! `activeDeadlineSeconds`) or Ctrl-C.

/// Resolves when the process is asked to stop, with a reason fit for logs and run errors.
/// A signal that cannot be listened for is logged and never fires.
pub async fn stop_requested() -> &'static str {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    let reason = tokio::select! {
        () = ctrl_c => "interrupted (SIGINT)",
        () = terminate => "terminated (SIGTERM)",
    };
    tracing::warn!(reason, "stop requested");
    reason
}

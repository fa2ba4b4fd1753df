//! The wait for SIGTERM or SIGINT that starts a graceful stop (the
//! `signal` feature).

/// Waits until the process is asked to stop: SIGTERM (what Kubernetes,
/// systemd and `docker stop` send) or SIGINT (Ctrl-C); Ctrl-C alone where
/// there are no Unix signals. Returns the signal's name. If the handlers
/// cannot be installed, says so on stderr and never returns (the process
/// then stops as it would without them).
///
/// The recipe for a graceful stop (the `axum_service` example runs it):
///
/// ```no_run
/// # async fn app() -> Result<(), Box<dyn std::error::Error>> {
/// # let router = axum::Router::new();
/// let guard = warden::init()?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// // Stop taking requests on SIGTERM/SIGINT; finish the ones in flight.
/// axum::serve(listener, router)
///     .with_graceful_shutdown(async {
///         let signal = warden::shutdown_signal().await;
///         tracing::info!(signal, "stopping");
///     })
///     .await?;
/// // Then flush: audit records, spans and lines, within the orchestrator's
/// // grace period (Kubernetes: 30 s by default).
/// let report = guard.shutdown_report(std::time::Duration::from_secs(10));
/// eprintln!("{report}");
/// # Ok(())
/// # }
/// ```
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("warden: cannot wait for SIGTERM/SIGINT ({e}); no graceful stop");
                std::future::pending().await
            }
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(e) => {
                eprintln!("warden: cannot wait for Ctrl-C ({e}); no graceful stop");
                std::future::pending().await
            }
        }
    }
}

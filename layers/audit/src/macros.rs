//! Macros that log audit events: `tracing` events with target `audit` and
//! the event type set.

/// Logs an audit event: `audit_event!(level, "EVENT_TYPE", fields…)`.
///
/// The other macros call this one; use it for custom event types.
///
/// ```
/// warden_audit::audit_event!(INFO, "PAYMENT", action = "refund", resource_id = "order-7");
/// ```
#[macro_export]
macro_rules! audit_event {
    ($level:ident, $event_type:expr_2021, $($fields:tt)*) => {
        $crate::__tracing::event!(target: $crate::AUDIT_TARGET, $crate::__tracing::Level::$level, event_type = $event_type, $($fields)*)
    };
}

/// Logs a `SECURITY` audit event (level `SECURITY`).
///
/// ```
/// let (user, ip) = ("u-42", "203.0.113.9");
/// warden_audit::security!(action = "login_failed", user_id = %user, ip = %ip);
/// ```
#[macro_export]
macro_rules! security {
    ($($fields:tt)*) => { $crate::audit_event!(WARN, "SECURITY", $($fields)*) };
}

/// Logs an `API_CALL` audit event.
#[macro_export]
macro_rules! api_call {
    ($($fields:tt)*) => { $crate::audit_event!(INFO, "API_CALL", $($fields)*) };
}

/// Logs an `AUTHENTICATION` audit event.
#[macro_export]
macro_rules! authentication {
    ($($fields:tt)*) => { $crate::audit_event!(INFO, "AUTHENTICATION", $($fields)*) };
}

/// Logs an `AUTHORIZATION` audit event.
#[macro_export]
macro_rules! authorization {
    ($($fields:tt)*) => { $crate::audit_event!(INFO, "AUTHORIZATION", $($fields)*) };
}

/// Logs a `DATA_ACCESS` audit event.
#[macro_export]
macro_rules! data_access {
    ($($fields:tt)*) => { $crate::audit_event!(INFO, "DATA_ACCESS", $($fields)*) };
}

/// Logs a `CONFIG_CHANGE` audit event.
#[macro_export]
macro_rules! config_change {
    ($($fields:tt)*) => { $crate::audit_event!(INFO, "CONFIG_CHANGE", $($fields)*) };
}

/// Logs a `TOOL_INVOCATION` audit event.
#[macro_export]
macro_rules! tool_invocation {
    ($($fields:tt)*) => { $crate::audit_event!(INFO, "TOOL_INVOCATION", $($fields)*) };
}

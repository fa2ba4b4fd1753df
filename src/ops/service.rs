//! The endpoints as a `tower::Service`, to mount in an application's own
//! HTTP stack.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use warden_metrics::ExpositionFormat;

use super::Ops;

/// The response future of [`OpsService`]: the answer is ready at once.
pub type OpsFuture = Ready<Result<Response<Full<Bytes>>, Infallible>>;

/// [`Ops`] as a `tower::Service`: `GET …/metrics`, `…/healthz`,
/// `…/readyz`, `…/alerts` (matched on the path's last segment, so it works
/// nested under any prefix).
///
/// ```
/// use http::Request;
/// use tower::ServiceExt;
/// use warden::ops::Ops;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let ops = Ops::builder().build();
/// let response = ops.service().oneshot(Request::get("/healthz").body(()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct OpsService {
    ops: Ops,
}

impl Ops {
    /// The endpoints as a `tower::Service` (for axum:
    /// `Router::new().nest_service("/ops", ops.service())`).
    pub fn service(&self) -> OpsService {
        OpsService { ops: self.clone() }
    }

    /// The response to `method path` with this `Accept` header.
    pub fn respond(
        &self,
        method: &Method,
        path: &str,
        accept: Option<&str>,
    ) -> Response<Full<Bytes>> {
        let endpoint = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        if endpoint == "filter" {
            // Without the request's headers and body: a `PUT` is refused
            // as unauthorized (see `respond_with_body`).
            return self.answer_filter(method, &http::HeaderMap::new(), &[]);
        }
        if method != Method::GET && method != Method::HEAD {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "GET only\n".into(),
            );
        }
        match endpoint {
            "metrics" => {
                let format = ExpositionFormat::from_accept(accept);
                let last = &self.inner.last_metrics_len;
                let mut body = String::with_capacity(last.load(Ordering::Relaxed) + 1024);
                self.write_metrics(format, &mut body);
                last.store(body.len(), Ordering::Relaxed);
                text(StatusCode::OK, format.content_type(), body)
            }
            "healthz" => text(
                StatusCode::OK,
                "application/json",
                "{\"alive\":true}".into(),
            ),
            "readyz" => {
                let readiness = self.readiness();
                let status = if readiness.is_ready() {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                text(status, "application/json", readiness.to_json())
            }
            "alerts" => text(StatusCode::OK, "application/json", self.alerts_json()),
            "" | "ops" => text(
                StatusCode::OK,
                "text/plain",
                "warden: /metrics /healthz /readyz /alerts /filter\n".into(),
            ),
            _ => text(
                StatusCode::NOT_FOUND,
                "text/plain",
                "not found: /metrics /healthz /readyz /alerts /filter\n".into(),
            ),
        }
    }
}

impl Ops {
    /// The response to a whole request (its body read): what
    /// [`respond`](Ops::respond) answers, and `PUT /filter`, which needs the
    /// request's `Authorization` header and its body (the new directives). A
    /// handler of your own HTTP stack reads the body (at most a few KiB) and
    /// calls this; [`Ops::serve`]'s server does.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::Request;
    ///
    /// let (_filter, handle) = warden::StackFilter::parse("info")?.reloadable();
    /// let ops = warden::ops::Ops::builder().filter(handle.clone()).token("s3cret").build();
    /// let put = |auth: &str, body: &'static str| {
    ///     let request = Request::put("/filter").header("authorization", auth).body(Bytes::from(body)).unwrap();
    ///     ops.respond_with_body(&request).status()
    /// };
    /// assert_eq!(put("Bearer wrong", "debug"), 403);
    /// assert_eq!(put("Bearer s3cret", "debug,=oops"), 400);
    /// assert_eq!(handle.directives(), "info");
    /// assert_eq!(put("Bearer s3cret", "debug"), 200);
    /// assert_eq!(handle.directives(), "debug");
    /// # Ok::<(), String>(())
    /// ```
    pub fn respond_with_body(&self, request: &Request<Bytes>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        if path.trim_end_matches('/').rsplit('/').next() == Some("filter") {
            return self.answer_filter(request.method(), request.headers(), request.body());
        }
        let accept = request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        self.respond(request.method(), path, accept)
    }
}

/// A response with a text body.
pub(super) fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

impl<B> tower_service::Service<Request<B>> for OpsService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = OpsFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        if request.method() == Method::PUT
            && path.trim_end_matches('/').rsplit('/').next() == Some("filter")
        {
            // The body is not this service's to read (it is generic over
            // it): say where the change is made.
            return ready(Ok(text(
                StatusCode::NOT_IMPLEMENTED,
                "text/plain",
                "PUT /filter needs its body: answer it with Ops::respond_with_body\n".into(),
            )));
        }
        let accept = request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        ready(Ok(self.ops.respond(
            request.method(),
            request.uri().path(),
            accept,
        )))
    }
}

//! A `tower` middleware that runs each HTTP request inside a span carrying
//! its correlation ID, and returns the ID in the response.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode, Uri};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;
use warden_core::CorrelationId;

use crate::CorrelationIdExt;

use crate::http::HeaderPropagation;

/// What a [`CorrelationIdLayer`]'s span maker sees of a request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestInfo<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request URI.
    pub uri: &'a Uri,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The request's correlation ID: from its headers, or a fresh one.
    pub correlation_id: &'a CorrelationId,
    /// The request's extensions (axum's `MatchedPath` is there when the
    /// layer is added with `Router::layer`).
    pub extensions: &'a Extensions,
    /// The route, as [`CorrelationIdLayer::route`]'s function found it.
    pub route: Option<&'a str>,
}

type MakeSpan = Arc<dyn Fn(RequestInfo<'_>) -> Span + Send + Sync>;
type FindRoute = Arc<dyn Fn(&Extensions) -> Option<String> + Send + Sync>;
type IsError = Arc<dyn Fn(StatusCode) -> bool + Send + Sync>;

/// A [`tower_layer::Layer`] that opens a span for each HTTP request, with
/// the request's correlation ID in the span's `correlation_id` field, runs
/// the inner service inside it, and writes the ID into the response headers.
///
/// The ID comes from the request headers as [`HeaderPropagation`] reads them
/// (`x-correlation-id`, `x-request-id`, `traceparent`), else it is a fresh
/// UUID v7. It is also put into the request's extensions, so a handler can
/// take it as `Extension<CorrelationId>` (axum) or read
/// [`CorrelationId::current`](crate::CorrelationId::current). Works with any `tower` HTTP stack: axum,
/// hyper (through `hyper-util`'s tower adapter), tonic.
///
/// The default span is `request` at INFO with `correlation_id`,
/// `http.request.method`, `url.path`, `http.route` (when
/// [`route`](Self::route) finds one), and `http.response.status_code`
/// recorded when the response is ready; a response the
/// [`errors_when`](Self::errors_when) rule calls an error (5xx by default)
/// sets the span's `error` and `error.code`, which `MetricsLayer` counts.
/// With [`access_log`](Self::access_log), each response also logs one
/// access line.
///
/// Per-route metrics with axum, in three lines: the route from
/// `MatchedPath`, and a `MetricsLayer` keyed by `http.route`:
///
/// ```ignore
/// let correlation = CorrelationIdLayer::new()
///     .route(|ext| ext.get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned()));
/// let app = Router::new().route("/orders/{id}", get(order)).layer(correlation);
/// let metrics = MetricsLayer::builder().operation_field("http.route").build();
/// ```
///
/// ```
/// use http::{Request, Response};
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use warden_correlation::tower::CorrelationIdLayer;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let service = ServiceBuilder::new()
///     .layer(CorrelationIdLayer::default())
///     .service(service_fn(|_req: Request<()>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(()))
///     }));
/// let request = Request::builder().header("x-request-id", "req-42").body(()).unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.headers()["x-correlation-id"], "req-42");
/// # });
/// ```
#[derive(Clone)]
pub struct CorrelationIdLayer {
    propagation: Arc<HeaderPropagation>,
    make_span: MakeSpan,
    route: Option<FindRoute>,
    is_error: IsError,
    access_log: bool,
}

impl fmt::Debug for CorrelationIdLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorrelationIdLayer")
            .field("propagation", &self.propagation)
            .finish_non_exhaustive()
    }
}

impl Default for CorrelationIdLayer {
    fn default() -> Self {
        CorrelationIdLayer {
            propagation: Arc::new(HeaderPropagation::default()),
            make_span: Arc::new(default_span),
            route: None,
            is_error: Arc::new(|status: StatusCode| status.is_server_error()),
            access_log: false,
        }
    }
}

fn default_span(request: RequestInfo<'_>) -> Span {
    tracing::info_span!(
        "request",
        correlation_id = %request.correlation_id,
        http.request.method = %request.method,
        url.path = request.uri.path(),
        http.route = request.route,
        http.response.status_code = tracing::field::Empty,
        error = tracing::field::Empty,
        error.code = tracing::field::Empty,
    )
}

impl CorrelationIdLayer {
    /// The default: headers read and written as [`HeaderPropagation::default`],
    /// and the default `request` span.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads and writes headers as `propagation` says.
    pub fn propagation(mut self, propagation: HeaderPropagation) -> Self {
        self.propagation = Arc::new(propagation);
        self
    }

    /// Opens each request's span with `make_span`. The span must carry the
    /// ID in the field the [`CorrelationLayer`](crate::CorrelationLayer)
    /// reads (`correlation_id` by default); a field
    /// `http.response.status_code` is recorded if the span has it.
    ///
    /// ```
    /// use warden_correlation::tower::CorrelationIdLayer;
    ///
    /// let layer = CorrelationIdLayer::new().make_span(|request| {
    ///     tracing::info_span!(
    ///         "http",
    ///         correlation_id = %request.correlation_id,
    ///         method = %request.method,
    ///         path = request.uri.path(),
    ///         http.response.status_code = tracing::field::Empty,
    ///     )
    /// });
    /// # drop(layer);
    /// ```
    pub fn make_span<F>(mut self, make_span: F) -> Self
    where
        F: Fn(RequestInfo<'_>) -> Span + Send + Sync + 'static,
    {
        self.make_span = Arc::new(make_span);
        self
    }

    /// Finds each request's route (its pattern, such as `/orders/{id}`,
    /// not its path) in the request's extensions; the default span records
    /// it as `http.route`, which `MetricsLayer::builder().operation_field("http.route")`
    /// turns into one metrics row per route.
    ///
    /// ```
    /// use warden_correlation::tower::CorrelationIdLayer;
    ///
    /// /// What a router put in the extensions (axum: `MatchedPath`).
    /// #[derive(Clone)]
    /// struct Matched(&'static str);
    ///
    /// let layer = CorrelationIdLayer::new().route(|ext| ext.get::<Matched>().map(|m| m.0.to_owned()));
    /// # drop(layer);
    /// ```
    pub fn route<F>(mut self, find: F) -> Self
    where
        F: Fn(&Extensions) -> Option<String> + Send + Sync + 'static,
    {
        self.route = Some(Arc::new(find));
        self
    }

    /// Which responses are errors (default: 5xx). An error sets the span's
    /// `error = true` and `error.code` to the status.
    ///
    /// ```
    /// use warden_correlation::tower::CorrelationIdLayer;
    ///
    /// // 4xx count as errors too.
    /// let layer = CorrelationIdLayer::new().errors_when(|status| status.as_u16() >= 400);
    /// # drop(layer);
    /// ```
    pub fn errors_when<F>(mut self, is_error: F) -> Self
    where
        F: Fn(StatusCode) -> bool + Send + Sync + 'static,
    {
        self.is_error = Arc::new(is_error);
        self
    }

    /// Logs one access line per response at INFO, target `warden::access`,
    /// inside the request's span (so it carries the correlation ID):
    /// `GET /orders/{id} 200 12.3ms`, with `method`, `route` (the
    /// [`route`](Self::route) if found, else the path), `status` and
    /// `duration_ms` as fields. Off by default; `warden::init()` turns it on.
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }
}

impl<S> Layer<S> for CorrelationIdLayer {
    type Service = CorrelationIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorrelationIdService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`CorrelationIdLayer`].
#[derive(Clone, Debug)]
pub struct CorrelationIdService<S> {
    inner: S,
    layer: CorrelationIdLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CorrelationIdService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let from_client = self.layer.propagation.extract(request.headers());
        let checked = from_client.is_some();
        let id = from_client.unwrap_or_default();
        let route = self
            .layer
            .route
            .as_ref()
            .and_then(|find| find(request.extensions()));
        let span = (self.layer.make_span)(RequestInfo {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            correlation_id: &id,
            extensions: request.extensions(),
            route: route.as_deref(),
        });
        let access = self.layer.access_log.then(|| Access {
            method: request.method().clone(),
            target: route.unwrap_or_else(|| request.uri().path().to_owned()),
            started: std::time::Instant::now(),
        });
        // The ID the span carries: the one from the headers unless the
        // correlation layer refused it at the door (then a fresh one), so
        // that the response header and the handler see what every line says.
        let id = if checked {
            span.correlation_id().unwrap_or(id)
        } else {
            id
        };
        request.extensions_mut().insert(id.clone());
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture {
            inner,
            span,
            id,
            propagation: Arc::clone(&self.layer.propagation),
            is_error: Arc::clone(&self.layer.is_error),
            access,
        }
    }
}

pin_project! {
    /// The response future of [`CorrelationIdService`]: polls the inner
    /// future inside the request's span and sets the response header.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        id: CorrelationId,
        propagation: Arc<HeaderPropagation>,
        is_error: IsError,
        access: Option<Access>,
    }
}

/// What the access line needs, kept from the request.
#[derive(Debug)]
struct Access {
    method: Method,
    target: String,
    started: std::time::Instant,
}

impl<F: fmt::Debug> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("inner", &self.inner)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut response = ready!(this.inner.poll(cx))?;
        this.propagation
            .inject_missing(this.id, response.headers_mut());
        let status = response.status();
        this.span
            .record("http.response.status_code", status.as_u16());
        if (this.is_error)(status) {
            this.span.record("error", true);
            this.span.record("error.code", status.as_u16());
        }
        if let Some(access) = this.access.take() {
            let ms = access.started.elapsed().as_secs_f64() * 1e3;
            tracing::info!(
                target: "warden::access",
                method = %access.method,
                route = access.target.as_str(),
                status = status.as_u16(),
                duration_ms = (ms * 1e3).round() / 1e3,
                "{} {} {} {:.1}ms",
                access.method,
                access.target,
                status.as_u16(),
                ms
            );
        }
        Poll::Ready(Ok(response))
    }
}

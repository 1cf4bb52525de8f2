//! The largest gRPC message a server takes or gives, checked on the wire: every server of the
//! kit (the departments and the gateway, whose proxy never decodes what it forwards) reads the
//! 5-byte prefix of each length-prefixed message and refuses one over the limit with
//! `RESOURCE_EXHAUSTED` (reason `MESSAGE_TOO_LARGE`), before any of it reaches a handler or an
//! upstream, and without buffering the message.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
use http_body::{Body as _, Frame};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use crate::Error;

/// tonic's own ceiling for a decoded message, and the default limit.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The refusal's reason in `ErrorInfo`.
pub const MESSAGE_TOO_LARGE: &str = "MESSAGE_TOO_LARGE";

/// The compressed flag and the big-endian length before every message.
const PREFIX: usize = 5;

/// What [`MessageScanner::scan`] found in some bytes of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    /// Leading bytes that belong to messages within the limit. The rest is an incomplete
    /// prefix (hand it again, with the next bytes after it) or, when `oversize` is set, the
    /// prefix of the message over the limit and what follows.
    pub complete: usize,
    /// The announced length of a message over the limit.
    pub oversize: Option<u64>,
}

/// Follows the length-prefixed messages of a gRPC body across its chunks.
#[derive(Debug, Clone)]
pub struct MessageScanner {
    limit: u64,
    /// Bytes of the current message still to come.
    remaining: u64,
}

impl MessageScanner {
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit as u64,
            remaining: 0,
        }
    }

    /// Walks `bytes`, which start where the previous call's `complete` ended.
    pub fn scan(&mut self, bytes: &[u8]) -> Scanned {
        let mut at = 0;
        loop {
            if self.remaining > 0 {
                let skip = self.remaining.min((bytes.len() - at) as u64);
                at += skip as usize;
                self.remaining -= skip;
                if self.remaining > 0 {
                    return Scanned {
                        complete: at,
                        oversize: None,
                    };
                }
            }
            let Some(prefix) = bytes.get(at..at + PREFIX) else {
                return Scanned {
                    complete: at,
                    oversize: None,
                };
            };
            let len = u64::from(u32::from_be_bytes([
                prefix[1], prefix[2], prefix[3], prefix[4],
            ]));
            if len > self.limit {
                return Scanned {
                    complete: at,
                    oversize: Some(len),
                };
            }
            at += PREFIX;
            self.remaining = len;
        }
    }
}

fn too_large(len: u64, limit: usize) -> Status {
    Status::from(Error::resource_exhausted(
        MESSAGE_TOO_LARGE,
        format!("a message of {len} bytes is over the limit of {limit} bytes"),
        None,
    ))
}

/// What a body does on a message over the limit.
enum OnOversize {
    /// A request body fails (the handler or upstream sees a broken stream) and raises the
    /// flag, so that the caller is answered `RESOURCE_EXHAUSTED`.
    Fail(Arc<AtomicBool>),
    /// A response body ends there with `RESOURCE_EXHAUSTED` in its trailers.
    Trailers,
}

/// A gRPC body passed on message by message until one is over the limit.
struct Limited {
    inner: Body,
    limit: usize,
    scanner: MessageScanner,
    /// An incomplete message prefix, held back until the rest of it comes.
    held: BytesMut,
    /// Frames to give before the inner body's (read ahead, or due after the held bytes).
    queued: VecDeque<Result<Frame<Bytes>, Status>>,
    on_oversize: OnOversize,
    done: bool,
}

impl Limited {
    fn new(inner: Body, limit: usize, on_oversize: OnOversize) -> Self {
        Self {
            inner,
            limit,
            scanner: MessageScanner::new(limit),
            held: BytesMut::new(),
            queued: VecDeque::new(),
            on_oversize,
            done: false,
        }
    }

    fn next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(frame) = self.queued.pop_front() {
            return Poll::Ready(Some(frame));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }
}

impl http_body::Body for Limited {
    type Data = Bytes;
    type Error = Status;

    fn is_end_stream(&self) -> bool {
        self.queued.is_empty()
            && (self.done || (self.held.is_empty() && self.inner.is_end_stream()))
    }

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(this.queued.pop_front());
            }
            let frame = match std::task::ready!(this.next(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    // Ended inside a prefix: pass the bytes on, the receiver judges them.
                    this.done = true;
                    if this.held.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(this.held.split().freeze()))));
                }
            };
            let data = match frame.into_data() {
                Ok(data) => data,
                Err(trailers) => {
                    if this.held.is_empty() {
                        return Poll::Ready(Some(Ok(trailers)));
                    }
                    this.queued.push_front(Ok(trailers));
                    return Poll::Ready(Some(Ok(Frame::data(this.held.split().freeze()))));
                }
            };
            let data = if this.held.is_empty() {
                data
            } else {
                this.held.extend_from_slice(&data);
                this.held.split().freeze()
            };
            let scanned = this.scanner.scan(&data);
            if let Some(len) = scanned.oversize {
                this.done = true;
                let status = too_large(len, this.limit);
                match &this.on_oversize {
                    OnOversize::Fail(flag) => {
                        flag.store(true, Ordering::SeqCst);
                        return Poll::Ready(Some(Err(status)));
                    }
                    OnOversize::Trailers => {
                        this.queued.clear();
                        let mut trailers = http::HeaderMap::new();
                        status.add_header(&mut trailers)?;
                        this.queued.push_back(Ok(Frame::trailers(trailers)));
                        if scanned.complete == 0 {
                            continue;
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data.slice(..scanned.complete)))));
                    }
                }
            }
            this.held.extend_from_slice(&data[scanned.complete..]);
            if scanned.complete > 0 {
                return Poll::Ready(Some(Ok(Frame::data(data.slice(..scanned.complete)))));
            }
        }
    }
}

/// Tower layer of the kit's server: refuses a message over `limit` bytes in either direction.
#[derive(Clone)]
pub struct MessageSizeLayer {
    limit: usize,
}

impl MessageSizeLayer {
    pub fn new(limit: usize) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for MessageSizeLayer {
    type Service = MessageSize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MessageSize {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Clone)]
pub struct MessageSize<S> {
    inner: S,
    limit: usize,
}

impl<S, B> Service<http::Request<Body>> for MessageSize<S>
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The ready service serves this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.limit;
        Box::pin(async move {
            let (parts, mut body) = request.into_parts();
            // Read ahead to the first message's prefix: a unary call over the limit is refused
            // before anything is called. Every client sends its first message unasked (no
            // wuye method waits for the server first).
            let mut read = VecDeque::new();
            let mut prefix = Vec::with_capacity(PREFIX);
            while prefix.len() < PREFIX {
                let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
                let Some(frame) = frame else { break };
                let data = frame.as_ref().ok().and_then(|f| f.data_ref());
                let more = match data {
                    Some(data) => {
                        let take = (PREFIX - prefix.len()).min(data.len());
                        prefix.extend_from_slice(&data[..take]);
                        true
                    }
                    None => false,
                };
                read.push_back(frame);
                if !more {
                    break;
                }
            }
            if let Some(len) = MessageScanner::new(limit).scan(&prefix).oversize {
                return Ok(too_large(len, limit).into_http());
            }
            let failed = Arc::new(AtomicBool::new(false));
            let mut limited = Limited::new(body, limit, OnOversize::Fail(failed.clone()));
            limited.queued = read;
            let request = http::Request::from_parts(parts, Body::new(limited));
            let response = inner.call(request).await?;
            if failed.load(Ordering::SeqCst) {
                // A later message of a client stream was over the limit.
                return Ok(too_large(limit as u64 + 1, limit).into_http());
            }
            Ok(response
                .map(|body| Body::new(Limited::new(Body::new(body), limit, OnOversize::Trailers))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: usize) -> Vec<u8> {
        let mut m = vec![0];
        m.extend_from_slice(&(len as u32).to_be_bytes());
        m.extend(std::iter::repeat_n(7, len));
        m
    }

    #[test]
    fn scans_messages_split_anywhere() {
        let body: Vec<u8> = [message(3), message(0), message(10)].concat();
        for split in 0..=body.len() {
            let mut scanner = MessageScanner::new(10);
            let first = scanner.scan(&body[..split]);
            assert_eq!(first.oversize, None);
            let rest = [&body[first.complete..split], &body[split..]].concat();
            let second = scanner.scan(&rest);
            assert_eq!(second.oversize, None);
            assert_eq!(
                first.complete + second.complete,
                body.len(),
                "split {split}"
            );
        }
    }

    #[test]
    fn finds_the_message_over_the_limit() {
        let body: Vec<u8> = [message(3), message(11), message(1)].concat();
        let scanned = MessageScanner::new(10).scan(&body);
        assert_eq!(
            scanned,
            Scanned {
                complete: 8,
                oversize: Some(11)
            }
        );
        // An incomplete prefix is left for later.
        let scanned = MessageScanner::new(10).scan(&body[..10]);
        assert_eq!(
            scanned,
            Scanned {
                complete: 8,
                oversize: None
            }
        );
    }

    fn collect(body: Limited) -> (Vec<u8>, Option<http::HeaderMap>, Option<Status>) {
        let mut body = Box::pin(body);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let (mut data, mut trailers, mut error) = (Vec::new(), None, None);
        while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(d) => data.extend_from_slice(&d),
                    Err(frame) => trailers = frame.into_trailers().ok(),
                },
                Err(e) => error = Some(e),
            }
        }
        (data, trailers, error)
    }

    fn chunked(bytes: &[u8], size: usize) -> Body {
        let chunks: Vec<Result<Frame<Bytes>, Status>> = bytes
            .chunks(size)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        Body::new(http_body_util_stream(chunks))
    }

    /// A body of the given frames.
    fn http_body_util_stream(
        frames: Vec<Result<Frame<Bytes>, Status>>,
    ) -> impl http_body::Body<Data = Bytes, Error = Status> + Send + 'static {
        struct Frames(VecDeque<Result<Frame<Bytes>, Status>>);
        impl http_body::Body for Frames {
            type Data = Bytes;
            type Error = Status;
            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
                Poll::Ready(self.0.pop_front())
            }
        }
        Frames(frames.into())
    }

    #[test]
    fn a_response_ends_before_the_message_over_the_limit() {
        let body: Vec<u8> = [message(3), message(11), message(1)].concat();
        for size in 1..body.len() {
            let (data, trailers, error) =
                collect(Limited::new(chunked(&body, size), 10, OnOversize::Trailers));
            assert_eq!(data, message(3), "chunks of {size}");
            assert!(error.is_none());
            let status = Status::from_header_map(&trailers.unwrap()).unwrap();
            assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        }
    }

    #[test]
    fn a_request_fails_at_the_message_over_the_limit_and_says_so() {
        let body: Vec<u8> = [message(3), message(11)].concat();
        let flag = Arc::new(AtomicBool::new(false));
        let (_, _, error) = collect(Limited::new(
            chunked(&body, 4),
            10,
            OnOversize::Fail(flag.clone()),
        ));
        assert_eq!(error.unwrap().code(), tonic::Code::ResourceExhausted);
        assert!(flag.load(Ordering::SeqCst));
        // Within the limit everything passes untouched.
        let body: Vec<u8> = [message(3), message(10)].concat();
        let (data, _, error) = collect(Limited::new(
            chunked(&body, 4),
            10,
            OnOversize::Fail(Arc::new(AtomicBool::new(false))),
        ));
        assert_eq!((data, error.is_none()), (body, true));
    }
}

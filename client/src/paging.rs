//! Paging: a List call's pages, or its items, as a stream. Every List call of the contracts
//! (a request with `page_token`, a response with `next_page_token`) is [`Paged`]; a response
//! with one list of records is [`Listing`] (both generated with the contracts, in wuye-proto).

use futures::{Stream, TryStreamExt, stream};
use tonic::Status;

pub use wuye_proto::{Listing, Paged};

/// The pages of `request` (from its own page token on), each asked of `call`, until a
/// response has no next page token. The stream ends after the first error.
///
/// ```ignore
/// let mut pages = wuye_client::pages(request, async |r| households.list_units(r).await);
/// ```
pub fn pages<Q, F>(request: Q, call: F) -> impl Stream<Item = Result<Q::Response, Status>>
where
    Q: Paged + Clone,
    F: AsyncFnMut(Q) -> Result<tonic::Response<Q::Response>, Status>,
{
    stream::unfold((call, Some(request)), |(mut call, request)| async move {
        let request = request?;
        match call(request.clone()).await {
            Ok(response) => {
                let response = response.into_inner();
                let token = Q::next_page_token(&response);
                let next = (!token.is_empty()).then(|| {
                    let mut next = request;
                    next.set_page_token(token.to_owned());
                    next
                });
                Some((Ok(response), (call, next)))
            }
            Err(status) => Some((Err(status), (call, None))),
        }
    })
}

/// The records of every page of `request`, in order: see [`pages`].
pub fn all<Q, F>(
    request: Q,
    call: F,
) -> impl Stream<Item = Result<<Q::Response as Listing>::Item, Status>>
where
    Q: Paged + Clone,
    Q::Response: Listing,
    F: AsyncFnMut(Q) -> Result<tonic::Response<Q::Response>, Status>,
{
    pages(request, call)
        .map_ok(|page| stream::iter(page.items().into_iter().map(Ok)))
        .try_flatten()
}

#[cfg(test)]
#[path = "paging_tests.rs"]
mod tests;

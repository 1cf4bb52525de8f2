use futures::{StreamExt, TryStreamExt};
use tonic::{Response, Status};
use wuye_proto::customerservice::{Complaint, ListComplaintsRequest, ListComplaintsResponse};

use super::*;

/// Seven complaints served three to a page, the token the index of the next.
async fn page(request: ListComplaintsRequest) -> Result<Response<ListComplaintsResponse>, Status> {
    let from: usize = match request.page_token.as_str() {
        "" => 0,
        token => token
            .parse()
            .map_err(|_| Status::invalid_argument("bad token"))?,
    };
    let to = (from + 3).min(7);
    Ok(Response::new(ListComplaintsResponse {
        complaints: (from..to)
            .map(|i| Complaint {
                id: format!("c-{i}"),
                ..Default::default()
            })
            .collect(),
        next_page_token: if to < 7 {
            to.to_string()
        } else {
            String::new()
        },
    }))
}

#[tokio::test]
async fn pages_follow_the_next_page_token_to_the_end() {
    let mut asked = Vec::new();
    let pages: Vec<_> = pages(ListComplaintsRequest::default(), async |r| {
        asked.push(r.page_token.clone());
        page(r).await
    })
    .try_collect()
    .await
    .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(asked, ["", "3", "6"]);

    let ids: Vec<String> = all(ListComplaintsRequest::default(), async |r| page(r).await)
        .map_ok(|c| c.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, (0..7).map(|i| format!("c-{i}")).collect::<Vec<_>>());

    // From a page of the caller's own.
    let start = ListComplaintsRequest {
        page_token: "6".into(),
        ..Default::default()
    };
    let rest: Vec<_> = all(start, async |r| page(r).await)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
}

#[tokio::test]
async fn paging_ends_after_an_error() {
    let start = ListComplaintsRequest {
        page_token: "nonsense".into(),
        ..Default::default()
    };
    let answers: Vec<_> = pages(start, async |r| page(r).await).collect().await;
    assert_eq!(answers.len(), 1);
    assert_eq!(
        answers[0].as_ref().unwrap_err().code(),
        tonic::Code::InvalidArgument
    );
}

//! The customer archives (客户档案) through the gateway, on SQLite and PostgreSQL: household
//! files from move-ins (ARC-3, ARC-4), documents that never change (ARC-9), access only by
//! approval (ARC-7 to ARC-11), the register chained by hashes (ARC-12), confidentiality of
//! personal identifiers (ARC-6, ARC-11) and retention (KEY-10, ARC-12).

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Connection;
use tokio_stream::StreamExt;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use wuye_kit::{
    clock::Clock,
    time::{from_timestamp, to_timestamp},
};
use wuye_tests::{
    Authed, Backend, PROPERTY, Stack, both_backends, data_dir, database_url,
    proto::{
        archives::{
            AccessState, ApproveAccessRequestRequest, ApproveDestructionRequest, AuditOutcome,
            CreateAccessRequestRequest, Document, DocumentCategory, DocumentHeader,
            DownloadDocumentRequest, FilingState, GetAccessRequestRequest, GetHouseholdFileRequest,
            HandOverRecordRequest, HouseholdFile, ListAccessRequestsRequest,
            ListAuditEntriesRequest, ListDocumentsRequest, ListHouseholdFilesRequest,
            ListRetainedRecordsRequest, OfficialReading, ProposalState, ProposeDestructionRequest,
            ReadPersonalDataRequest, ReaderKind, RecordCopyRequest, RecordPersonalDataRequest,
            RetainedState, RetentionClass, UploadDocumentRequest, VerifyAuditChainRequest,
            access_service_client::AccessServiceClient, audit_service_client::AuditServiceClient,
            document_service_client::DocumentServiceClient, download_document_response,
            household_file_service_client::HouseholdFileServiceClient,
            retention_service_client::RetentionServiceClient, upload_document_request,
        },
        customerservice::{CreateUnitRequest, RecordMoveInRequest, Resident, ResidentRelation},
    },
};

both_backends!(
    move_in_opens_the_file_with_its_deadline_and_late_files_are_listed,
    a_50_mb_document_streams_in_and_out_unchanged_and_a_correction_keeps_the_old,
    reading_needs_an_approved_request_and_refusals_are_registered,
    personal_identifiers_are_not_in_the_database_in_clear,
    a_changed_or_removed_register_entry_is_detected,
    records_past_retention_are_destroyed_only_after_approval,
    bad_input_is_refused_whole_and_retries_do_not_duplicate,
);

const CLERK: &str = "cs_clerk";
const SUPERVISOR: &str = "cs_supervisor";

fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn files(stack: &Stack, role: &str) -> HouseholdFileServiceClient<Authed> {
    HouseholdFileServiceClient::new(stack.as_role(role, PROPERTY))
}

fn documents(stack: &Stack, role: &str) -> DocumentServiceClient<Authed> {
    DocumentServiceClient::new(stack.as_role(role, PROPERTY))
        .max_decoding_message_size(8 * 1024 * 1024)
}

fn access(stack: &Stack, role: &str) -> AccessServiceClient<Authed> {
    AccessServiceClient::new(stack.as_role(role, PROPERTY))
}

fn audit(stack: &Stack) -> AuditServiceClient<Authed> {
    AuditServiceClient::new(stack.as_role(SUPERVISOR, PROPERTY))
}

fn retention(stack: &Stack, role: &str) -> RetentionServiceClient<Authed> {
    RetentionServiceClient::new(stack.as_role(role, PROPERTY))
}

fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Records a move-in in customer-service at `at` (the clock is set there) and waits for the
/// archives to open the household file from the event.
async fn move_in(stack: &Stack, room: &str, at: DateTime<Utc>) -> HouseholdFile {
    stack.clock.set(at);
    let mut households = stack.households(CLERK);
    let unit = households
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{room}"),
            building: "3".into(),
            entrance: "2".into(),
            floor: 15,
            room: room.into(),
            area_m2: 89.5,
            state: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    let household = households
        .record_move_in(RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: format!("move-in-{room}"),
            unit_id: unit.id,
            residents: vec![Resident {
                name: "李明".into(),
                relation: ResidentRelation::Owner.into(),
                phone: "13800138000".into(),
                primary_contact: true,
            }],
            move_in_time: Some(to_timestamp(at)),
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    let mut client = files(stack, CLERK);
    // The file arrives through the event stream: wait for it, not for a fixed time.
    let give_up = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed = client
            .list_household_files(ListHouseholdFilesRequest {
                property_id: PROPERTY.into(),
                page_size: 500,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(file) = listed
            .household_files
            .into_iter()
            .find(|f| f.household_id == household.id)
        {
            return file;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "no household file opened for the move-in"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn header(request_id: &str, file: &str, category: DocumentCategory, title: &str) -> DocumentHeader {
    DocumentHeader {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        household_file_id: file.into(),
        category: category.into(),
        title: title.into(),
        content_type: "application/pdf".into(),
        ..Default::default()
    }
}

/// Uploads `content` after `header`, in pieces of `piece` bytes.
async fn upload(
    stack: &Stack,
    role: &str,
    header: DocumentHeader,
    content: Vec<u8>,
    piece: usize,
) -> Result<Document, Status> {
    let mut messages = vec![UploadDocumentRequest {
        part: Some(upload_document_request::Part::Header(header)),
    }];
    messages.extend(content.chunks(piece).map(|c| UploadDocumentRequest {
        part: Some(upload_document_request::Part::Chunk(c.to_vec())),
    }));
    documents(stack, role)
        .upload_document(tokio_stream::iter(messages))
        .await
        .map(|r| r.into_inner().document.unwrap())
}

async fn small(
    stack: &Stack,
    request_id: &str,
    file: &str,
    category: DocumentCategory,
) -> Document {
    let content = format!("{request_id}: 扫描件").into_bytes();
    upload(
        stack,
        CLERK,
        header(request_id, file, category, request_id),
        content,
        1024,
    )
    .await
    .unwrap()
}

/// Downloads a document: its description and content.
async fn download(
    stack: &Stack,
    role: &str,
    document_id: &str,
    access_request_id: &str,
) -> Result<(Document, Vec<u8>), Status> {
    let mut stream = documents(stack, role)
        .download_document(DownloadDocumentRequest {
            property_id: PROPERTY.into(),
            document_id: document_id.into(),
            access_request_id: access_request_id.into(),
        })
        .await?
        .into_inner();
    let mut document = None;
    let mut content = Vec::new();
    while let Some(message) = stream.next().await {
        match message?.part {
            Some(download_document_response::Part::Document(d)) => document = Some(d),
            Some(download_document_response::Part::Chunk(c)) => content.extend_from_slice(&c),
            None => {}
        }
    }
    Ok((document.expect("the document comes first"), content))
}

fn request_for(
    request_id: &str,
    file: &str,
    documents: &[&str],
    hours: i64,
    now: DateTime<Utc>,
) -> CreateAccessRequestRequest {
    CreateAccessRequestRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        household_file_id: file.into(),
        document_ids: documents.iter().map(|d| d.to_string()).collect(),
        purpose: "核对房屋档案".into(),
        reader_kind: ReaderKind::Staff.into(),
        valid_until_time: Some(to_timestamp(now + chrono::Duration::hours(hours))),
        ..Default::default()
    }
}

async fn approve(stack: &Stack, id: &str) -> Result<AccessState, Status> {
    access(stack, SUPERVISOR)
        .approve_access_request(ApproveAccessRequestRequest {
            property_id: PROPERTY.into(),
            access_request_id: id.into(),
            note: String::new(),
        })
        .await
        .map(|r| r.into_inner().access_request.unwrap().state())
}

async fn list_files(stack: &Stack, state: FilingState) -> Vec<String> {
    files(stack, "project_manager")
        .list_household_files(ListHouseholdFilesRequest {
            property_id: PROPERTY.into(),
            filing_state: state.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .household_files
        .into_iter()
        .map(|f| f.id)
        .collect()
}

async fn get_file(stack: &Stack, id: &str) -> HouseholdFile {
    files(stack, CLERK)
        .get_household_file(GetHouseholdFileRequest {
            property_id: PROPERTY.into(),
            household_file_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .household_file
        .unwrap()
}

async fn move_in_opens_the_file_with_its_deadline_and_late_files_are_listed(backend: Backend) {
    let stack = Stack::start(backend).await;
    // rule ARC-3: Thursday 24 September 2026; 25–27 September is 中秋 (a Friday holiday and
    // the weekend), so the three working days are 28, 29 and 30 September.
    let file = move_in(&stack, "1502", shanghai(2026, 9, 24, 16, 0)).await;
    assert_eq!(
        from_timestamp(file.filing_due_time.as_ref().unwrap()),
        Some(shanghai(2026, 10, 1, 0, 0))
    );
    assert_eq!(file.unit_label, "3-2-1502");
    assert_eq!(file.filing_state(), FilingState::Open);
    assert_eq!(file.missing_categories.len(), 6); // rule ARC-4

    stack.clock.set(shanghai(2026, 9, 30, 23, 59));
    assert!(list_files(&stack, FilingState::Overdue).await.is_empty());
    stack.clock.set(shanghai(2026, 10, 1, 0, 0));
    assert_eq!(
        list_files(&stack, FilingState::Overdue).await,
        [file.id.as_str()]
    );

    // Five categories do not complete the file; the sixth does, late.
    use DocumentCategory::*;
    for (i, category) in [Personal, Family, House, Decoration, Fees]
        .into_iter()
        .enumerate()
    {
        small(&stack, &format!("late-{i}"), &file.id, category).await;
    }
    let got = get_file(&stack, &file.id).await;
    assert_eq!(got.filing_state(), FilingState::Overdue);
    assert_eq!(got.missing_categories, [i32::from(Photos)]);
    small(&stack, "late-photos", &file.id, Photos).await;
    let got = get_file(&stack, &file.id).await;
    assert_eq!(got.filing_state(), FilingState::FiledLate);
    assert!(got.missing_categories.is_empty());
    assert!(list_files(&stack, FilingState::Overdue).await.is_empty());
    assert_eq!(
        list_files(&stack, FilingState::FiledLate).await,
        [file.id.as_str()]
    );

    // Thursday 8 October: Friday 9, Saturday 10 (a working day, 调休) and Monday 12.
    let second = move_in(&stack, "1602", shanghai(2026, 10, 8, 10, 0)).await;
    assert_eq!(
        from_timestamp(second.filing_due_time.as_ref().unwrap()),
        Some(shanghai(2026, 10, 13, 0, 0))
    );
    for (i, category) in [Personal, Family, House, Decoration, Fees, Photos]
        .into_iter()
        .enumerate()
    {
        small(&stack, &format!("on-time-{i}"), &second.id, category).await;
    }
    assert_eq!(
        get_file(&stack, &second.id).await.filing_state(),
        FilingState::Filed
    );
    assert_eq!(
        list_files(&stack, FilingState::Filed).await,
        [second.id.as_str()]
    );
    assert_eq!(list_files(&stack, FilingState::FiledLate).await, [file.id]);
}

/// Deterministic content that does not compress to a pattern.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn a_50_mb_document_streams_in_and_out_unchanged_and_a_correction_keeps_the_old(
    backend: Backend,
) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "1502", stack.clock.now()).await;
    let big = content(50 * 1024 * 1024, 7);
    let first = upload(
        &stack,
        CLERK,
        header("big", &file.id, DocumentCategory::House, "房屋档案"),
        big.clone(),
        256 * 1024,
    )
    .await
    .unwrap();
    assert_eq!(first.size_bytes, big.len() as i64);
    assert_eq!(first.version, 1);
    assert_eq!(first.sha256.len(), 64);
    // rule ARC-6: stored sealed chunk by chunk (a header, then a tag per 64 KiB), streamed.
    let stored = data_dir(&stack)
        .join("archives-documents")
        .join(PROPERTY)
        .join(&first.id);
    let stored = std::fs::metadata(stored).unwrap().len() as usize;
    assert_eq!(stored, 40 + big.len() + 16 * big.len().div_ceil(64 * 1024));

    let granted = access(&stack, CLERK)
        .create_access_request(request_for(
            "read-big",
            &file.id,
            &[&first.id],
            24,
            stack.clock.now(),
        ))
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    assert_eq!(
        approve(&stack, &granted.id).await.unwrap(),
        AccessState::Approved
    );
    let (described, back) = download(&stack, CLERK, &first.id, &granted.id)
        .await
        .unwrap();
    assert_eq!(described.sha256, first.sha256);
    assert!(back == big, "the content came back changed");

    // The server checks a hash the client gives: the same content under its hash passes,
    // other content under it does not.
    let receipt = upload(
        &stack,
        CLERK,
        header("receipt", &file.id, DocumentCategory::Fees, "收费单据"),
        b"receipt 2026-11".to_vec(),
        4,
    )
    .await
    .unwrap();
    let mut same = header(
        "receipt-again",
        &file.id,
        DocumentCategory::Fees,
        "收费单据",
    );
    same.sha256 = receipt.sha256.clone();
    let again = upload(&stack, CLERK, same, b"receipt 2026-11".to_vec(), 5)
        .await
        .unwrap();
    assert_eq!(again.sha256, receipt.sha256);
    let mut wrong = header("wrong-hash", &file.id, DocumentCategory::Fees, "错误");
    wrong.sha256 = receipt.sha256.clone();
    let refused = upload(&stack, CLERK, wrong, b"receipt 2026-12".to_vec(), 4)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(fields(&refused), ["header.sha256"]);

    // rule ARC-9: a correction is the next version; the first stays as it was.
    let mut correction = header(
        "fix",
        &file.id,
        DocumentCategory::Unspecified,
        "房屋档案（更正）",
    );
    correction.supersedes_document_id = first.id.clone();
    correction.correction_reason = "面积登记有误".into();
    let second = upload(
        &stack,
        CLERK,
        correction.clone(),
        b"corrected".to_vec(),
        1024,
    )
    .await
    .unwrap();
    assert_eq!(
        (second.version, second.category()),
        (2, DocumentCategory::House)
    );
    assert_eq!(second.supersedes_document_id, first.id);
    // Only the latest version is corrected.
    correction.request_id = "fix-again".into();
    let stale = upload(&stack, CLERK, correction, b"x".to_vec(), 1024)
        .await
        .unwrap_err();
    assert_eq!(
        (stale.code(), reason(&stale)),
        (Code::FailedPrecondition, "DOCUMENT_SUPERSEDED".into())
    );

    let listed = documents(&stack, CLERK)
        .list_documents(ListDocumentsRequest {
            property_id: PROPERTY.into(),
            household_file_id: file.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .documents;
    let old = listed.iter().find(|d| d.id == first.id).unwrap();
    assert!(old.superseded);
    assert_eq!(
        (old.sha256.as_str(), old.size_bytes),
        (first.sha256.as_str(), first.size_bytes)
    );
    let (_, old_content) = download(&stack, CLERK, &first.id, &granted.id)
        .await
        .unwrap();
    assert!(old_content == big, "the earlier version changed");
}

async fn reading_needs_an_approved_request_and_refusals_are_registered(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "1502", stack.clock.now()).await;
    let house = small(&stack, "house", &file.id, DocumentCategory::House).await;
    let fees = small(&stack, "fees", &file.id, DocumentCategory::Fees).await;
    let now = stack.clock.now();
    let denied = |r: Result<(Document, Vec<u8>), Status>| {
        let s = r.unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied, "{s:?}");
        reason(&s)
    };

    // rule ARC-11: no approved request, no reading.
    assert_eq!(
        denied(download(&stack, CLERK, &house.id, "").await),
        "ACCESS_NOT_APPROVED"
    );
    let request = access(&stack, CLERK)
        .create_access_request(request_for("r1", &file.id, &[&house.id], 48, now))
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    assert_eq!(request.state(), AccessState::Pending);
    assert_eq!(
        denied(download(&stack, CLERK, &house.id, &request.id).await),
        "ACCESS_NOT_APPROVED"
    );
    assert_eq!(
        approve(&stack, &request.id).await.unwrap(),
        AccessState::Approved
    );
    let (_, body) = download(&stack, CLERK, &house.id, &request.id)
        .await
        .unwrap();
    assert_eq!(
        body,
        b"house: \xe6\x89\xab\xe6\x8f\x8f\xe4\xbb\xb6".to_vec()
    );
    // Outside its documents, by someone else, or a copy it does not allow.
    assert_eq!(
        denied(download(&stack, CLERK, &fees.id, &request.id).await),
        "OUTSIDE_REQUEST"
    );
    assert_eq!(
        denied(download(&stack, "project_manager", &house.id, &request.id).await),
        "NOT_REQUESTER"
    );
    let copy = |request_id: &str, access_request_id: &str| RecordCopyRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        document_id: house.id.clone(),
        access_request_id: access_request_id.into(),
        copies: 2,
        purpose: "办理产权证".into(),
    };
    let refused = documents(&stack, CLERK)
        .record_copy(copy("c1", &request.id))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "COPYING_NOT_APPROVED".into())
    );
    // After it runs out.
    stack.clock.advance(chrono::Duration::hours(49));
    assert_eq!(
        denied(download(&stack, CLERK, &house.id, &request.id).await),
        "ACCESS_EXPIRED"
    );

    // A supervisor does not approve their own request.
    let own = access(&stack, SUPERVISOR)
        .create_access_request(request_for(
            "r2",
            &file.id,
            &[&house.id],
            24,
            stack.clock.now(),
        ))
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    let refused = approve(&stack, &own.id).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "SELF_APPROVAL".into())
    );
    // Nor does anyone else but the supervisor (the gateway's policy).
    let refused = access(&stack, CLERK)
        .approve_access_request(ApproveAccessRequestRequest {
            property_id: PROPERTY.into(),
            access_request_id: own.id.clone(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // rule ARC-8: a government official's reading records the official, the body and the
    // proof; without proof there is no request.
    let mut official = request_for("r3", &file.id, &[&house.id], 24, stack.clock.now());
    official.reader_kind = ReaderKind::GovernmentOfficial.into();
    official.copying = true;
    official.official = Some(OfficialReading {
        official_name: "张警官".into(),
        official_body: "某区公安分局".into(),
        ..Default::default()
    });
    let refused = access(&stack, CLERK)
        .create_access_request(official.clone())
        .await
        .unwrap_err();
    assert_eq!(
        fields(&refused),
        ["official.proof_kind", "official.proof_number"]
    );
    let proof = official.official.as_mut().unwrap();
    proof.proof_kind = "介绍信".into();
    proof.proof_number = "公(2026)118号".into();
    let by_official = access(&stack, CLERK)
        .create_access_request(official)
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    approve(&stack, &by_official.id).await.unwrap();
    let got = access(&stack, "project_manager")
        .get_access_request(GetAccessRequestRequest {
            property_id: PROPERTY.into(),
            access_request_id: by_official.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    assert_eq!(got.reader_kind(), ReaderKind::GovernmentOfficial);
    assert_eq!(got.official.unwrap().proof_number, "公(2026)118号");
    assert_eq!(got.decided_by.unwrap().role, SUPERVISOR);
    // rule ARC-10: a copy is a recorded event.
    let recorded = documents(&stack, CLERK)
        .record_copy(copy("c2", &by_official.id))
        .await
        .unwrap()
        .into_inner()
        .copy
        .unwrap();
    assert_eq!(
        (recorded.copies, recorded.copied_by.unwrap().role.as_str()),
        (2, CLERK)
    );

    // rule ARC-12: every refusal, reading, copy and approval is in the register.
    let entries = audit(&stack)
        .list_audit_entries(ListAuditEntriesRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let refusals: Vec<String> = entries
        .iter()
        .filter(|e| e.outcome() == AuditOutcome::Refused)
        .map(|e| e.reason.clone())
        .collect();
    assert_eq!(
        refusals,
        [
            "ACCESS_NOT_APPROVED",
            "ACCESS_NOT_APPROVED",
            "OUTSIDE_REQUEST",
            "NOT_REQUESTER",
            "COPYING_NOT_APPROVED",
            "ACCESS_EXPIRED",
            "SELF_APPROVAL"
        ]
    );
    use wuye_tests::proto::archives::AuditAction::*;
    let done: Vec<_> = entries
        .iter()
        .filter(|e| e.outcome() == AuditOutcome::Done)
        .map(|e| e.action())
        .collect();
    assert_eq!(
        done,
        [
            UploadDocument,
            UploadDocument,
            RequestAccess,
            ApproveAccess,
            ReadDocument,
            RequestAccess,
            RequestAccess,
            ApproveAccess,
            CopyDocument
        ]
    );
    let verified = audit(&stack)
        .verify_audit_chain(VerifyAuditChainRequest {
            property_id: PROPERTY.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{verified:?}");
    assert_eq!(verified.entries_checked, entries.len() as i64);
}

const ID_NUMBER: &str = "110101199001011234";
const PHONE: &str = "13912345678";

async fn personal_identifiers_are_not_in_the_database_in_clear(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "1502", stack.clock.now()).await;
    let recorded = files(&stack, CLERK)
        .record_personal_data(RecordPersonalDataRequest {
            property_id: PROPERTY.into(),
            household_file_id: file.id.clone(),
            holder_name: "李明".into(),
            id_number: ID_NUMBER.into(),
            phone: PHONE.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .household_file
        .unwrap();
    assert_eq!(recorded.masked_id_number, "**************1234");
    assert_eq!(recorded.masked_phone, "139****5678");

    // rule ARC-11: in clear only within an approval that covers personal data.
    let read = |access_request_id: String| ReadPersonalDataRequest {
        property_id: PROPERTY.into(),
        household_file_id: file.id.clone(),
        access_request_id,
    };
    let refused = files(&stack, CLERK)
        .read_personal_data(read(String::new()))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "ACCESS_NOT_APPROVED".into())
    );
    let mut ask = request_for("pd", &file.id, &[], 24, stack.clock.now());
    ask.personal_data = true;
    let granted = access(&stack, CLERK)
        .create_access_request(ask)
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    approve(&stack, &granted.id).await.unwrap();
    let clear = files(&stack, CLERK)
        .read_personal_data(read(granted.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (clear.id_number.as_str(), clear.phone.as_str()),
        (ID_NUMBER, PHONE)
    );

    // rule ARC-6: the database alone does not reveal them.
    let needles = [
        ID_NUMBER.to_owned(),
        PHONE.to_owned(),
        hex(ID_NUMBER),
        hex(PHONE),
    ];
    let haystack = match backend {
        Backend::Sqlite => {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-journal"] {
                let path = data_dir(&stack).join(format!("archives.db{suffix}"));
                if let Ok(b) = std::fs::read(&path) {
                    bytes.extend(b);
                }
            }
            assert!(bytes.len() > 4096, "the database file was read");
            bytes
        }
        Backend::Postgres => {
            let url = database_url(
                &stack,
                "archives",
                "SELECT 1 FROM household_files WHERE id = $1",
                &file.id,
            )
            .await;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            let mut text = String::new();
            for (table,) in tables {
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT t::text FROM \"{table}\" t"
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                rows.into_iter().for_each(|(r,)| text.push_str(&r));
            }
            assert!(text.contains(&file.id), "the tables were read");
            text.into_bytes()
        }
    };
    for needle in needles {
        assert!(
            !haystack
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "a personal identifier is in the database in clear"
        );
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn a_changed_or_removed_register_entry_is_detected(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "1502", stack.clock.now()).await;
    for (i, category) in [
        DocumentCategory::House,
        DocumentCategory::Fees,
        DocumentCategory::Photos,
        DocumentCategory::Family,
    ]
    .into_iter()
    .enumerate()
    {
        small(&stack, &format!("d{i}"), &file.id, category).await;
    }
    let verify = || async {
        audit(&stack)
            .verify_audit_chain(VerifyAuditChainRequest {
                property_id: PROPERTY.into(),
            })
            .await
            .unwrap()
            .into_inner()
    };
    let intact = verify().await;
    assert!(intact.intact && intact.entries_checked == 4, "{intact:?}");

    sqlx::any::install_default_drivers();
    let url = database_url(
        &stack,
        "archives",
        "SELECT 1 FROM household_files WHERE id = $1",
        &file.id,
    )
    .await;
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    let (detail,): (String,) =
        sqlx::query_as("SELECT detail FROM audit_entries WHERE property_id = $1 AND seq = 2")
            .bind(PROPERTY)
            .fetch_one(&mut db)
            .await
            .unwrap();
    // rule ARC-12: a changed entry …
    sqlx::query("UPDATE audit_entries SET detail = $2 WHERE property_id = $1 AND seq = 2")
        .bind(PROPERTY)
        .bind("photos v1 3 bytes")
        .execute(&mut db)
        .await
        .unwrap();
    let broken = verify().await;
    assert_eq!(
        (broken.intact, broken.first_broken_seq),
        (false, 2),
        "{broken:?}"
    );
    sqlx::query("UPDATE audit_entries SET detail = $2 WHERE property_id = $1 AND seq = 2")
        .bind(PROPERTY)
        .bind(&detail)
        .execute(&mut db)
        .await
        .unwrap();
    assert!(verify().await.intact);
    // … a removed one in the middle …
    let (row,): (String,) =
        sqlx::query_as("SELECT hash FROM audit_entries WHERE property_id = $1 AND seq = 3")
            .bind(PROPERTY)
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(row.len(), 64);
    sqlx::query("DELETE FROM audit_entries WHERE property_id = $1 AND seq = 3")
        .bind(PROPERTY)
        .execute(&mut db)
        .await
        .unwrap();
    let broken = verify().await;
    assert_eq!(
        (broken.intact, broken.first_broken_seq),
        (false, 3),
        "{broken:?}"
    );
    // … and the last one.
    sqlx::query("DELETE FROM audit_entries WHERE property_id = $1 AND seq >= 3")
        .bind(PROPERTY)
        .execute(&mut db)
        .await
        .unwrap();
    let broken = verify().await;
    assert_eq!(
        (broken.intact, broken.first_broken_seq),
        (false, 3),
        "{broken:?}"
    );
    db.close().await.ok();
}

async fn hand_over(
    stack: &Stack,
    id: &str,
    class: RetentionClass,
    closed: DateTime<Utc>,
) -> String {
    retention(stack, CLERK)
        .hand_over_record(HandOverRecordRequest {
            property_id: PROPERTY.into(),
            request_id: format!("hand-over-{id}"),
            source: "customer-service".into(),
            record_kind: "key_loan".into(),
            record_id: id.into(),
            retention_class: class.into(),
            close_time: Some(to_timestamp(closed)),
            summary: format!("钥匙借用登记 {id}"),
            content: format!("record {id}").into_bytes(),
        })
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap()
        .id
}

async fn records_past_retention_are_destroyed_only_after_approval(backend: Backend) {
    let stack = Stack::start(backend).await;
    // The clock stands at Friday 27 November 2026.
    let key_due = hand_over(
        &stack,
        "k1",
        RetentionClass::KeyRecord,
        shanghai(2024, 11, 20, 10, 0),
    )
    .await;
    let key_young = hand_over(
        &stack,
        "k2",
        RetentionClass::KeyRecord,
        shanghai(2025, 6, 1, 10, 0),
    )
    .await;
    let key_last_day = hand_over(
        &stack,
        "k3",
        RetentionClass::KeyRecord,
        shanghai(2024, 11, 27, 8, 0),
    )
    .await;
    let archive_due = hand_over(
        &stack,
        "a1",
        RetentionClass::Archive,
        shanghai(2016, 11, 20, 10, 0),
    )
    .await;
    let archive_young = hand_over(
        &stack,
        "a2",
        RetentionClass::Archive,
        shanghai(2024, 11, 20, 10, 0),
    )
    .await;

    let propose = |request_id: &'static str, role: &'static str| {
        let mut client = retention(&stack, role);
        async move {
            client
                .propose_destruction(ProposeDestructionRequest {
                    property_id: PROPERTY.into(),
                    request_id: request_id.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .proposal
        }
    };
    // rules KEY-10, ARC-12: only what is past its retention.
    let proposal = propose("p1", CLERK).await.expect("records are due");
    let mut proposed: Vec<String> = proposal.records.iter().map(|r| r.id.clone()).collect();
    proposed.sort();
    let mut due = vec![key_due.clone(), archive_due.clone()];
    due.sort();
    assert_eq!(proposed, due);
    assert_eq!(propose("p1", CLERK).await.unwrap().id, proposal.id);

    // Nothing is destroyed before approval, and not by the proposer's own hand.
    let kept = |state: RetainedState| {
        let mut client = retention(&stack, CLERK);
        async move {
            let mut ids: Vec<String> = client
                .list_retained_records(ListRetainedRecordsRequest {
                    property_id: PROPERTY.into(),
                    state: state.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .records
                .into_iter()
                .map(|r| r.id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert!(kept(RetainedState::Destroyed).await.is_empty());
    let approve = |id: String, role: &'static str| {
        let mut client = retention(&stack, role);
        async move {
            client
                .approve_destruction(ApproveDestructionRequest {
                    property_id: PROPERTY.into(),
                    destruction_proposal_id: id,
                })
                .await
        }
    };
    assert_eq!(
        approve(proposal.id.clone(), CLERK)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let done = approve(proposal.id.clone(), SUPERVISOR)
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    assert_eq!(done.state(), ProposalState::Destroyed);
    assert!(
        done.records
            .iter()
            .all(|r| r.state() == RetainedState::Destroyed
                && r.size_bytes == 0
                && r.destroy_time.is_some())
    );
    assert_eq!(kept(RetainedState::Destroyed).await, due);
    let mut young = vec![
        key_young.clone(),
        key_last_day.clone(),
        archive_young.clone(),
    ];
    young.sort();
    assert_eq!(kept(RetainedState::Kept).await, young);
    assert!(propose("p2", CLERK).await.is_none());

    // The next morning the record closed on 27 November 2024 is due; its proposer (the
    // supervisor this time) cannot approve it.
    stack.clock.set(shanghai(2026, 11, 28, 0, 0));
    let next = propose("p3", SUPERVISOR).await.unwrap();
    assert_eq!(
        next.records
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        [key_last_day]
    );
    let refused = approve(next.id, SUPERVISOR).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "SELF_APPROVAL".into())
    );
}

async fn bad_input_is_refused_whole_and_retries_do_not_duplicate(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "1502", stack.clock.now()).await;
    let entries = || async {
        audit(&stack)
            .list_audit_entries(ListAuditEntriesRequest {
                property_id: PROPERTY.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries
            .len()
    };

    let refused = access(&stack, CLERK)
        .create_access_request(CreateAccessRequestRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&refused),
        [
            "request_id",
            "household_file_id",
            "document_ids",
            "purpose",
            "reader_kind",
            "valid_until_time"
        ]
    );
    let mut unknown = request_for(
        "r-unknown",
        &file.id,
        &["no-such-document"],
        24,
        stack.clock.now(),
    );
    let refused = access(&stack, CLERK)
        .create_access_request(unknown.clone())
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["document_ids"]);
    unknown.valid_until_time = Some(to_timestamp(stack.clock.now() + chrono::Duration::days(31)));
    let refused = access(&stack, CLERK)
        .create_access_request(unknown)
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["valid_until_time"]);

    let no_header = documents(&stack, CLERK)
        .upload_document(tokio_stream::iter(vec![UploadDocumentRequest {
            part: Some(upload_document_request::Part::Chunk(b"x".to_vec())),
        }]))
        .await
        .unwrap_err();
    assert_eq!(fields(&no_header), ["header"]);
    let bad = upload(
        &stack,
        CLERK,
        DocumentHeader {
            property_id: PROPERTY.into(),
            sha256: "XYZ".into(),
            ..Default::default()
        },
        b"x".to_vec(),
        1,
    )
    .await
    .unwrap_err();
    assert_eq!(
        fields(&bad),
        [
            "header.request_id",
            "header.household_file_id",
            "header.category",
            "header.title",
            "header.sha256"
        ]
    );
    let empty = upload(
        &stack,
        CLERK,
        header("empty", &file.id, DocumentCategory::Fees, "空"),
        Vec::new(),
        1,
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&empty), ["chunk"]);
    let future = retention(&stack, CLERK)
        .hand_over_record(HandOverRecordRequest {
            property_id: PROPERTY.into(),
            request_id: "h".into(),
            source: "customer-service".into(),
            record_kind: "key_loan".into(),
            record_id: "k1".into(),
            retention_class: RetentionClass::KeyRecord.into(),
            close_time: Some(to_timestamp(stack.clock.now() + chrono::Duration::days(1))),
            summary: "s".into(),
            content: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&future), ["close_time"]);
    // Nothing half-written: no request, no document, no register entry.
    assert_eq!(entries().await, 0);
    assert!(
        access(&stack, CLERK)
            .list_access_requests(ListAccessRequestsRequest {
                property_id: PROPERTY.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .access_requests
            .is_empty()
    );

    // Retries with the same request_id return the first result.
    let h = header("same", &file.id, DocumentCategory::Fees, "收费单据");
    let first = upload(&stack, CLERK, h.clone(), b"receipt".to_vec(), 3)
        .await
        .unwrap();
    let again = upload(&stack, CLERK, h, b"receipt".to_vec(), 3)
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    let ask = request_for(
        "same-request",
        &file.id,
        &[&first.id],
        24,
        stack.clock.now(),
    );
    let a = access(&stack, CLERK)
        .create_access_request(ask.clone())
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    let b = access(&stack, CLERK)
        .create_access_request(ask)
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    assert_eq!(a.id, b.id);
    let listed = documents(&stack, CLERK)
        .list_documents(ListDocumentsRequest {
            property_id: PROPERTY.into(),
            household_file_id: file.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .documents;
    assert_eq!(listed.len(), 1);
    // One upload, one request: two entries.
    assert_eq!(entries().await, 2);
}

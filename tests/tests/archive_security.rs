//! The archives against someone who can write to their database or their document store
//! (ARC-6, ARC-12; security issue, holes 9 and 13), through the gateway on SQLite and
//! PostgreSQL: the register is rewritten, cut back, or made plain again in the raw database;
//! documents are read, changed, cut and swapped in the raw document store. Each attack is
//! reported or refused, an honest register verifies across a rotation of the keyring, and what
//! was stored before (plain register entries, documents in clear) is re-linked and sealed at
//! start-up.

use std::time::Duration;

use sqlx::{Connection, Row};
use tokio_stream::StreamExt;
use tonic::{Code, Status};
use wuye_kit::{clock::Clock, config::Secret, seal::DEV_KEYS, time::to_timestamp};
use wuye_tests::{
    Authed, Backend, PROPERTY, Stack, both_backends, data_dir, database_url,
    proto::{
        archives::{
            ApproveAccessRequestRequest, CreateAccessRequestRequest, Document, DocumentCategory,
            DocumentHeader, DownloadDocumentRequest, HouseholdFile, ListAuditEntriesRequest,
            ListHouseholdFilesRequest, ReaderKind, UploadDocumentRequest, VerifyAuditChainRequest,
            VerifyAuditChainResponse, access_service_client::AccessServiceClient,
            audit_service_client::AuditServiceClient,
            document_service_client::DocumentServiceClient, download_document_response,
            household_file_service_client::HouseholdFileServiceClient, upload_document_request,
        },
        customerservice::{CreateUnitRequest, RecordMoveInRequest, Resident, ResidentRelation},
    },
};

both_backends!(
    a_register_rewritten_with_plain_hashes_is_detected,
    a_register_cut_back_past_a_checkpoint_is_detected,
    an_honest_register_verifies_across_a_rotation_of_the_keyring,
    plain_entries_from_before_are_relinked_once_and_never_again,
    documents_are_sealed_at_rest_and_read_back_exactly,
    documents_stored_in_clear_before_are_read_then_sealed_at_start,
);

const CLERK: &str = "cs_clerk";
const SUPERVISOR: &str = "cs_supervisor";

async fn move_in(stack: &Stack, room: &str) -> HouseholdFile {
    let mut households = stack.households(CLERK);
    let unit = households
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{room}"),
            building: "7".into(),
            entrance: "1".into(),
            floor: 3,
            room: room.into(),
            area_m2: 92.0,
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
                name: "赵敏".into(),
                relation: ResidentRelation::Owner.into(),
                phone: "13800138000".into(),
                primary_contact: true,
            }],
            move_in_time: Some(to_timestamp(stack.clock.now())),
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    let files = HouseholdFileServiceClient::new(stack.as_role(CLERK, PROPERTY));
    // The file arrives through customer-service's event stream.
    wuye_tests::eventually("the household file", Duration::from_secs(20), || {
        let mut files = files.clone();
        let household_id = household.id.clone();
        async move {
            files
                .list_household_files(ListHouseholdFilesRequest {
                    property_id: PROPERTY.into(),
                    page_size: 500,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .household_files
                .into_iter()
                .find(|f| f.household_id == household_id)
        }
    })
    .await
}

fn documents(stack: &Stack) -> DocumentServiceClient<Authed> {
    DocumentServiceClient::new(stack.as_role(CLERK, PROPERTY))
        .max_decoding_message_size(8 * 1024 * 1024)
}

async fn upload(stack: &Stack, request_id: &str, file: &str, content: &[u8]) -> Document {
    let mut messages = vec![UploadDocumentRequest {
        part: Some(upload_document_request::Part::Header(DocumentHeader {
            property_id: PROPERTY.into(),
            request_id: request_id.into(),
            household_file_id: file.into(),
            category: DocumentCategory::Personal.into(),
            title: "身份证复印件".into(),
            content_type: "image/jpeg".into(),
            ..Default::default()
        })),
    }];
    messages.extend(content.chunks(100_000).map(|c| UploadDocumentRequest {
        part: Some(upload_document_request::Part::Chunk(c.to_vec())),
    }));
    documents(stack)
        .upload_document(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner()
        .document
        .unwrap()
}

/// An approved reading of `document` by the clerk.
async fn approved_reading(stack: &Stack, file: &str, document: &str) -> String {
    let request = AccessServiceClient::new(stack.as_role(CLERK, PROPERTY))
        .create_access_request(CreateAccessRequestRequest {
            property_id: PROPERTY.into(),
            request_id: format!("read-{document}"),
            household_file_id: file.into(),
            document_ids: vec![document.into()],
            purpose: "核对身份".into(),
            reader_kind: ReaderKind::Staff.into(),
            valid_until_time: Some(to_timestamp(stack.clock.now() + chrono::Duration::days(2))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .access_request
        .unwrap();
    AccessServiceClient::new(stack.as_role(SUPERVISOR, PROPERTY))
        .approve_access_request(ApproveAccessRequestRequest {
            property_id: PROPERTY.into(),
            access_request_id: request.id.clone(),
            note: String::new(),
        })
        .await
        .unwrap();
    request.id
}

/// The content received before the download ended, and its error if it failed.
async fn download(
    stack: &Stack,
    document: &str,
    access_request: &str,
) -> (Vec<u8>, Option<Status>) {
    let mut stream = match documents(stack)
        .download_document(DownloadDocumentRequest {
            property_id: PROPERTY.into(),
            document_id: document.into(),
            access_request_id: access_request.into(),
        })
        .await
    {
        Ok(r) => r.into_inner(),
        Err(status) => return (Vec::new(), Some(status)),
    };
    let mut content = Vec::new();
    while let Some(message) = stream.next().await {
        match message {
            Ok(m) => {
                if let Some(download_document_response::Part::Chunk(c)) = m.part {
                    content.extend_from_slice(&c);
                }
            }
            Err(status) => return (content, Some(status)),
        }
    }
    (content, None)
}

async fn verify(stack: &Stack) -> VerifyAuditChainResponse {
    AuditServiceClient::new(stack.as_role(SUPERVISOR, PROPERTY))
        .verify_audit_chain(VerifyAuditChainRequest {
            property_id: PROPERTY.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn archives_db_url(stack: &Stack, file: &str) -> String {
    sqlx::any::install_default_drivers();
    database_url(
        stack,
        "archives",
        "SELECT 1 FROM household_files WHERE id = $1",
        file,
    )
    .await
}

async fn archives_db(stack: &Stack, file: &str) -> sqlx::AnyConnection {
    let url = archives_db_url(stack, file).await;
    sqlx::AnyConnection::connect(&url).await.unwrap()
}

/// SHA-256 (FIPS 180-4), written out here so that the tests check the service against an
/// implementation of their own.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in message.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_tests_own_sha256_gives_the_standard_answers() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

/// An entry as read from the raw database.
#[derive(Debug, Clone)]
struct RawEntry {
    seq: i64,
    fields: Vec<String>,
    hash: String,
}

/// The register of the test property as stored, oldest first.
async fn raw_entries(db: &mut sqlx::AnyConnection) -> Vec<RawEntry> {
    let rows = sqlx::query(
        "SELECT seq, occur_at, actor_id, actor_name, actor_role, action, outcome, reason, \
         subject_kind, subject_id, access_request_id, detail, hash FROM audit_entries \
         WHERE property_id = $1 ORDER BY seq",
    )
    .bind(PROPERTY)
    .fetch_all(&mut *db)
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let mut fields = vec![r.get::<i64, _>("occur_at").to_string()];
            for column in [
                "actor_id",
                "actor_name",
                "actor_role",
                "action",
                "outcome",
                "reason",
                "subject_kind",
                "subject_id",
                "access_request_id",
                "detail",
            ] {
                fields.push(r.get(column));
            }
            RawEntry {
                seq: r.get("seq"),
                fields,
                hash: r.get("hash"),
            }
        })
        .collect()
}

/// The hash the register's code gave an entry before it was keyed: SHA-256 over the
/// length-prefixed fields, which anyone can recompute.
fn plain_hash(entry: &RawEntry, seq: i64, previous_hash: &str) -> String {
    let seq = seq.to_string();
    let mut encoded = Vec::new();
    let mut parts: Vec<&str> = vec!["wuye-archives-audit-v1", PROPERTY, &seq];
    parts.extend(entry.fields.iter().map(String::as_str));
    parts.push(previous_hash);
    for part in parts {
        encoded.extend_from_slice(&(part.len() as u64).to_be_bytes());
        encoded.extend_from_slice(part.as_bytes());
    }
    hex(&sha256(&encoded))
}

/// Documents uploaded one after the other, each an entry of the register.
async fn uploads(stack: &Stack, file: &str, names: std::ops::Range<usize>) {
    for i in names {
        let content = format!("扫描件 {i}");
        upload(stack, &format!("doc-{i}"), file, content.as_bytes()).await;
    }
}

async fn register_of_six(stack: &Stack) -> HouseholdFile {
    let file = move_in(stack, "301").await;
    uploads(stack, &file.id, 0..6).await;
    file
}

/// Waits for a checkpoint of the register at entry `seq` (the clock moved past the
/// checkpoint interval first) and gives the verdict that saw it.
async fn checkpointed_at(stack: &Stack, seq: i64) -> VerifyAuditChainResponse {
    stack.clock.advance(chrono::Duration::hours(1));
    wuye_tests::eventually(
        &format!("a register checkpoint at entry {seq}"),
        Duration::from_secs(20),
        || async {
            let verdict = verify(stack).await;
            (verdict.checkpoint_seq == seq).then_some(verdict)
        },
    )
    .await
}

/// The checkpoint files of the test property in the document store, by entry number.
fn checkpoint_files(stack: &Stack) -> Vec<(i64, String)> {
    let dir = data_dir(stack)
        .join("archives-documents/audit-checkpoints")
        .join(PROPERTY);
    let mut found: Vec<(i64, String)> = files_under(&dir)
        .into_iter()
        .filter_map(|p| {
            let seq = p.file_name()?.to_str()?.parse().ok()?;
            Some((seq, std::fs::read_to_string(&p).ok()?))
        })
        .collect();
    found.sort();
    found
}

async fn a_register_rewritten_with_plain_hashes_is_detected(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = register_of_six(&stack).await;
    assert!(verify(&stack).await.intact);

    // rule ARC-12: someone with write access to the database removes entry 3, renumbers the
    // ones after it and rehashes them the way the register's code did before links were
    // keyed, head included.
    let mut db = archives_db(&stack, &file.id).await;
    let entries = raw_entries(&mut db).await;
    assert_eq!(entries.len(), 6);
    sqlx::query("DELETE FROM audit_entries WHERE property_id = $1 AND seq = 3")
        .bind(PROPERTY)
        .execute(&mut db)
        .await
        .unwrap();
    let mut previous = entries[1].hash.clone();
    for entry in &entries[3..] {
        let seq = entry.seq - 1;
        let hash = plain_hash(entry, seq, &previous);
        sqlx::query(
            "UPDATE audit_entries SET seq = $3, previous_hash = $4, hash = $5 \
             WHERE property_id = $1 AND seq = $2",
        )
        .bind(PROPERTY)
        .bind(entry.seq)
        .bind(seq)
        .bind(&previous)
        .bind(&hash)
        .execute(&mut db)
        .await
        .unwrap();
        previous = hash;
    }
    sqlx::query("UPDATE audit_heads SET last_seq = 5, last_hash = $2 WHERE property_id = $1")
        .bind(PROPERTY)
        .bind(&previous)
        .execute(&mut db)
        .await
        .unwrap();
    let verdict = verify(&stack).await;
    assert!(
        !verdict.intact,
        "a rewritten register verifies: {verdict:?}"
    );
    assert_eq!(verdict.first_broken_seq, 3, "{verdict:?}");

    // Marking the rewritten entries as written before links were keyed does not help.
    sqlx::query("UPDATE audit_entries SET key_id = '' WHERE property_id = $1 AND seq >= 3")
        .bind(PROPERTY)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.ok();
    let verdict = verify(&stack).await;
    assert_eq!(
        (verdict.intact, verdict.first_broken_seq),
        (false, 3),
        "{verdict:?}"
    );
    assert!(verdict.problem.contains("plain hash"), "{verdict:?}");
}

async fn a_register_cut_back_past_a_checkpoint_is_detected(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = register_of_six(&stack).await;
    let verdict = checkpointed_at(&stack, 6).await;
    assert!(verdict.intact, "{verdict:?}");
    // The checkpoint is outside the database, in the document store.
    let files = checkpoint_files(&stack);
    let (seq, text) = files.last().expect("a checkpoint file");
    assert_eq!(*seq, 6);
    assert!(
        text.contains("seq: 6\n") && text.contains("key_id: dev\n"),
        "{text}"
    );

    // rule ARC-12: the newest entries are removed and the head set back to the last one kept:
    // the chain itself is whole, but shorter than its checkpoint.
    let mut db = archives_db(&stack, &file.id).await;
    let entries = raw_entries(&mut db).await;
    sqlx::query("DELETE FROM audit_entries WHERE property_id = $1 AND seq > 4")
        .bind(PROPERTY)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_heads SET last_seq = 4, last_hash = $2 WHERE property_id = $1")
        .bind(PROPERTY)
        .bind(&entries[3].hash)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.ok();
    let verdict = verify(&stack).await;
    assert!(!verdict.intact, "a cut register verifies: {verdict:?}");
    assert_eq!(verdict.first_broken_seq, 5, "{verdict:?}");
    assert!(verdict.problem.contains("checkpoint"), "{verdict:?}");
    assert_eq!(verdict.checkpoint_seq, 6);

    // Grown again past the checkpoint by honest entries, the register still does not hold
    // the entry the checkpoint recorded; and the checkpoint job does not cover it up with a
    // newer checkpoint, however long it runs.
    uploads(&stack, &file.id, 6..9).await;
    stack.clock.advance(chrono::Duration::hours(1));
    for _ in 0..10 {
        let verdict = verify(&stack).await;
        assert_eq!(
            (
                verdict.intact,
                verdict.first_broken_seq,
                verdict.checkpoint_seq
            ),
            (false, 6, 6),
            "{verdict:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(checkpoint_files(&stack).last().unwrap().0, 6);
}

/// A second keyring key, listed before the development key after the rotation.
const K2: &str = "k2=8f3a1c2e4b5d6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

async fn key_ids(stack: &Stack) -> Vec<String> {
    AuditServiceClient::new(stack.as_role(SUPERVISOR, PROPERTY))
        .list_audit_entries(ListAuditEntriesRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries
        .into_iter()
        .map(|e| e.key_id)
        .collect()
}

async fn an_honest_register_verifies_across_a_rotation_of_the_keyring(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "303").await;
    let early = upload(&stack, "early-card", &file.id, MARKER).await;
    uploads(&stack, &file.id, 1..3).await;
    assert!(checkpointed_at(&stack, 3).await.intact);

    // The new key first, the old one kept: the register goes on under the new key (a
    // request, its approval, a reading), and what the old key sealed still opens.
    let rotated = format!("{K2},{DEV_KEYS}");
    stack
        .restart_department_with("archives", |s| {
            s.encryption_keys = Secret::new(rotated.clone())
        })
        .await;
    let reading = approved_reading(&stack, &file.id, &early.id).await;
    let (back, failed) = download(&stack, &early.id, &reading).await;
    assert!(failed.is_none() && back == MARKER, "{failed:?}");
    let verdict = checkpointed_at(&stack, 6).await;
    assert!(verdict.intact, "{verdict:?}");
    assert_eq!(verdict.entries_checked, 6);
    assert_eq!(
        key_ids(&stack).await,
        ["dev", "dev", "dev", "k2", "k2", "k2"]
    );
    let files = checkpoint_files(&stack);
    assert!(
        files
            .iter()
            .any(|(seq, t)| *seq == 3 && t.contains("key_id: dev\n"))
    );
    assert!(
        files
            .iter()
            .any(|(seq, t)| *seq == 6 && t.contains("key_id: k2\n"))
    );

    // Without the old key the old links cannot be vouched for, and the verdict says so; a
    // document sealed under it is an internal fault, not damage.
    stack
        .restart_department_with("archives", |s| s.encryption_keys = Secret::new(K2))
        .await;
    let verdict = verify(&stack).await;
    assert_eq!(
        (verdict.intact, verdict.first_broken_seq),
        (false, 1),
        "{verdict:?}"
    );
    assert!(verdict.problem.contains("key dev"), "{verdict:?}");
    let (_, failed) = download(&stack, &early.id, &reading).await;
    assert_eq!(failed.map(|s| s.code()), Some(Code::Internal));
    stack
        .restart_department_with("archives", |s| {
            s.encryption_keys = Secret::new(rotated.clone())
        })
        .await;
    assert!(verify(&stack).await.intact);
}

/// Rewrites the register as the code before keyed links wrote it: no key ids, plain hashes.
async fn make_plain(db: &mut sqlx::AnyConnection, change_detail_of: Option<i64>) {
    let entries = raw_entries(db).await;
    let mut previous = "0".repeat(64);
    for entry in &entries {
        let hash = plain_hash(entry, entry.seq, &previous);
        sqlx::query(
            "UPDATE audit_entries SET key_id = '', previous_hash = $3, hash = $4 \
             WHERE property_id = $1 AND seq = $2",
        )
        .bind(PROPERTY)
        .bind(entry.seq)
        .bind(&previous)
        .bind(&hash)
        .execute(&mut *db)
        .await
        .unwrap();
        previous = hash;
    }
    sqlx::query("UPDATE audit_heads SET last_hash = $2 WHERE property_id = $1")
        .bind(PROPERTY)
        .bind(&previous)
        .execute(&mut *db)
        .await
        .unwrap();
    if let Some(seq) = change_detail_of {
        sqlx::query(
            "UPDATE audit_entries SET detail = 'changed' WHERE property_id = $1 AND seq = $2",
        )
        .bind(PROPERTY)
        .bind(seq)
        .execute(&mut *db)
        .await
        .unwrap();
    }
}

fn remove_checkpoints(stack: &Stack) {
    let dir = data_dir(stack).join("archives-documents/audit-checkpoints");
    std::fs::remove_dir_all(dir).unwrap();
}

async fn plain_entries_from_before_are_relinked_once_and_never_again(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "304").await;
    uploads(&stack, &file.id, 0..4).await;
    checkpointed_at(&stack, 4).await;

    // The register as an archives department before keyed links left it: plain hashes, no
    // checkpoints. At start-up it is checked as it was and re-linked under the keyring.
    stack.stop_department("archives").await;
    let mut db = archives_db(&stack, &file.id).await;
    make_plain(&mut db, None).await;
    remove_checkpoints(&stack);
    stack.start_department("archives").await;
    assert_eq!(key_ids(&stack).await, ["dev"; 4]);
    let verdict = checkpointed_at(&stack, 4).await;
    assert!(verdict.intact, "{verdict:?}");

    // Made plain again by someone with the database alone: the checkpoints show the register
    // was keyed, so the plain entries are not re-linked, and stay reported.
    stack.stop_department("archives").await;
    make_plain(&mut db, None).await;
    stack.start_department("archives").await;
    assert_eq!(key_ids(&stack).await, ["", "", "", ""]);
    let verdict = verify(&stack).await;
    assert_eq!(
        (verdict.intact, verdict.first_broken_seq),
        (false, 1),
        "{verdict:?}"
    );
    assert!(verdict.problem.contains("plain hash"), "{verdict:?}");

    // A plain register that does not hold as it was is not re-linked either.
    stack.stop_department("archives").await;
    make_plain(&mut db, Some(2)).await;
    remove_checkpoints(&stack);
    stack.start_department("archives").await;
    assert_eq!(key_ids(&stack).await, ["", "", "", ""]);
    assert!(!verify(&stack).await.intact);
    db.close().await.ok();
}

const MARKER: &[u8] = b"ID-CARD-110101199003077777-MARKER";

/// A scanned ID card: 1 MiB with the marker in several places.
fn id_card_scan() -> Vec<u8> {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut content: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for at in [0, 70_000, 500_000, content.len() - MARKER.len()] {
        content[at..at + MARKER.len()].copy_from_slice(MARKER);
    }
    content
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The document's object in the document store on disk.
fn object_of(stack: &Stack, document: &str) -> std::path::PathBuf {
    data_dir(stack)
        .join("archives-documents")
        .join(PROPERTY)
        .join(document)
}

fn assert_nowhere_in_clear(stack: &Stack) {
    let stored = files_under(&data_dir(stack).join("archives-documents"));
    assert!(!stored.is_empty(), "the store was read");
    for path in &stored {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !contains(&bytes, MARKER),
            "{} holds a document in clear",
            path.display()
        );
    }
}

/// The header of a stream sealed under "dev": magic, version, chunk size, key id, salt,
/// nonce prefix.
const SEALED_HEADER: usize = 8 + 1 + 4 + 1 + 3 + 16 + 7;
/// A sealed chunk: 64 KiB and its tag.
const SEALED_CHUNK: usize = 64 * 1024 + 16;

async fn documents_are_sealed_at_rest_and_read_back_exactly(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "302").await;
    let scan = id_card_scan();
    let document = upload(&stack, "id-card", &file.id, &scan).await;
    // The checksum is the content's as uploaded, computed here independently.
    assert_eq!(document.sha256, hex(&sha256(&scan)));
    assert_eq!(document.size_bytes, scan.len() as i64);

    // rule ARC-6: the document store on disk does not hold the content in clear: 16 chunks
    // sealed, each with its tag.
    assert_nowhere_in_clear(&stack);
    let object = object_of(&stack, &document.id);
    let sealed = std::fs::read(&object).unwrap();
    assert_eq!(sealed.len(), SEALED_HEADER + scan.len() + 16 * 16);

    let reading = approved_reading(&stack, &file.id, &document.id).await;
    let (back, failed) = download(&stack, &document.id, &reading).await;
    assert!(failed.is_none(), "{failed:?}");
    assert!(back == scan, "the document came back changed");

    // Whatever is done to the stored object, the download fails as damaged, and what came
    // before the failure is the document's own beginning, never altered content.
    let other = upload(&stack, "other-card", &file.id, &id_card_scan()[..300_000]).await;
    let mut changed = sealed.clone();
    changed[600_000] ^= 0x01;
    let cut = sealed[..SEALED_HEADER + 3 * SEALED_CHUNK].to_vec();
    let mut reordered = sealed[..SEALED_HEADER].to_vec();
    reordered
        .extend_from_slice(&sealed[SEALED_HEADER + SEALED_CHUNK..SEALED_HEADER + 2 * SEALED_CHUNK]);
    reordered.extend_from_slice(&sealed[SEALED_HEADER..SEALED_HEADER + SEALED_CHUNK]);
    reordered.extend_from_slice(&sealed[SEALED_HEADER + 2 * SEALED_CHUNK..]);
    let moved = std::fs::read(object_of(&stack, &other.id)).unwrap();
    for (attack, bytes) in [
        ("a changed byte", changed),
        ("cut after three chunks", cut),
        ("two chunks swapped", reordered),
        ("another document's object", moved),
        ("the content put back in clear", scan.clone()),
    ] {
        std::fs::write(&object, &bytes).unwrap();
        let (partial, failed) = download(&stack, &document.id, &reading).await;
        let failed = failed.unwrap_or_else(|| panic!("{attack}: the document downloads"));
        assert_eq!(failed.code(), Code::DataLoss, "{attack}: {failed:?}");
        assert!(
            scan.starts_with(&partial),
            "{attack}: altered content reached the reader before the error"
        );
    }
    std::fs::write(&object, &sealed).unwrap();
    let (back, failed) = download(&stack, &document.id, &reading).await;
    assert!(failed.is_none() && back == scan, "{failed:?}");
}

async fn documents_stored_in_clear_before_are_read_then_sealed_at_start(backend: Backend) {
    let stack = Stack::start(backend).await;
    let file = move_in(&stack, "305").await;
    let scan = id_card_scan();
    let document = upload(&stack, "old-card", &file.id, &scan).await;
    let reading = approved_reading(&stack, &file.id, &document.id).await;

    // The document as the archives stored it before documents were sealed: in clear, its
    // record without a key.
    let object = object_of(&stack, &document.id);
    std::fs::write(&object, &scan).unwrap();
    let url = archives_db_url(&stack, &file.id).await;
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE documents SET content_key_id = NULL WHERE id = $1")
        .bind(&document.id)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.ok();
    let (back, failed) = download(&stack, &document.id, &reading).await;
    assert!(failed.is_none(), "{failed:?}");
    assert!(
        back == scan,
        "a document stored in clear reads back changed"
    );

    // At start-up it is sealed in place, and reads back the same.
    stack.restart_department("archives").await;
    wuye_tests::eventually("the document sealed", Duration::from_secs(20), || {
        let (url, id) = (url.clone(), document.id.clone());
        async move {
            let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
            let (key,): (Option<String>,) =
                sqlx::query_as("SELECT content_key_id FROM documents WHERE id = $1")
                    .bind(&id)
                    .fetch_one(&mut db)
                    .await
                    .unwrap();
            db.close().await.ok();
            key.filter(|k| k == "dev")
        }
    })
    .await;
    assert_nowhere_in_clear(&stack);
    let (back, failed) = download(&stack, &document.id, &reading).await;
    assert!(failed.is_none(), "{failed:?}");
    assert!(
        back == scan,
        "a document sealed in place reads back changed"
    );
}

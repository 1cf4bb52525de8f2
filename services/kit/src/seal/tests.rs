use super::*;

const K1: &str = "k1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const K2: &str = "k2=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

#[test]
fn sealed_values_open_and_hide_the_clear_text() {
    let ring = Keyring::parse(&Secret::new(K1)).unwrap();
    let sealed = ring.seal("f1/phone", "13800138000").unwrap();
    assert_eq!(sealed.key_id, "k1");
    assert!(!String::from_utf8_lossy(&sealed.bytes).contains("13800138000"));
    assert_eq!(ring.open("f1/phone", &sealed).unwrap(), "13800138000");
    // Bound to its place: the same bytes elsewhere do not open.
    assert!(ring.open("f2/phone", &sealed).is_err());
    // A fresh nonce each time.
    assert_ne!(ring.seal("f1/phone", "13800138000").unwrap(), sealed);
}

#[test]
fn rotation_keeps_old_values_readable() {
    let old = Keyring::parse(&Secret::new(K1)).unwrap();
    let sealed = old.seal("c", "110101199001011234").unwrap();
    let rotated = Keyring::parse(&Secret::new(format!("{K2},{K1}"))).unwrap();
    assert_eq!(rotated.current_key_id(), "k2");
    assert_eq!(rotated.open("c", &sealed).unwrap(), "110101199001011234");
    assert_eq!(rotated.seal("c", "x").unwrap().key_id, "k2");
    let without_old = Keyring::parse(&Secret::new(K2)).unwrap();
    assert!(without_old.open("c", &sealed).is_err());
}

#[test]
fn column_values_carry_their_key() {
    let old = Keyring::parse(&Secret::new(K1)).unwrap();
    let stored = old.seal_value("t/1/phone", "13800138000").unwrap().unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains("13800138000"));
    let rotated = Keyring::parse(&Secret::new(format!("{K2},{K1}"))).unwrap();
    assert_eq!(
        rotated.open_value("t/1/phone", Some(&stored)).unwrap(),
        "13800138000"
    );
    assert!(rotated.open_value("t/2/phone", Some(&stored)).is_err());
    let fresh = rotated.seal_value("t/1/phone", "1").unwrap().unwrap();
    assert_eq!(Sealed::from_bytes(&fresh).unwrap().key_id, "k2");
    assert_eq!(rotated.seal_value("t/1/phone", "").unwrap(), None);
    assert_eq!(rotated.open_value("t/1/phone", None).unwrap(), "");
    assert!(Sealed::from_bytes(&[]).is_err());
    assert!(Sealed::from_bytes(&[5, b'k']).is_err());
    assert!(Keyring::parse(&Secret::new(DEV_KEYS)).is_ok());
}

#[test]
fn digests_match_only_their_value_context_and_keyring() {
    let old = Keyring::parse(&Secret::new(K1)).unwrap();
    let stored = old.digest_value("set/1/collector/0", b"110101199001011234");
    assert!(
        old.digest_matches("set/1/collector/0", b"110101199001011234", &stored)
            .unwrap()
    );
    // Another number ending the same way, another place, another keyring: no match.
    assert!(
        !old.digest_matches("set/1/collector/0", b"110101198801011234", &stored)
            .unwrap()
    );
    assert!(
        !old.digest_matches("set/2/collector/0", b"110101199001011234", &stored)
            .unwrap()
    );
    let other = Keyring::parse(&Secret::new(K2.replace("k2", "k1"))).unwrap();
    assert!(
        !other
            .digest_matches("set/1/collector/0", b"110101199001011234", &stored)
            .unwrap()
    );
    // Deterministic under one key, so equal values can be found; rotation keeps old
    // digests checkable under the key they name.
    assert_eq!(
        stored,
        old.digest_value("set/1/collector/0", b"110101199001011234")
    );
    let rotated = Keyring::parse(&Secret::new(format!("{K2},{K1}"))).unwrap();
    assert!(
        rotated
            .digest_matches("set/1/collector/0", b"110101199001011234", &stored)
            .unwrap()
    );
    assert_ne!(
        rotated.digest_value("set/1/collector/0", b"110101199001011234"),
        stored
    );
    // The digest key is not the encryption key: the digest is not a MAC under it.
    assert_ne!(
        &stored[3..],
        &mac(&hex::decode(&K1[3..]).unwrap(), &[b"110101199001011234"])
    );
    assert!(old.digest_matches("c", b"x", &[]).is_err());
    assert!(
        Keyring::parse(&Secret::new(K2))
            .unwrap()
            .digest_matches("set/1/collector/0", b"110101199001011234", &stored)
            .is_err()
    );
}

/// Seals `clear` in chunks of `chunk` bytes, handing it over in pieces of `piece`.
fn seal_stream(ring: &Keyring, context: &str, clear: &[u8], chunk: usize, piece: usize) -> Vec<u8> {
    let mut sealer = ring.stream_sealer_chunked(context, chunk).unwrap();
    let mut out = Vec::new();
    for p in clear.chunks(piece.max(1)) {
        out.extend(sealer.push(p).unwrap());
    }
    out.extend(sealer.finish().unwrap());
    out
}

/// Opens `sealed` handed over in pieces of `piece`; the clear bytes released before an
/// error come with it.
fn open_stream(
    ring: &Keyring,
    context: &str,
    sealed: &[u8],
    piece: usize,
) -> (Vec<u8>, anyhow::Result<()>) {
    let mut opener = ring.stream_opener(context);
    let mut out = Vec::new();
    for p in sealed.chunks(piece.max(1)) {
        match opener.push(p) {
            Ok(clear) => out.extend(clear),
            Err(e) => return (out, Err(e)),
        }
    }
    match opener.finish() {
        Ok(clear) => {
            out.extend(clear);
            (out, Ok(()))
        }
        Err(e) => (out, Err(e)),
    }
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// The header of a stream sealed under "k1": magic, version, chunk size, key id, salt,
/// nonce prefix.
const HEADER_LEN: usize = 8 + 1 + 4 + 1 + 2 + 16 + 7;

#[test]
fn streams_round_trip_whatever_their_length_and_pieces() {
    let ring = Keyring::parse(&Secret::new(K1)).unwrap();
    for len in [0, 1, 99, 100, 101, 300, 1234] {
        let clear = sample(len);
        for (seal_piece, open_piece) in [(1, 1), (7, 1000), (100, 100), (5000, 3)] {
            let sealed = seal_stream(&ring, "doc/1", &clear, 100, seal_piece);
            // One tag per chunk, at least one chunk.
            assert_eq!(
                sealed.len(),
                HEADER_LEN + len + TAG_LEN * len.div_ceil(100).max(1)
            );
            assert!(is_sealed_stream(&sealed));
            let (back, result) = open_stream(&ring, "doc/1", &sealed, open_piece);
            result.unwrap();
            assert_eq!(
                back, clear,
                "{len} bytes in pieces of {seal_piece}/{open_piece}"
            );
        }
    }
    // The real chunk size, and the clear text is not in the sealed bytes.
    let marker = b"110101199001011234 ID card".repeat(5000);
    let mut sealer = ring.stream_sealer("doc/2").unwrap();
    assert_eq!(sealer.key_id(), "k1");
    let mut sealed = sealer.push(&marker).unwrap();
    sealed.extend(sealer.finish().unwrap());
    assert!(!sealed.windows(18).any(|w| w == b"110101199001011234"));
    let (back, result) = open_stream(&ring, "doc/2", &sealed, 65_536);
    result.unwrap();
    assert_eq!(back, marker);
    // A fresh nonce prefix each time.
    assert_ne!(
        seal_stream(&ring, "doc/1", b"same", 100, 4),
        seal_stream(&ring, "doc/1", b"same", 100, 4)
    );
}

#[test]
fn a_changed_byte_anywhere_is_refused_and_nothing_after_it_is_released() {
    let ring = Keyring::parse(&Secret::new(K1)).unwrap();
    let clear = sample(450);
    let sealed = seal_stream(&ring, "doc/1", &clear, 100, 450);
    for at in 0..sealed.len() {
        let mut changed = sealed.clone();
        changed[at] ^= 0x40;
        let (released, result) = open_stream(&ring, "doc/1", &changed, 37);
        assert!(result.is_err(), "a change at byte {at} went unnoticed");
        // Only whole chunks before the changed one came out, unchanged.
        assert!(clear.starts_with(&released), "byte {at}");
        assert_eq!(released.len() % 100, 0);
    }
}

#[test]
fn a_cut_stream_is_refused() {
    let ring = Keyring::parse(&Secret::new(K1)).unwrap();
    let clear = sample(400);
    let sealed = seal_stream(&ring, "doc/1", &clear, 100, 400);
    // At every length short of the whole, chunk boundaries included.
    for len in 0..sealed.len() {
        let (released, result) = open_stream(&ring, "doc/1", &sealed[..len], 64);
        assert!(result.is_err(), "cut at {len} went unnoticed");
        assert!(clear.starts_with(&released));
    }
    // A cut exactly after the third chunk: what came out is three chunks, then the error.
    let cut = HEADER_LEN + 3 * (100 + TAG_LEN);
    let (released, result) = open_stream(&ring, "doc/1", &sealed[..cut], 1000);
    assert!(result.is_err());
    assert_eq!(released, clear[..200]);
    // Nor may anything follow the last chunk.
    let mut longer = sealed.clone();
    longer.extend_from_slice(&[0; TAG_LEN]);
    assert!(open_stream(&ring, "doc/1", &longer, 1000).1.is_err());
}

#[test]
fn chunks_do_not_open_out_of_their_place() {
    let ring = Keyring::parse(&Secret::new(K1)).unwrap();
    let clear = sample(300);
    let sealed = seal_stream(&ring, "doc/1", &clear, 100, 300);
    let chunk = 100 + TAG_LEN;
    let body = &sealed[HEADER_LEN..];
    // Two chunks swapped.
    let mut swapped = sealed[..HEADER_LEN].to_vec();
    swapped.extend_from_slice(&body[chunk..2 * chunk]);
    swapped.extend_from_slice(&body[..chunk]);
    swapped.extend_from_slice(&body[2 * chunk..]);
    let (released, result) = open_stream(&ring, "doc/1", &swapped, 1000);
    assert!(result.is_err());
    assert!(released.is_empty());
    // A chunk dropped from the middle.
    let mut dropped = sealed[..HEADER_LEN + chunk].to_vec();
    dropped.extend_from_slice(&body[2 * chunk..]);
    assert!(open_stream(&ring, "doc/1", &dropped, 1000).1.is_err());
    // A chunk of another stream of the same context and key, in the same place.
    let other = seal_stream(&ring, "doc/1", &clear, 100, 300);
    let mut spliced = sealed[..HEADER_LEN + chunk].to_vec();
    spliced.extend_from_slice(&other[HEADER_LEN + chunk..HEADER_LEN + 2 * chunk]);
    spliced.extend_from_slice(&body[2 * chunk..]);
    assert!(open_stream(&ring, "doc/1", &spliced, 1000).1.is_err());
}

#[test]
fn streams_open_only_for_their_context_and_with_their_key() {
    let old = Keyring::parse(&Secret::new(K1)).unwrap();
    let sealed = seal_stream(&old, "doc/1", b"house deed", 100, 3);
    // Another document, or the same one under another version's place.
    assert!(open_stream(&old, "doc/2", &sealed, 100).1.is_err());
    assert!(open_stream(&old, "doc/1/", &sealed, 100).1.is_err());
    // Rotation: the old key still opens, the new one seals.
    let rotated = Keyring::parse(&Secret::new(format!("{K2},{K1}"))).unwrap();
    let mut opener = rotated.stream_opener("doc/1");
    let mut back = opener.push(&sealed).unwrap();
    assert_eq!(opener.key_id(), Some("k1"));
    back.extend(opener.finish().unwrap());
    assert_eq!(back, b"house deed");
    assert_eq!(rotated.stream_sealer("doc/1").unwrap().key_id(), "k2");
    assert!(rotated.holds_key("k1") && rotated.holds_key("k2") && !rotated.holds_key("k3"));
    // The key id is bound: a header naming another key (of the same bytes) does not open.
    let twin = Keyring::parse(&Secret::new(format!("{},{K1}", K1.replace("k1", "k9")))).unwrap();
    let mut renamed = sealed[..14].to_vec();
    renamed.extend_from_slice(b"k9");
    renamed.extend_from_slice(&sealed[16..]);
    assert!(open_stream(&twin, "doc/1", &renamed, 100).1.is_err());
    // Without the key, nothing opens.
    assert!(
        open_stream(
            &Keyring::parse(&Secret::new(K2)).unwrap(),
            "doc/1",
            &sealed,
            100
        )
        .1
        .is_err()
    );
}

#[test]
fn clear_content_and_bad_headers_are_not_sealed_streams() {
    let ring = Keyring::parse(&Secret::new(K1)).unwrap();
    assert!(!is_sealed_stream(b"%PDF-1.7 ..."));
    assert!(!is_sealed_stream(b"\x89PNG\r\n\x1a\n"));
    assert!(
        open_stream(&ring, "c", b"%PDF-1.7 and more text", 4)
            .1
            .is_err()
    );
    let sealed = seal_stream(&ring, "c", b"x", 100, 1);
    let mut version = sealed.clone();
    version[8] = 2;
    assert!(open_stream(&ring, "c", &version, 100).1.is_err());
    let mut huge = sealed.clone();
    huge[9..13].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(open_stream(&ring, "c", &huge, 100).1.is_err());
    let mut zero = sealed;
    zero[9..13].copy_from_slice(&0u32.to_be_bytes());
    assert!(open_stream(&ring, "c", &zero, 100).1.is_err());
}

#[test]
fn bad_keyrings_are_refused() {
    for spec in [
        "",
        "k1",
        "k1=00",
        "k1=zz",
        &format!("{K1},{K1}"),
        "bad id=00",
    ] {
        assert!(Keyring::parse(&Secret::new(spec)).is_err(), "{spec}");
    }
}

#[test]
fn digests_under_every_key_find_values_digested_before_a_rotation() {
    let old = Keyring::parse(&Secret::new(K1)).unwrap();
    let stored = old.digest_value("index:t/phone", b"13800138000");
    let rotated = Keyring::parse(&Secret::new(format!("{K2},{K1}"))).unwrap();
    let every = rotated.digest_values_every_key("index:t/phone", b"13800138000");
    assert_eq!(every.len(), rotated.key_count());
    assert_eq!(
        every[0],
        rotated.digest_value("index:t/phone", b"13800138000")
    );
    assert!(every.contains(&stored));
    // The same value gives the same digest; another value or context does not.
    assert_eq!(
        old.digest_values_every_key("index:t/phone", b"13800138000"),
        vec![stored.clone()]
    );
    assert!(!every.contains(&old.digest_value("index:t/phone", b"13800138001")));
    assert!(!every.contains(&old.digest_value("index:u/phone", b"13800138000")));
}

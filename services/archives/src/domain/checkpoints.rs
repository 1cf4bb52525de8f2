//! Checkpoints of the archive register (ARC-12): the number and link of a property's last
//! entry at a moment, MAC'd under the archives' keyring and kept outside the database (in the
//! checkpoint store, see `crate::register`). A register cut back with its head, or cut back and
//! grown again, no longer holds the entry its newest checkpoint recorded, and verification
//! says so.
//!
//! A checkpoint is a short text, one `name: value` per line, readable by an operator:
//!
//! ```text
//! wuye-archives-audit-checkpoint v1
//! property: sunshine-garden
//! seq: 42
//! head: <64 hex digits: the link of entry 42>
//! made_at: 2026-11-27T01:00:00.000000Z
//! key_id: k2
//! mac: <64 hex digits: HMAC-SHA-256 of the fields above under key k2>
//! ```

use chrono::{DateTime, SecondsFormat, Utc};
use wuye_kit::{
    db::{from_micros, to_micros},
    seal::Keyring,
};

const FIRST_LINE: &str = "wuye-archives-audit-checkpoint v1";
/// The context of checkpoint MACs, so that no link or other keyed digest is one.
const MAC_CONTEXT: &str = "archives/audit-checkpoint";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub property_id: String,
    pub seq: i64,
    /// The link of entry `seq`.
    pub head: String,
    pub made_at: DateTime<Utc>,
    /// The key of the keyring the MAC was made with.
    pub key_id: String,
    pub mac: String,
}

impl Checkpoint {
    /// A checkpoint of `property_id`'s register at entry `seq` linked `head`, under the
    /// keyring's current key.
    pub fn make(
        property_id: &str,
        seq: i64,
        head: &str,
        made_at: DateTime<Utc>,
        keyring: &Keyring,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !property_id.chars().any(char::is_control),
            "a property id with control characters cannot be checkpointed"
        );
        let mut checkpoint = Self {
            property_id: property_id.to_owned(),
            seq,
            head: head.to_owned(),
            // As stored: to the microsecond, so that the text reads back as made.
            made_at: from_micros(to_micros(made_at)),
            key_id: keyring.current_key_id().to_owned(),
            mac: String::new(),
        };
        checkpoint.mac = checkpoint.compute_mac(keyring)?;
        Ok(checkpoint)
    }

    fn compute_mac(&self, keyring: &Keyring) -> anyhow::Result<String> {
        let seq = self.seq.to_string();
        let micros = to_micros(self.made_at).to_string();
        let mut encoded = Vec::new();
        for field in [
            FIRST_LINE,
            &self.property_id,
            &seq,
            &self.head,
            &micros,
            &self.key_id,
        ] {
            encoded.extend_from_slice(&(field.len() as u64).to_be_bytes());
            encoded.extend_from_slice(field.as_bytes());
        }
        Ok(hex::encode(keyring.digest_with_key(
            &self.key_id,
            MAC_CONTEXT,
            &encoded,
        )?))
    }

    /// Whether the checkpoint is one the keyring made for `property_id`; why not otherwise.
    pub fn verify(&self, keyring: &Keyring, property_id: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.property_id == property_id,
            "the checkpoint is of another property"
        );
        let expected = self.compute_mac(keyring)?;
        anyhow::ensure!(
            expected.len() == self.mac.len()
                && expected
                    .bytes()
                    .zip(self.mac.bytes())
                    .fold(0, |acc, (a, b)| acc | (a ^ b))
                    == 0,
            "the checkpoint's MAC does not match"
        );
        Ok(())
    }

    pub fn to_text(&self) -> String {
        format!(
            "{FIRST_LINE}\nproperty: {}\nseq: {}\nhead: {}\nmade_at: {}\nkey_id: {}\nmac: {}\n",
            self.property_id,
            self.seq,
            self.head,
            self.made_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.key_id,
            self.mac
        )
    }

    /// Reads back what [`Checkpoint::to_text`] wrote; it still has to [`Checkpoint::verify`].
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut lines = text.lines();
        anyhow::ensure!(
            lines.next() == Some(FIRST_LINE),
            "not a register checkpoint"
        );
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(": "))
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("the checkpoint has no {name}"))
        };
        let property_id = field("property")?;
        let seq = field("seq")?.parse()?;
        let head = field("head")?;
        let made_at = DateTime::parse_from_rfc3339(&field("made_at")?)?.with_timezone(&Utc);
        let key_id = field("key_id")?;
        let mac = field("mac")?;
        anyhow::ensure!(lines.next().is_none(), "the checkpoint has extra lines");
        Ok(Self {
            property_id,
            seq,
            head,
            made_at,
            key_id,
            mac,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wuye_kit::config::Secret;

    const K1: &str = "k1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(&Secret::new(spec)).unwrap()
    }

    fn made() -> Checkpoint {
        let at = DateTime::UNIX_EPOCH + chrono::Duration::microseconds(1_764_205_200_123_456);
        Checkpoint::make("sunshine-garden", 42, &"ab".repeat(32), at, &ring(K1)).unwrap()
    }

    #[test]
    fn a_checkpoint_reads_back_and_verifies_after_rotation() {
        let cp = made();
        let text = cp.to_text();
        assert!(
            text.contains("seq: 42\n") && text.contains("key_id: k1\n"),
            "{text}"
        );
        let back = Checkpoint::parse(&text).unwrap();
        assert_eq!(back, cp);
        back.verify(&ring(K1), "sunshine-garden").unwrap();
        back.verify(&ring(&format!("{K2},{K1}")), "sunshine-garden")
            .unwrap();
        // Without its key, or for another property, it does not.
        assert!(back.verify(&ring(K2), "sunshine-garden").is_err());
        assert!(back.verify(&ring(K1), "riverside").is_err());
    }

    #[test]
    fn a_changed_checkpoint_does_not_verify() {
        let text = made().to_text();
        for (from, to) in [
            ("seq: 42", "seq: 41"),
            ("property: sunshine-garden", "property: riverside"),
            ("head: ab", "head: ac"),
            ("made_at: 2025", "made_at: 2024"),
        ] {
            let changed = text.replace(from, to);
            assert_ne!(changed, text);
            let cp = Checkpoint::parse(&changed).unwrap();
            assert!(
                cp.verify(&ring(K1), &cp.property_id.clone()).is_err(),
                "{to}"
            );
        }
        // Another key's MAC under the same key id does not pass either.
        let forged = Checkpoint::make(
            "sunshine-garden",
            42,
            &"ab".repeat(32),
            made().made_at,
            &ring(&K2.replace("k2", "k1")),
        )
        .unwrap();
        assert!(forged.verify(&ring(K1), "sunshine-garden").is_err());
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let text = made().to_text();
        for bad in [
            String::new(),
            "hello".to_owned(),
            text.replace("seq: 42", "seq: many"),
            text.replace("mac: ", "mac "),
            format!("{text}more\n"),
            text.lines().take(4).collect::<Vec<_>>().join("\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad}");
        }
        assert!(
            Checkpoint::make("a\nb", 1, "h", Utc::now(), &ring(K1)).is_err(),
            "a property id that would break the lines"
        );
    }
}

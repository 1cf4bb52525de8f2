//! Personal data in answers (ARC-6, ARC-11). The contracts mark each field that holds personal
//! data with its kind (`[(wuye.common.v1.personal) = PERSONAL_DATA_PHONE]`); every message can
//! [`Conceal`] what it holds (generated from the contracts by build.rs). A service answers
//! through [`crate::codec::WuyeCodec`], which conceals every answer as the call's [`Shown`]
//! says: what the caller's role may see in full for this method, by the gateway's policy; the
//! rest masked. So no handler can forget it, and one policy decides it.

use std::future::Future;

pub use crate::common::PersonalData;

/// What a call may see in full; everything else personal is masked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shown {
    phone: bool,
    id_number: bool,
}

/// The names of the kinds of personal data, as the policy and identities spell them.
pub const KINDS: [(&str, PersonalData); 2] = [
    ("phone", PersonalData::Phone),
    ("id_number", PersonalData::IdNumber),
];

impl Shown {
    /// Nothing in full.
    pub const NOTHING: Shown = Shown {
        phone: false,
        id_number: false,
    };

    /// The kinds named in `names` (of [`KINDS`]) in full; unknown names show nothing.
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut shown = Self::NOTHING;
        for name in names {
            match KINDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k) {
                Some(PersonalData::Phone) => shown.phone = true,
                Some(PersonalData::IdNumber) => shown.id_number = true,
                _ => {}
            }
        }
        shown
    }

    pub fn in_full(&self, kind: PersonalData) -> bool {
        match kind {
            PersonalData::Phone => self.phone,
            PersonalData::IdNumber => self.id_number,
            PersonalData::Unspecified => false,
        }
    }

    /// Masks `value`, a personal datum of `kind`, unless it is shown in full.
    pub fn conceal(&self, kind: PersonalData, value: &mut String) {
        if !self.in_full(kind) && !value.is_empty() {
            *value = mask(kind, value);
        }
    }

    /// `value` as this call may see it.
    pub fn show(&self, kind: PersonalData, value: &str) -> String {
        let mut value = value.to_owned();
        self.conceal(kind, &mut value);
        value
    }
}

/// A value masked by its kind.
pub fn mask(kind: PersonalData, value: &str) -> String {
    match kind {
        PersonalData::Phone => mask_phone(value),
        _ => mask_id_number(value),
    }
}

/// A phone number with only its first three and last four digits: `138****8000`. Shorter
/// numbers keep their last two digits; a masked number stays as it is.
pub fn mask_phone(phone: &str) -> String {
    if phone.contains('*') {
        return phone.to_owned();
    }
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    if n >= 8 {
        let head: String = digits[..3].iter().collect();
        let tail: String = digits[n - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let tail: String = digits[n.saturating_sub(2)..].iter().collect();
        format!("****{tail}")
    }
}

/// An identity document's number with only its last four characters: `**************002X`.
pub fn mask_id_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().filter(|c| !c.is_whitespace()).collect();
    let keep = chars.len().saturating_sub(4);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep { '*' } else { *c })
        .collect()
}

/// Masks the personal data a message holds, as `shown` allows.
pub trait Conceal {
    fn conceal(&mut self, shown: &Shown);
}

tokio::task_local! {
    static SHOWN: Shown;
}

/// Runs `call` (a service's handling of one call) with `shown` deciding what its answers show.
pub fn answer<F: Future>(shown: Shown, call: F) -> Answer<F> {
    SHOWN.scope(shown, call)
}

/// The future of [`answer`].
pub type Answer<F> = tokio::task::futures::TaskLocalFuture<Shown, F>;

/// What the call being answered may see in full, when it is one (on a service, within
/// [`answer`]); `None` elsewhere (a client's request).
pub(crate) fn current() -> Option<Shown> {
    SHOWN.try_with(|shown| *shown).ok()
}

include!(concat!(env!("OUT_DIR"), "/personal.rs"));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customerservice::{Complainant, Complaint};

    #[test]
    fn masks_keep_what_identifies_nothing() {
        assert_eq!(mask_phone("138 0013 8000"), "138****8000");
        assert_eq!(mask_phone("021-5555-1234"), "021****1234");
        assert_eq!(mask_phone("12345"), "****45");
        assert_eq!(mask_id_number("11010119900101002X"), "**************002X");
        // Masking a masked value changes nothing.
        assert_eq!(mask_phone("138****8000"), "138****8000");
        assert_eq!(mask_id_number("**************002X"), "**************002X");
    }

    #[test]
    fn messages_conceal_their_personal_fields_down_the_tree() {
        let mut complaint = Complaint {
            complainant: Some(Complainant {
                name: "李明".into(),
                phone: "138 0013 8000".into(),
            }),
            description: "楼道灯坏了".into(),
            ..Default::default()
        };
        let mut shown_in_full = complaint.clone();
        shown_in_full.conceal(&Shown::of(["phone"]));
        assert_eq!(shown_in_full, complaint);
        complaint.conceal(&Shown::NOTHING);
        let complainant = complaint.complainant.unwrap();
        assert_eq!(complainant.phone, "138****8000");
        assert_eq!(complainant.name, "李明");
        assert_eq!(complaint.description, "楼道灯坏了");
        assert_eq!(Shown::of(["nonsense"]), Shown::NOTHING);
    }
}

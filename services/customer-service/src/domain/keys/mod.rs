//! Key custody (钥匙委托管理, KEY-1 to KEY-11): the custody register, loans and returns, the
//! overdue limit, collection against ID, retention, the cabinet audit and per-person figures.
//! Names, phones and ID numbers here are personal data: never logged.

mod cabinet;
mod collection;
mod loans;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use wuye_kit::{
    Error, Result, Violations,
    document::{escape, page, table},
    identity::Actor,
};

pub use self::{cabinet::*, collection::*, loans::*};
use super::{is_plausible_phone, units::UnitState};

pub const MAX_NAME: usize = 50;
pub const MAX_PHONE: usize = 30;
pub const MAX_TEXT: usize = 500;
pub const MAX_SLOT: usize = 20;
pub const MAX_KEYS: i32 = 50;
pub const MAX_COLLECTORS: usize = 5;
pub const MAX_SIGNATURE_IMAGE: usize = 256 * 1024;
/// The longest loan a clerk records: longer work needs a new loan.
pub const MAX_LOAN_DAYS: i64 = 90;

/// Whose keys the center keeps (KEY-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Developer,
    Customer,
}

wuye_kit::text_codes!(KeySource { Developer => "developer", Customer => "customer" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySetState {
    InCabinet,
    OnLoan,
    Collected,
}

wuye_kit::text_codes!(KeySetState {
    InCabinet => "in_cabinet",
    OnLoan => "on_loan",
    Collected => "collected",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanPurpose {
    Repair,
    VacantPatrol,
}

wuye_kit::text_codes!(LoanPurpose { Repair => "repair", VacantPatrol => "vacant_patrol" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanState {
    Open,
    Returned,
}

wuye_kit::text_codes!(LoanState { Open => "open", Returned => "returned" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChaseMethod {
    Phone,
    Visit,
}

wuye_kit::text_codes!(ChaseMethod { Phone => "phone", Visit => "visit" });

/// Identity documents (KEY-9). `None` is stored for "no document on file".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdType {
    None,
    ResidentIdCard,
    Passport,
    HomeReturnPermit,
    Other,
}

wuye_kit::text_codes!(IdType {
    None => "",
    ResidentIdCard => "resident_id_card",
    Passport => "passport",
    HomeReturnPermit => "home_return_permit",
    Other => "other",
});

/// An identity document as kept: its type and the masked number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedId {
    pub id_type: IdType,
    pub masked: String,
}

impl MaskedId {
    pub fn none() -> Self {
        Self {
            id_type: IdType::None,
            masked: String::new(),
        }
    }

    pub fn is_none(&self) -> bool {
        self.id_type == IdType::None
    }
}

/// A document number as the desk reads it and as its keyed digest is made (KEY-9): whitespace
/// removed, upper case.
pub fn normalize_id_number(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// An identity document as shown at the desk: its masked form, which is kept for display, and
/// the whole normalized number, which is only ever compared through a keyed digest (KEY-9):
/// never stored, never logged (its `Debug` shows the masked form only).
#[derive(Clone, PartialEq, Eq)]
pub struct ShownId {
    pub masked: MaskedId,
    number: String,
}

impl std::fmt::Debug for ShownId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShownId")
            .field("masked", &self.masked)
            .finish_non_exhaustive()
    }
}

impl ShownId {
    pub fn none() -> Self {
        Self {
            masked: MaskedId::none(),
            number: String::new(),
        }
    }

    pub fn is_none(&self) -> bool {
        self.masked.is_none()
    }

    /// The whole normalized number; empty for no document.
    pub fn number(&self) -> &str {
        &self.number
    }
}

/// Checks a document number as read from the document: a typo in a resident ID card fails its
/// check digit. Only the masked form (the last four characters, the rest starred) is kept;
/// the whole number goes no further than its keyed digest.
pub fn mask_id(field: &str, id_type: IdType, number: &str, v: &mut Violations) -> Option<ShownId> {
    let number = normalize_id_number(number);
    match id_type {
        IdType::None => {
            if !number.is_empty() {
                v.add(field, "a document number needs its document type");
            }
            return Some(ShownId::none());
        }
        IdType::ResidentIdCard => {
            if !is_valid_resident_id(&number) {
                v.add(
                    field,
                    "is not a resident ID card number (18 characters, check digit)",
                );
                return None;
            }
        }
        IdType::Passport | IdType::HomeReturnPermit | IdType::Other => {
            let len = number.chars().count();
            if !(5..=30).contains(&len) || !number.chars().all(|c| c.is_ascii_alphanumeric()) {
                v.add(field, "must be 5 to 30 letters or digits");
                return None;
            }
        }
    }
    Some(ShownId {
        masked: MaskedId {
            id_type,
            masked: wuye_kit::personal::mask_id_number(&number),
        },
        number,
    })
}

/// GB 11643: 17 digits and a check character (ISO 7064 MOD 11-2).
fn is_valid_resident_id(number: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let chars: Vec<char> = number.chars().collect();
    if chars.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for (c, w) in chars[..17].iter().zip(WEIGHTS) {
        let Some(d) = c.to_digit(10) else {
            return false;
        };
        sum += d * w;
    }
    chars[17] == CHECK[(sum % 11) as usize]
}

/// The documents on the form as read at entrustment (KEY-2): only their masked forms and the
/// keyed digests of their whole numbers are stored (KEY-9).
pub struct FormIds {
    pub customer: ShownId,
    /// One per designated collector, in the order of the form.
    pub collectors: Vec<ShownId>,
}

/// A person named on the form who may collect the keys (KEY-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    pub name: String,
    pub phone: String,
    pub id: MaskedId,
    /// The keyed digest of the whole number of `id` (KEY-9); `None` when no document is on
    /// file, or for a custody recorded when only the masked number was kept.
    pub id_digest: Option<Vec<u8>>,
}

/// The customer's signed acceptance of the disclaimer (KEY-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclaimer {
    pub signer_name: String,
    pub image: Option<Vec<u8>>,
    pub signed_at: DateTime<Utc>,
}

/// The hand-over that closes a custody (KEY-9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub collector_name: String,
    pub designated: bool,
    pub id: MaskedId,
    pub signer_name: String,
    pub collected_at: DateTime<Utc>,
    pub handed_over_by: Actor,
}

/// An entry of the custody register with its authorization form.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySet {
    pub id: String,
    pub property_id: String,
    pub number: i64,
    pub source: KeySource,
    pub unit_id: String,
    pub unit_label: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_id: MaskedId,
    /// The keyed digest of the whole number of `customer_id`, as for [`Collector::id_digest`].
    pub customer_id_digest: Option<Vec<u8>>,
    pub key_count: i32,
    pub reason: String,
    pub collection_conditions: String,
    pub collectors: Vec<Collector>,
    pub disclaimer: Disclaimer,
    pub tag: String,
    pub slot: String,
    pub state: KeySetState,
    pub keys_out: i32,
    pub entrusted_at: DateTime<Utc>,
    pub entrusted_by: Actor,
    pub collection: Option<Collection>,
    /// The open loan, while keys are out.
    pub current_loan: Option<Box<Loan>>,
}

impl KeySet {
    pub fn keys_in_cabinet(&self) -> i32 {
        if self.state == KeySetState::Collected {
            0
        } else {
            self.key_count - self.keys_out
        }
    }
}

/// KEY-1: developer keys are for units nobody has moved into; a customer entrusts the keys of
/// a unit that has been sold.
pub fn check_source(source: KeySource, unit: UnitState) -> Result<()> {
    match (source, unit) {
        (KeySource::Developer, UnitState::Occupied) => Err(Error::rule(
            "UNIT_MOVED_INTO",
            "the developer hands over keys only of units nobody has moved into (KEY-1)",
        )),
        (KeySource::Customer, UnitState::Unsold) => Err(Error::rule(
            "UNIT_UNSOLD",
            "an unsold unit has no customer: its keys come from the developer (KEY-1)",
        )),
        _ => Ok(()),
    }
}

/// The tag on the keys: the customer's name and the unit (KEY-5).
pub fn tag(customer_name: &str, unit_label: &str) -> String {
    format!("{customer_name} {unit_label}")
}

/// KEY-3: the clerk states the disclaimer; without the customer's signature, no custody.
pub fn check_disclaimer(accepted: bool, signer_name: &str) -> Result<()> {
    if !accepted || signer_name.trim().is_empty() {
        return Err(Error::rule(
            "DISCLAIMER_NOT_SIGNED",
            "the customer has not signed to accept that the center keeps no responsibility for \
             property in the home: no custody without the signature (KEY-3)",
        ));
    }
    Ok(())
}

/// One set per cabinet slot at a time (KEY-5).
pub fn slot_taken() -> Error {
    Error::rule("SLOT_TAKEN", "another key set is in this cabinet slot")
}

/// The slot as written on the cabinet: trimmed, upper case ("a-03" is "A-03").
pub fn normalize_slot(slot: &str) -> String {
    slot.trim().to_uppercase()
}

fn closed() -> Error {
    Error::rule(
        "CUSTODY_CLOSED",
        "the keys have been collected: the custody is closed",
    )
}

/// Checks a name and phone pair of the form.
pub fn check_person(
    prefix: &str,
    name: &str,
    phone: &str,
    phone_required: bool,
    v: &mut Violations,
) {
    v.required_text(&format!("{prefix}name"), name, MAX_NAME);
    check_phone(&format!("{prefix}phone"), phone, phone_required, v);
}

/// Checks a phone number of the form or the register.
pub fn check_phone(field: &str, phone: &str, required: bool, v: &mut Violations) {
    if required {
        v.required_text(field, phone, MAX_PHONE);
    } else {
        v.max_text(field, phone, MAX_PHONE);
    }
    if !phone.trim().is_empty() && !is_plausible_phone(phone.trim()) {
        v.add(field, "is not a phone number");
    }
}

/// Part two of the authorization form (客户托管钥匙委托书 第二联), which the customer keeps
/// (KEY-4).
pub fn render_form_part_two(
    set: &KeySet,
    property_name: &str,
    tz: Tz,
    printed_at: DateTime<Utc>,
) -> String {
    let date = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d").to_string();
    let source = match set.source {
        KeySource::Developer => "发展商交楼托管",
        KeySource::Customer => "客户托管",
    };
    let facts = [
        ("物业", property_name.to_owned()),
        ("钥匙编号", set.number.to_string()),
        ("联次", "第二联 客户保管".to_owned()),
        ("打印", date(printed_at)),
    ];
    let form = table(
        &["项目", "内容"],
        [
            ["日期".to_owned(), date(set.entrusted_at)],
            ["单位编号".to_owned(), set.unit_label.clone()],
            ["客户姓名".to_owned(), set.customer_name.clone()],
            ["托管类别".to_owned(), source.to_owned()],
            ["钥匙数量".to_owned(), format!("{} 把", set.key_count)],
            ["托存原因".to_owned(), set.reason.clone()],
            [
                "领取钥匙的要求".to_owned(),
                set.collection_conditions.clone(),
            ],
        ],
    );
    let collectors = if set.collectors.is_empty() {
        "<p>指定领钥匙人：无（仅限客户本人凭有效证件领取）</p>\n".to_owned()
    } else {
        format!(
            "<p>指定领钥匙人（凭有效证件领取）：</p>\n{}",
            table(
                &["姓名", "联系电话", "证件"],
                set.collectors.iter().map(|c| {
                    [
                        c.name.clone(),
                        c.phone.clone(),
                        if c.id.is_none() {
                            String::new()
                        } else {
                            c.id.masked.clone()
                        },
                    ]
                }),
            )
        )
    };
    let body = format!(
        "{form}{collectors}\
         <p>声明：本服务中心代为保管钥匙，不承担为客户保管家庭财产的责任。</p>\n\
         <p>客户领取钥匙时须出示有效身份证件；客户指定的领钥匙人须出示本人有效身份证件。</p>\n\
         <div class=\"signature\"><span>客户签名：{signer}（{signed}）</span>\
         <span>管理员：{clerk}</span></div>\n",
        signer = escape(&set.disclaimer.signer_name),
        signed = date(set.disclaimer.signed_at),
        clerk = escape(&set.entrusted_by.name),
    );
    page("客户托管钥匙委托书", &facts, &body)
}

#[cfg(test)]
mod tests;

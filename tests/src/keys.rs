//! Entrusted keys as the tests and the benchmark entrust and lend them (KEY-1 to KEY-9).

use chrono::{DateTime, Utc};
use wuye_kit::time::to_timestamp;

use crate::{
    PROPERTY, Stack,
    proto::customerservice::{
        BorrowKeysRequest, BorrowerSpec, DesignatedCollector, DisclaimerSignature,
        EntrustKeysRequest, IdDocumentType, IdHolder, KeySource, LoanPurpose,
        RecordCustodyIdRequest,
    },
};

/// The customer's and the designated collector's ID numbers (made up, valid check digits).
pub const OWNER_ID: &str = "440300199001011238";
pub const COLLECTOR_ID: &str = "11010519491231002X";

/// GB 11643 (ISO 7064 MOD 11-2): the check character of the first 17 digits.
pub fn resident_id_check(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).expect("17 digits") * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// Another person's valid resident ID card number that ends in the same four characters as
/// `number`: the same region and sequence, born on another day (KEY-9).
pub fn same_last_four(number: &str) -> String {
    let (region, rest) = number.split_at(6);
    let sequence = &rest[8..11];
    for year in 1950..2005 {
        for day in ["0101", "0315", "0704", "1122"] {
            let first17 = format!("{region}{year}{day}{sequence}");
            let candidate = format!("{first17}{}", resident_id_check(&first17));
            if candidate != number && candidate[14..] == number[14..] {
                return candidate;
            }
        }
    }
    panic!("no other valid number ends like {number}");
}

/// The customer's signature on the disclaimer (KEY-2).
pub fn signed() -> Option<DisclaimerSignature> {
    Some(DisclaimerSignature {
        accepted: true,
        signer_name: "王建国".into(),
        signature_image: vec![0x89, b'P', b'N', b'G'],
        sign_time: None,
    })
}

/// A customer entrusting three keys of `unit_id` into cabinet `slot`, with one designated
/// collector.
pub fn entrust(request_id: &str, unit_id: &str, slot: &str) -> EntrustKeysRequest {
    EntrustKeysRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        source: KeySource::Customer.into(),
        unit_id: unit_id.into(),
        customer_name: "王建国".into(),
        customer_phone: "139 1111 2222".into(),
        key_count: 3,
        reason: "长期出差，托管期间需维修燃气表".into(),
        collection_conditions: "本人或指定人凭身份证领取".into(),
        collectors: vec![DesignatedCollector {
            name: "王小丽".into(),
            phone: "138 0000 1111".into(),
            id_document_type: IdDocumentType::ResidentIdCard.into(),
            id_number: COLLECTOR_ID.into(),
        }],
        disclaimer: signed(),
        slot: slot.into(),
        entrust_time: None,
        customer_id_document_type: IdDocumentType::ResidentIdCard.into(),
        customer_id_number: OWNER_ID.into(),
    }
}

/// The name of the engineering technician who borrows keys for repairs (see [`hire_borrower`]).
pub const BORROWER_NAME: &str = "张师傅";

/// Hires the engineering technician of the test property who borrows keys for repairs; gives
/// their staff id.
pub async fn hire_borrower(stack: &Stack) -> String {
    stack.hire(BORROWER_NAME, &[("technician", PROPERTY)]).await
}

/// The borrower `staff_id` as a loan request names them.
pub fn borrower(staff_id: &str) -> Option<BorrowerSpec> {
    Some(BorrowerSpec {
        user_id: staff_id.into(),
        department: "工程管理部".into(),
        phone: "137 2222 3333".into(),
    })
}

/// A loan of `quantity` keys of `set` for a repair by the staff member `borrower` (a staff
/// id, see [`hire_borrower`]), expected back at `expected_return`.
pub fn borrow(
    request_id: &str,
    set: &str,
    quantity: i32,
    expected_return: DateTime<Utc>,
    borrower: &str,
) -> BorrowKeysRequest {
    BorrowKeysRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        key_set_id: set.into(),
        quantity,
        purpose: LoanPurpose::Repair.into(),
        reason: "更换燃气表".into(),
        borrower: self::borrower(borrower),
        borrower_signature: BORROWER_NAME.into(),
        expected_return_time: Some(to_timestamp(expected_return)),
    }
}

/// The CS supervisor records again, on custody `set`, the resident ID card `number` of the
/// customer (`collector` `None`) or of the designated collector at that position (KEY-9).
pub fn record_id(
    request_id: &str,
    set: &str,
    collector: Option<i32>,
    number: &str,
) -> RecordCustodyIdRequest {
    let (holder, collector_position) = match collector {
        None => (IdHolder::Customer, 0),
        Some(position) => (IdHolder::DesignatedCollector, position),
    };
    RecordCustodyIdRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        key_set_id: set.into(),
        holder: holder.into(),
        collector_position,
        id_document_type: IdDocumentType::ResidentIdCard.into(),
        id_number: number.into(),
    }
}

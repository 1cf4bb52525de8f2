//! Loans and returns (KEY-6 to KEY-8): the borrowing register, counted returns, the overdue
//! limit and chases.

use chrono::{DateTime, Duration, Utc};
use wuye_kit::{Error, Result, identity::Actor};

use super::{ChaseMethod, KeySet, KeySetState, LoanPurpose, LoanState, closed};

/// The posts of a borrower at the property (KEY-6): staff borrow keys for repairs or
/// vacant-unit patrols, so a borrower is anyone holding a post of the property's own staff
/// (DOMAIN.md "Who is who"); headquarters posts borrow no keys.
pub const BORROWER_ROLES: &[&str] = wuye_kit::roles::PROPERTY_ROLES;

/// The staff member who borrows (KEY-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Borrower {
    /// The staff id of the directory; empty on loans recorded before the directory by a
    /// borrower without a wuye user.
    pub user_id: String,
    /// The directory's name (typed, on loans recorded before the directory).
    pub name: String,
    pub department: String,
    pub phone: String,
}

/// A return counted by the clerk (KEY-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReturn {
    pub id: String,
    pub loan_id: String,
    /// Keys out before this return.
    pub expected: i32,
    pub received: i32,
    pub returned_at: DateTime<Utc>,
    pub received_by: Actor,
    pub note: String,
}

/// A chase of an overdue loan (KEY-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chase {
    pub id: String,
    pub loan_id: String,
    pub method: ChaseMethod,
    pub contacted: String,
    pub result: String,
    pub promised_return_at: Option<DateTime<Utc>>,
    pub chased_at: DateTime<Utc>,
    pub chased_by: Actor,
}

/// An entry of the borrowing register (钥匙借用登记表).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loan {
    pub id: String,
    pub property_id: String,
    pub key_set_id: String,
    pub key_number: i64,
    pub unit_id: String,
    pub unit_label: String,
    pub slot: String,
    pub quantity: i32,
    pub keys_out: i32,
    pub purpose: LoanPurpose,
    pub reason: String,
    pub borrower: Borrower,
    pub borrower_signature: String,
    pub borrowed_at: DateTime<Utc>,
    pub expected_return_at: DateTime<Utc>,
    pub state: LoanState,
    /// When the loan passed its limit, once the overdue check or a late return noted it.
    pub overdue_at: Option<DateTime<Utc>>,
    pub lent_by: Actor,
    pub returns: Vec<KeyReturn>,
    pub chases: Vec<Chase>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Loan {
    /// KEY-8: when the loan passed its limit, if it has by `now`.
    pub fn overdue_since(&self, now: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
        let limit = overdue_at(self.expected_return_at, days);
        self.overdue_at
            .or((self.state == LoanState::Open && now > limit).then_some(limit))
    }

    /// The loan as an answer shows it at `now`: `overdue_at` set once it passed its limit.
    pub fn as_of(mut self, now: DateTime<Utc>, days: u32) -> Self {
        self.overdue_at = self.overdue_since(now, days);
        self
    }
}

impl KeySet {
    /// The set as an answer shows it at `now` (its open loan, [`Loan::as_of`]).
    pub fn as_of(mut self, now: DateTime<Utc>, days: u32) -> Self {
        self.current_loan = self.current_loan.map(|l| Box::new(l.as_of(now, days)));
        self
    }
}

/// An overdue alert (KEY-8) as the desk's stream sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub seq: i64,
    pub property_id: String,
    pub raised_at: DateTime<Utc>,
    pub loan: Loan,
}

/// KEY-6: a set is lent to one borrower at a time, from the keys in the cabinet.
pub fn check_borrow(set: &KeySet, quantity: i32) -> Result<()> {
    match set.state {
        KeySetState::Collected => Err(closed()),
        KeySetState::OnLoan => Err(Error::rule(
            "KEYS_OUT",
            "keys of this set are lent out: they come back before the set is lent again",
        )),
        KeySetState::InCabinet if quantity > set.key_count => Err(Error::invalid(
            "quantity",
            format!("the set has {} keys", set.key_count),
        )),
        KeySetState::InCabinet => Ok(()),
    }
}

/// What a counted return does to its loan (KEY-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnOutcome {
    /// Every key lent is back: the loan closes and the set is back in the cabinet.
    Complete,
    /// Keys are still missing: recorded as a discrepancy, the loan stays open for them.
    Short { missing: i32 },
}

/// KEY-7: the clerk counts the keys back; more than are out is refused.
pub fn check_return(state: LoanState, keys_out: i32, received: i32) -> Result<ReturnOutcome> {
    if state == LoanState::Returned {
        return Err(Error::rule(
            "LOAN_RETURNED",
            "every key of this loan is already back",
        ));
    }
    if received > keys_out {
        let mut e = Error::rule(
            "COUNT_EXCEEDS_LENT",
            format!("{received} keys counted but only {keys_out} are out on this loan"),
        );
        if let Error::Rule { metadata, .. } = &mut e {
            metadata.insert("keys_out".into(), keys_out.to_string());
        }
        return Err(e);
    }
    Ok(if received == keys_out {
        ReturnOutcome::Complete
    } else {
        ReturnOutcome::Short {
            missing: keys_out - received,
        }
    })
}

/// KEY-8: a loan passes its limit `days` after its expected return.
pub fn overdue_at(expected_return: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    expected_return + Duration::days(i64::from(days))
}

/// The expected returns before which an open loan is past its limit at `now`.
pub fn overdue_cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - Duration::days(i64::from(days))
}

/// KEY-8: chasing is for a loan with keys out past its limit.
pub fn check_chase(state: LoanState, overdue: bool) -> Result<()> {
    if state == LoanState::Returned {
        return Err(Error::rule(
            "LOAN_RETURNED",
            "every key of this loan is already back",
        ));
    }
    if !overdue {
        return Err(Error::rule(
            "LOAN_NOT_OVERDUE",
            "the loan has not passed its limit yet",
        ));
    }
    Ok(())
}

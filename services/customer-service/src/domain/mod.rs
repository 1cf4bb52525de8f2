//! The customer service department's rules, free of I/O and of protobuf types.

pub mod analysis;
pub mod complaints;
pub mod contacts;
pub mod corrective;
pub mod forms;
pub mod households;
pub mod keys;
pub mod registers;
pub mod surveys;
pub mod units;
pub mod visits;

/// A phone number as people write it: digits with `+`, `-`, spaces or brackets.
pub fn is_plausible_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (3..=20).contains(&digits)
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
}

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

/// A phone number in the one form numbers are compared in: its digits only (full-width ones
/// folded), without the +86 or 0086 of China. `None` when it is not a phone number.
pub fn normalize_phone(phone: &str) -> Option<String> {
    let mut digits = String::new();
    for (i, c) in phone.trim().chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '\u{FF10}'..='\u{FF19}' => digits.push(char::from(b'0' + (c as u32 - 0xFF10) as u8)),
            '+' | '\u{FF0B}' if i == 0 => digits.push('+'),
            ' ' | '-' | '(' | ')' | '\u{3000}' | '\u{FF0D}' | '\u{FF08}' | '\u{FF09}' => {}
            _ => return None,
        }
    }
    let national = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .unwrap_or(&digits);
    let national = national.strip_prefix('+').unwrap_or(national);
    (3..=20)
        .contains(&national.len())
        .then(|| national.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_compare_by_their_digits() {
        for written in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "0086-13800138000",
            "１３８００１３８０００",
        ] {
            assert_eq!(
                normalize_phone(written).as_deref(),
                Some("13800138000"),
                "{written}"
            );
        }
        assert_eq!(
            normalize_phone("(021) 6234-5678").as_deref(),
            Some("02162345678")
        );
        assert_eq!(
            normalize_phone("+1 415 555 0100").as_deref(),
            Some("14155550100")
        );
        for bad in ["", "12", "138x0013", "13+800", &"1".repeat(21)] {
            assert_eq!(normalize_phone(bad), None, "{bad}");
        }
    }
}

//! JavaScript primitives the port relies on: `parseInt`, `\s`, UTF-16 `substring`,
//! `String.fromCharCode`'s ToUint16, the case folding of a case-insensitive regex.

/// `\s` of a JavaScript regex, and the whitespace `parseInt` skips.
pub(super) fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    )
}

/// `parseInt(text)`: leading whitespace, a sign, `0x` for hexadecimal, then the longest run of
/// digits; NaN when there is none.
pub(super) fn parse_int(text: &str) -> f64 {
    let text = text.trim_start_matches(is_space);
    let (negative, text) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, text) = match text.get(..2) {
        Some("0x" | "0X") => (16, &text[2..]),
        _ => (10, text),
    };
    let length = text.bytes().take_while(|&b| char::from(b).is_digit(radix)).count();
    let digits = &text[..length];
    if digits.is_empty() {
        return f64::NAN;
    }
    let magnitude = if radix == 10 {
        digits.parse::<f64>().unwrap_or(f64::NAN)
    } else if let Ok(exact) = u128::from_str_radix(digits, 16) {
        exact as f64
    } else {
        digits.bytes().fold(0.0, |v, b| {
            v * 16.0 + f64::from(char::from(b).to_digit(16).unwrap_or(0))
        })
    };
    if negative { -magnitude } else { magnitude }
}

pub(super) use crate::number::to_string as number_to_string;

/// ToUint16, as `String.fromCharCode` applies it.
pub(super) fn to_uint16(value: f64) -> u16 {
    if value.is_finite() {
        value.trunc().rem_euclid(65536.0) as u16
    } else {
        0
    }
}

/// `String.prototype.substring` on UTF-16 units: clamped, and swapped when reversed.
pub(super) fn substring(units: &[u16], start: usize, end: usize) -> Vec<u16> {
    let (start, end) = (start.min(units.len()), end.min(units.len()));
    let (start, end) = if start > end { (end, start) } else { (start, end) };
    units.get(start..end).unwrap_or(&[]).to_vec()
}

/// How a case-insensitive, non-Unicode JavaScript regex compares characters: by their upper
/// case, unless that takes more than one unit or turns a non-ASCII character into ASCII.
pub(super) fn canonicalize(c: char) -> char {
    if c as u32 > 0xFFFF {
        return c;
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if (u as u32) <= 0xFFFF && !((c as u32) >= 128 && (u as u32) < 128) => u,
        _ => c,
    }
}

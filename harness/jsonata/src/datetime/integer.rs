//! Integer pictures (XPath F&O 3.1 `format-integer`): what a picture means, how it writes a number
//! (`$formatInteger`, and the integer markers of a date/time picture) and how it reads one back
//! (`$parseInteger`, `$toMillis`).

use std::sync::OnceLock;

use super::{MAX_OUTPUT, error, js, out_of_range, sequence_error};
use crate::Error;

/// The roman numerals jsonata-js can write before its recursion overflows the stack.
const MAX_ROMAN: f64 = 9_000_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LetterCase {
    Upper,
    Lower,
    Title,
}

#[derive(Debug, Clone)]
pub(super) enum Numbering {
    Decimal(DecimalPattern),
    /// `a`/`A`: a, b, …, z, aa, ab … (spreadsheet columns).
    Letters,
    /// `i`/`I`.
    Roman,
    /// `w`, `W`, `Ww`: English words.
    Words,
    /// A picture with no decimal digit: XPath leaves such numbering sequences to the implementation,
    /// and jsonata-js supports none (D3130 when used).
    Sequence(String),
}

#[derive(Debug, Clone)]
pub(super) struct IntegerPicture {
    pub(super) numbering: Numbering,
    case: LetterCase,
    /// `;o`: 1st, 2nd, first, second.
    pub(super) ordinal: bool,
}

#[derive(Debug, Clone)]
pub(super) struct DecimalPattern {
    /// The zero of the digit family the picture is written in (`0`, `٠`, `０` …).
    zero: u32,
    /// Digits always written. A date/time width modifier can raise it, or (jsonata-js validates
    /// nothing) make it negative or NaN: a JavaScript number.
    pub(super) mandatory_digits: f64,
    pub(super) optional_digits: f64,
    pub(super) grouping: Grouping,
    /// Set when another integer marker follows this one directly in a `$toMillis` picture: the
    /// number of digits to read, since nothing else says where this one ends.
    pub(super) parse_width: Option<f64>,
}

#[derive(Debug, Clone)]
pub(super) enum Grouping {
    /// One character every `interval` digits (`#,##0`), repeated over the whole number.
    Regular { interval: usize, separator: char },
    /// Separators at fixed positions from the right (`#:###,##0`, or none), written only there.
    Irregular(Vec<(usize, char)>),
}

/// The first code point of every Unicode decimal digit family jsonata-js knows (the BMP ones).
const DECIMAL_GROUPS: [u32; 37] = [
    0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6,
    0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40,
    0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
];

impl IntegerPicture {
    pub(super) fn parse(picture: &str) -> Result<Self, Error> {
        let (primary, ordinal) = match picture.rfind(';') {
            Some(at) => (&picture[..at], picture[at + 1..].starts_with('o')),
            None => (picture, false),
        };
        let (numbering, case) = match primary {
            "A" => (Numbering::Letters, LetterCase::Upper),
            "a" => (Numbering::Letters, LetterCase::Lower),
            "I" => (Numbering::Roman, LetterCase::Upper),
            "i" => (Numbering::Roman, LetterCase::Lower),
            "W" => (Numbering::Words, LetterCase::Upper),
            "Ww" => (Numbering::Words, LetterCase::Title),
            "w" => (Numbering::Words, LetterCase::Lower),
            _ => (decimal_numbering(primary)?, LetterCase::Lower),
        };
        Ok(Self {
            numbering,
            case,
            ordinal,
        })
    }

    /// jsonata-js's `_formatInteger`: `value` is already an integer where it comes from the user.
    pub(super) fn format(&self, value: f64) -> Result<String, Error> {
        let negative = value < 0.0;
        let value = value.abs();
        let upper = self.case == LetterCase::Upper;
        let body = match &self.numbering {
            Numbering::Letters => letters(value, upper)?,
            Numbering::Roman => {
                let roman = roman(value)?;
                if upper { roman.to_uppercase() } else { roman }
            }
            Numbering::Words => {
                let words = words(value, self.ordinal)?;
                match self.case {
                    LetterCase::Upper => words.to_uppercase(),
                    LetterCase::Lower => words.to_lowercase(),
                    LetterCase::Title => words,
                }
            }
            Numbering::Decimal(pattern) => pattern.format(value, self.ordinal)?,
            Numbering::Sequence(token) => return Err(sequence_error(token)),
        };
        Ok(if negative { format!("-{body}") } else { body })
    }

    /// The inverse, as jsonata-js's matchers parse: no validation, so anything the picture cannot
    /// read is NaN (JavaScript arithmetic on undefined).
    pub(super) fn read(&self, text: &str) -> Result<f64, Error> {
        let upper = self.case == LetterCase::Upper;
        match &self.numbering {
            Numbering::Letters => Ok(letters_value(text, upper)),
            Numbering::Roman => Ok(roman_value(&if upper { text.to_string() } else { text.to_uppercase() })),
            Numbering::Words => Ok(words_value(&text.to_lowercase())),
            Numbering::Decimal(pattern) => pattern.read(text, self.ordinal),
            Numbering::Sequence(token) => Err(sequence_error(token)),
        }
    }
}

/// A decimal-digit pattern (`#,##0`, `٠٠`): the picture is read from the right, so a separator's
/// position is the number of digit signs to its right.
fn decimal_numbering(primary: &str) -> Result<Numbering, Error> {
    let mut zero: Option<u32> = None;
    let mut mandatory = 0usize;
    let mut optional = 0usize;
    let mut position = 0usize;
    let mut separators = Vec::new();
    for c in primary.chars().rev() {
        let code = c as u32;
        if let Some(&group) = DECIMAL_GROUPS.iter().find(|&&g| (g..=g + 9).contains(&code)) {
            mandatory += 1;
            position += 1;
            match zero {
                None => zero = Some(group),
                Some(z) if z != group => {
                    return Err(error(
                        "D3131",
                        "In a decimal digit pattern, all digits must be from the same decimal group",
                    ));
                }
                Some(_) => {}
            }
        } else if c == '#' {
            position += 1;
            optional += 1;
        } else {
            separators.push((position, c));
        }
    }
    let Some(zero) = zero else {
        return Ok(Numbering::Sequence(primary.to_string()));
    };
    let interval = regular_interval(&separators);
    let grouping = match separators.first() {
        Some(&(_, separator)) if interval > 0 => Grouping::Regular { interval, separator },
        _ => Grouping::Irregular(separators),
    };
    Ok(Numbering::Decimal(DecimalPattern {
        zero,
        mandatory_digits: mandatory as f64,
        optional_digits: optional as f64,
        grouping,
        parse_width: None,
    }))
}

/// The separators repeat when they are one character at every multiple of one interval (`#,###,##0`
/// but not `##,##,##0`): then the interval, else 0.
fn regular_interval(separators: &[(usize, char)]) -> usize {
    let Some(&(_, first)) = separators.first() else {
        return 0;
    };
    if separators.iter().any(|&(_, c)| c != first) {
        return 0;
    }
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let factor = separators.iter().map(|&(p, _)| p).reduce(gcd).unwrap_or(0);
    let every_multiple = (1..=separators.len()).all(|i| separators.iter().any(|&(p, _)| p == i * factor));
    if every_multiple { factor } else { 0 }
}

impl DecimalPattern {
    fn format(&self, value: f64, ordinal: bool) -> Result<String, Error> {
        let mut text = js::number_to_string(value);
        let padding = self.mandatory_digits - text.len() as f64;
        if padding > 0.0 {
            if padding > MAX_OUTPUT as f64 {
                return Err(out_of_range(format!("{} digits", self.mandatory_digits)));
            }
            text = "0".repeat(padding as usize) + &text;
        }
        if self.zero != 0x30 {
            // Every character moves to the family, as in jsonata-js (`NaN`, `1e+21` included).
            text = text
                .chars()
                .map(|c| char::from_u32(c as u32 + self.zero - 0x30).unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
        }
        // jsonata-js inserts separators by UTF-16 offsets from the right, with `substr`'s clamping.
        let mut units: Vec<u16> = text.encode_utf16().collect();
        match &self.grouping {
            Grouping::Regular { interval, separator } => {
                let mut buffer = [0u16; 2];
                let separator = separator.encode_utf16(&mut buffer);
                let groups = units.len().saturating_sub(1) / interval;
                for group in (1..=groups).rev() {
                    let at = units.len().saturating_sub(group * interval);
                    units.splice(at..at, separator.iter().copied());
                }
            }
            Grouping::Irregular(separators) => {
                for &(position, separator) in separators.iter().rev() {
                    let at = units.len() as i64 - position as i64;
                    let head = if at <= 0 {
                        &[][..]
                    } else {
                        units.get(..at as usize).unwrap_or(&units)
                    };
                    let tail_start = if at < 0 { (units.len() as i64 + at).max(0) } else { at } as usize;
                    let tail = units.get(tail_start..).unwrap_or(&[]);
                    let mut buffer = [0u16; 2];
                    let mut joined = head.to_vec();
                    joined.extend_from_slice(separator.encode_utf16(&mut buffer));
                    joined.extend_from_slice(tail);
                    units = joined;
                }
            }
        }
        if ordinal {
            let last = units.last().copied();
            let before_last = units.len().checked_sub(2).and_then(|i| units.get(i)).copied();
            let suffix = match (before_last, last) {
                (Some(0x31), _) => "th",
                (_, Some(0x31)) => "st",
                (_, Some(0x32)) => "nd",
                (_, Some(0x33)) => "rd",
                _ => "th",
            };
            units.extend(suffix.encode_utf16());
        }
        Ok(String::from_utf16_lossy(&units))
    }

    fn read(&self, text: &str, ordinal: bool) -> Result<f64, Error> {
        let mut units: Vec<u16> = text.encode_utf16().collect();
        if ordinal {
            units.truncate(units.len().saturating_sub(2));
        }
        let mut digits = String::from_utf16_lossy(&units);
        match &self.grouping {
            // jsonata-js removes commas here, whatever the separator.
            Grouping::Regular { .. } => digits = digits.replace(',', ""),
            Grouping::Irregular(separators) => {
                for &(_, separator) in separators {
                    digits = digits.replace(separator, "");
                }
            }
        }
        if self.zero != 0x30 {
            let mut ascii = String::new();
            for unit in digits.encode_utf16() {
                let code = i64::from(unit) - i64::from(self.zero) + 0x30;
                let Ok(code) = u32::try_from(code) else {
                    return Err(out_of_range(format!(
                        "{text} is not written in the digits of the picture (code point {code})"
                    )));
                };
                ascii.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            digits = ascii;
        }
        Ok(js::parse_int(&digits))
    }
}

fn letters(value: f64, upper: bool) -> Result<String, Error> {
    if value.is_infinite() {
        return Err(out_of_range(value));
    }
    let a = f64::from(if upper { b'A' } else { b'a' });
    let mut units = Vec::new();
    let mut value = value;
    while value > 0.0 {
        units.push(js::to_uint16((value - 1.0) % 26.0 + a));
        value = ((value - 1.0) / 26.0).floor();
    }
    units.reverse();
    Ok(String::from_utf16_lossy(&units))
}

fn letters_value(text: &str, upper: bool) -> f64 {
    let a = f64::from(if upper { b'A' } else { b'a' });
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut value = 0.0;
    for (i, &unit) in units.iter().rev().enumerate() {
        value += (f64::from(unit) - a + 1.0) * 26f64.powf(i as f64);
    }
    value
}

const ROMAN_NUMERALS: [(f64, &str); 13] = [
    (1000.0, "m"),
    (900.0, "cm"),
    (500.0, "d"),
    (400.0, "cd"),
    (100.0, "c"),
    (90.0, "xc"),
    (50.0, "l"),
    (40.0, "xl"),
    (10.0, "x"),
    (9.0, "ix"),
    (5.0, "v"),
    (4.0, "iv"),
    (1.0, "i"),
];

fn roman(value: f64) -> Result<String, Error> {
    if value.is_nan() {
        return Ok(String::new());
    }
    // One numeral per recursion in jsonata-js: Node's default stack overflows near 9,000 of them.
    if value >= MAX_ROMAN {
        return Err(out_of_range(js::number_to_string(value)));
    }
    let mut out = String::new();
    let mut value = value;
    while let Some(&(amount, numeral)) = ROMAN_NUMERALS.iter().find(|(amount, _)| value >= *amount) {
        out.push_str(numeral);
        value -= amount;
    }
    Ok(out)
}

/// Subtractive reading from the right; a character that is not a numeral makes NaN.
fn roman_value(roman: &str) -> f64 {
    let mut value = 0.0;
    let mut max = 1.0;
    for c in roman.chars().rev() {
        let digit = match c {
            'M' => 1000.0,
            'D' => 500.0,
            'C' => 100.0,
            'L' => 50.0,
            'X' => 10.0,
            'V' => 5.0,
            'I' => 1.0,
            _ => f64::NAN,
        };
        if digit < max {
            value -= digit;
        } else {
            max = digit;
            value += digit;
        }
    }
    value
}

const FEW: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const ORDINALS: [&str; 20] = [
    "Zeroth",
    "First",
    "Second",
    "Third",
    "Fourth",
    "Fifth",
    "Sixth",
    "Seventh",
    "Eighth",
    "Ninth",
    "Tenth",
    "Eleventh",
    "Twelfth",
    "Thirteenth",
    "Fourteenth",
    "Fifteenth",
    "Sixteenth",
    "Seventeenth",
    "Eighteenth",
    "Nineteenth",
];
const DECADES: [&str; 9] = [
    "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred",
];
const MAGNITUDES: [(&str, f64); 4] = [
    ("Thousand", 1e3),
    ("Million", 1e6),
    ("Billion", 1e9),
    ("Trillion", 1e12),
];

/// `table[index]` as JavaScript indexes an array: a non-integer or missing index is "undefined",
/// which jsonata-js then writes into the words (only reachable from odd year widths).
fn word_at(table: &[&'static str], index: f64) -> &'static str {
    if index >= 0.0 && index.fract() == 0.0 {
        table.get(index as usize).copied().unwrap_or("undefined")
    } else {
        "undefined"
    }
}

/// English words as jsonata-js writes them: "and" before the last part under a hundred, a comma
/// between thousands groups, magnitudes past a trillion repeated ("ten billion trillion").
fn words(value: f64, ordinal: bool) -> Result<String, Error> {
    if !value.is_finite() {
        return Err(out_of_range(js::number_to_string(value)));
    }
    let mut out = String::new();
    words_into(&mut out, value, false, ordinal, 0)?;
    Ok(out)
}

fn words_into(out: &mut String, num: f64, prev: bool, ordinal: bool, depth: usize) -> Result<(), Error> {
    // Finite integers need a few dozen levels; a non-integer can make jsonata-js recurse forever.
    if depth > 100 {
        return Err(out_of_range(js::number_to_string(num)));
    }
    if num <= 19.0 {
        if prev {
            out.push_str(" and ");
        }
        out.push_str(word_at(if ordinal { &ORDINALS } else { &FEW }, num));
    } else if num < 100.0 {
        let tens = (num / 10.0).floor();
        let remainder = num % 10.0;
        if prev {
            out.push_str(" and ");
        }
        let decade = word_at(&DECADES, tens - 2.0);
        if remainder > 0.0 {
            out.push_str(decade);
            out.push('-');
            words_into(out, remainder, false, ordinal, depth + 1)?;
        } else if ordinal {
            // Twenty → Twentieth
            out.push_str(&decade[..decade.len() - 1]);
            out.push_str("ieth");
        } else {
            out.push_str(decade);
        }
    } else if num < 1000.0 {
        let hundreds = (num / 100.0).floor();
        let remainder = num % 100.0;
        if prev {
            out.push_str(", ");
        }
        out.push_str(word_at(&FEW, hundreds));
        out.push_str(" Hundred");
        if remainder > 0.0 {
            words_into(out, remainder, true, ordinal, depth + 1)?;
        } else if ordinal {
            out.push_str("th");
        }
    } else {
        let magnitude = ((num.log10() / 3.0).floor() as usize).clamp(1, MAGNITUDES.len());
        let (name, factor) = MAGNITUDES[magnitude - 1];
        let mantissa = (num / factor).floor();
        let remainder = num - mantissa * factor;
        if prev {
            out.push_str(", ");
        }
        words_into(out, mantissa, false, false, depth + 1)?;
        out.push(' ');
        out.push_str(name);
        if remainder > 0.0 {
            words_into(out, remainder, true, ordinal, depth + 1)?;
        } else if ordinal {
            out.push_str("th");
        }
    }
    Ok(())
}

/// jsonata-js's `wordValues`, in its key order (which is also the order its word regex tries them).
pub(super) fn word_values() -> &'static [(String, f64)] {
    static VALUES: OnceLock<Vec<(String, f64)>> = OnceLock::new();
    VALUES.get_or_init(|| {
        let mut values = Vec::new();
        for (i, word) in FEW.iter().enumerate() {
            values.push((word.to_lowercase(), i as f64));
        }
        for (i, word) in ORDINALS.iter().enumerate() {
            values.push((word.to_lowercase(), i as f64));
        }
        for (i, word) in DECADES.iter().enumerate() {
            let word = word.to_lowercase();
            let value = ((i + 2) * 10) as f64;
            // "hundred" gives the (useless) "hundreieth" as in jsonata-js.
            let ordinal = format!("{}ieth", &word[..word.len() - 1]);
            values.push((word, value));
            values.push((ordinal, value));
        }
        values.push(("hundredth".to_string(), 100.0));
        for (word, value) in MAGNITUDES {
            let word = word.to_lowercase();
            let ordinal = format!("{word}th");
            values.push((word, value));
            values.push((ordinal, value));
        }
        values
    })
}

/// jsonata-js's `wordsToNumber` (on lower-cased text): split at ", ", " and ", whitespace, `\` and
/// `-`; numbers under a hundred add up, larger words multiply what precedes them.
fn words_value(text: &str) -> f64 {
    let chars: Vec<char> = text.chars().collect();
    let mut parts: Vec<String> = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < chars.len() {
        let here = chars[at];
        let next_is_space = |i: usize| chars.get(i).is_some_and(|&c| js::is_space(c));
        let length = if here == ',' && next_is_space(at + 1) {
            2
        } else if js::is_space(here) && chars.get(at + 1..at + 4) == Some(&['a', 'n', 'd'][..]) && next_is_space(at + 4)
        {
            5
        } else if js::is_space(here) || here == '\\' || here == '-' {
            1
        } else {
            0
        };
        if length > 0 {
            parts.push(chars[start..at].iter().collect());
            at += length;
            start = at;
        } else {
            at += 1;
        }
    }
    parts.push(chars.get(start..).unwrap_or(&[]).iter().collect());
    let mut segments = vec![0.0];
    for part in parts {
        // An unknown word is undefined in jsonata-js: NaN here, and NaN < 100 is false there too.
        let value = word_values()
            .iter()
            .find(|(w, _)| *w == part)
            .map_or(f64::NAN, |&(_, v)| v);
        let top = segments.pop().unwrap_or(f64::NAN);
        if value < 100.0 {
            if top >= 1000.0 {
                segments.push(top);
                segments.push(value);
            } else {
                segments.push(top + value);
            }
        } else {
            segments.push(top * value);
        }
    }
    segments.iter().fold(0.0, |sum, s| sum + s)
}

//! Integer and date/time pictures, as jsonata-js's `src/datetime.js` implements them: the XPath F&O
//! 3.1 rules of `format-integer` and `format-dateTime` (<https://www.w3.org/TR/xpath-functions-31/>)
//! and their inverses, behind `$formatInteger`, `$parseInteger`, `$fromMillis`, `$toMillis` and
//! `$now` (which is `$fromMillis` of the evaluation's timestamp).
//!
//! The port follows jsonata-js as it is released today (fractional seconds read as a fraction of a
//! second, jsonata-js PR #782; an ISO 8601 timestamp tested with `(-MM)?(-DD)?`), quirks included:
//! state machines were written against jsonata-js, so a picture must mean here what it means there.
//! Among the quirks kept: a two-digit year read by `$toMillis` is 19xx (`Date.UTC`); `[Z]` reads
//! `-05:30` as −4:30 and a `-0530` timezone argument formats as −06:30; a day-of-year date
//! (`[Y]-[d]`) cannot be followed by a time; `[P]` defaulted from "now" never adds 12 hours.
//!
//! Numbers are `f64` with JavaScript's semantics wherever they leak into results: `NaN` from an
//! unreadable `$parseInteger` input (returned as `Some(NaN)`, which jsonata-js returns as `NaN`),
//! `"NaN"` digits for a date outside JavaScript's range (±8.64e15 ms), width modifiers that are
//! not numbers. Strings are measured in UTF-16 code units where jsonata-js's results depend on it
//! (grouping separators, ordinal suffixes, name widths).
//!
//! Where jsonata-js fails with a JavaScript exception instead of a JSONata error (a stack overflow
//! for the words of `Infinity` or the roman numerals of 9,000,000 and more, `String.fromCodePoint`
//! of a negative number when `$parseInteger` reads a character below the picture's digit family,
//! a method called on the `undefined` name of a month outside the date range, a regex made invalid
//! by a `[Z]` separator), this port returns `D1001` ("Number out of range"), or `D3133` for a name
//! modifier on fractional seconds (`[fN]`, a TypeError there). Output is bounded: more than 2^20
//! characters of padding, or of markers in one picture, is `D1001` too.
//!
//! Deliberate differences: timestamps without an offset are UTC (jsonata-js uses the machine's zone,
//! UTC in Step Functions); jsonata-js pastes the separator of a `[Z]` marker into a regex unescaped,
//! and of the metacharacters this port follows `.`, `^`, `$`, `*`, `+`, `(` and `)`, but matches
//! `?`, `|`, `[` and `\` literally; where jsonata-js builds a string holding lone UTF-16 surrogates
//! (the letters of a huge number, a non-BMP separator cut apart), Rust has U+FFFD.
//!
//! `tests/datetime_suite.rs` runs the official suite's cases that are one call with literal
//! arguments; `tests/datetime_jsonata_js.rs` compares thousands of generated calls with jsonata-js.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::Error;

/// `$formatInteger(number, picture)`.
pub fn format_integer(value: f64, picture: &str) -> Result<String, Error> {
    let value = value.floor();
    IntegerPicture::parse(picture)?.format(value)
}

/// `$parseInteger(string, picture)`; None where jsonata-js returns undefined (never, for a string).
/// An input the picture cannot read is `Some(NaN)`, as in jsonata-js.
pub fn parse_integer(value: &str, picture: &str) -> Result<Option<f64>, Error> {
    let picture = IntegerPicture::parse(picture)?;
    // jsonata-js builds the matcher (and refuses a numbering sequence) before reading the value.
    if let Numbering::Sequence(token) = &picture.numbering {
        return Err(sequence_error(token));
    }
    picture.read(value).map(Some)
}

/// `$fromMillis(millis, picture?, timezone?)`. Without a picture, ISO 8601 with milliseconds as
/// jsonata-js writes it (`[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]`: `…Z` in UTC,
/// like `Date.toISOString` for years 0–9999); the timezone is `±HHMM`.
pub fn from_millis(millis: f64, picture: Option<&str>, timezone: Option<&str>) -> Result<String, Error> {
    let offset = match timezone {
        // jsonata-js reads the timezone with parseInt and splits it arithmetically.
        Some(timezone) => {
            let offset = js::parse_int(timezone);
            Offset {
                hours: (offset / 100.0).floor(),
                minutes: offset % 100.0,
            }
        }
        None => Offset {
            hours: 0.0,
            minutes: 0.0,
        },
    };
    // `$now()` formats with the ISO picture on every call: analysed once, as jsonata-js caches it.
    static ISO_8601: OnceLock<Vec<Part>> = OnceLock::new();
    let analysed;
    let parts: &[Part] = match picture {
        Some(picture) => {
            analysed = parse_picture(picture)?;
            &analysed
        }
        None => ISO_8601.get_or_init(|| parse_picture(ISO_8601_PICTURE).unwrap_or_default()),
    };
    let offset_millis = (60.0 * offset.hours + offset.minutes) * 60.0 * 1000.0;
    let date = JsDate::new(millis + offset_millis);
    let mut out = String::new();
    // Each marker is bounded, and so is their sum: a picture of many wide markers must not make
    // a short picture allocate without bound.
    let mut written = 0;
    for part in parts {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Marker(marker) => {
                let text = format_marker(marker, &date, offset)?;
                written += text.len();
                if written > MAX_OUTPUT {
                    return Err(out_of_range(format!(
                        "a date/time picture writing {written} characters"
                    )));
                }
                out.push_str(&text);
            }
        }
    }
    Ok(out)
}

/// `$toMillis(timestamp, picture?)`: None where jsonata-js returns undefined (a picture that does not
/// match); `Some(NaN)` where `Date.parse` gives NaN; D3110 for a timestamp that is not ISO 8601.
/// Components a picture leaves out before the first one it gives default to now (the system
/// clock); the evaluator, which has a fixed timestamp per evaluation, calls [`to_millis_at`].
pub fn to_millis(timestamp: &str, picture: Option<&str>) -> Result<Option<f64>, Error> {
    to_millis_at(timestamp, picture, current_millis())
}

/// [`to_millis`] with "now" (milliseconds since the epoch) given: jsonata-js takes the missing
/// leading components of a picture from the evaluation's timestamp, the one `$now()` returns.
pub fn to_millis_at(timestamp: &str, picture: Option<&str>, now: f64) -> Result<Option<f64>, Error> {
    match picture {
        None => {
            if !iso8601::matches(timestamp) {
                return Err(error(
                    "D3110",
                    format!(
                        "The argument of the toMillis function must be an ISO 8601 formatted timestamp. Given {timestamp}"
                    ),
                ));
            }
            Ok(Some(v8_date::parse(timestamp)))
        }
        Some(picture) => parse_date_time(timestamp, picture, now),
    }
}

/// Milliseconds since the epoch, now (for `$millis()` / `$now()` and [`to_millis`]).
pub fn current_millis() -> f64 {
    let now = std::time::SystemTime::now();
    match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => since.as_millis() as f64,
        Err(before) => -(before.duration().as_millis() as f64),
    }
}

const ISO_8601_PICTURE: &str = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";

/// The most padding digits one number, or all the markers of one picture, may write (jsonata-js
/// has no bound below the engine's string limit).
const MAX_OUTPUT: usize = 1 << 20;

/// The roman numerals jsonata-js can write before its recursion overflows the stack.
const MAX_ROMAN: f64 = 9_000_000.0;

fn error(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(code, 0, None, message)
}

/// jsonata-js throws a JavaScript exception here (see the module documentation).
fn out_of_range(what: impl std::fmt::Display) -> Error {
    error("D1001", format!("Number out of range: {what}"))
}

fn sequence_error(token: &str) -> Error {
    error(
        "D3130",
        format!(
            "Formatting or parsing an integer as a sequence starting with {token} is not supported by this implementation"
        ),
    )
}

fn name_error(component: &str) -> Error {
    error(
        "D3133",
        format!(
            "The 'name' modifier can only be applied to months and days in the date/time picture string, not {component}"
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Integer pictures (format-integer)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LetterCase {
    Upper,
    Lower,
    Title,
}

#[derive(Debug, Clone)]
enum Numbering {
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
struct IntegerPicture {
    numbering: Numbering,
    case: LetterCase,
    /// `;o`: 1st, 2nd, first, second.
    ordinal: bool,
}

#[derive(Debug, Clone)]
struct DecimalPattern {
    /// The zero of the digit family the picture is written in (`0`, `٠`, `０` …).
    zero: u32,
    /// Digits always written. A date/time width modifier can raise it, or (jsonata-js validates
    /// nothing) make it negative or NaN: a JavaScript number.
    mandatory_digits: f64,
    optional_digits: f64,
    grouping: Grouping,
    /// Set when another integer marker follows this one directly in a `$toMillis` picture: the
    /// number of digits to read, since nothing else says where this one ends.
    parse_width: Option<f64>,
}

#[derive(Debug, Clone)]
enum Grouping {
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
    fn parse(picture: &str) -> Result<Self, Error> {
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
    fn format(&self, value: f64) -> Result<String, Error> {
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
    fn read(&self, text: &str) -> Result<f64, Error> {
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
fn word_values() -> &'static [(String, f64)] {
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

// ---------------------------------------------------------------------------------------------
// Date/time pictures (format-dateTime)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    Year,
    Month,
    Day,
    DayOfYear,
    DayOfWeek,
    WeekOfYear,
    WeekOfMonth,
    /// `X`, jsonata-js's extension: the ISO week-numbering year.
    IsoYear,
    /// `x`, jsonata-js's extension: the month the week (`w`) belongs to.
    IsoMonth,
    Hour,
    HalfDayHour,
    AmPm,
    Minute,
    Second,
    Fraction,
    Timezone,
    GmtTimezone,
    Calendar,
    Era,
    Unknown,
}

impl Component {
    const COUNT: usize = Component::Unknown as usize + 1;

    /// The component specifier is the marker's first UTF-16 code unit.
    fn from_unit(unit: Option<u16>) -> Self {
        match unit.and_then(|u| u8::try_from(u).ok()) {
            Some(b'Y') => Self::Year,
            Some(b'M') => Self::Month,
            Some(b'D') => Self::Day,
            Some(b'd') => Self::DayOfYear,
            Some(b'F') => Self::DayOfWeek,
            Some(b'W') => Self::WeekOfYear,
            Some(b'w') => Self::WeekOfMonth,
            Some(b'X') => Self::IsoYear,
            Some(b'x') => Self::IsoMonth,
            Some(b'H') => Self::Hour,
            Some(b'h') => Self::HalfDayHour,
            Some(b'P') => Self::AmPm,
            Some(b'm') => Self::Minute,
            Some(b's') => Self::Second,
            Some(b'f') => Self::Fraction,
            Some(b'Z') => Self::Timezone,
            Some(b'z') => Self::GmtTimezone,
            Some(b'C') => Self::Calendar,
            Some(b'E') => Self::Era,
            _ => Self::Unknown,
        }
    }

    fn default_presentation(self) -> Option<&'static str> {
        match self {
            Self::Year
            | Self::Month
            | Self::Day
            | Self::DayOfYear
            | Self::WeekOfYear
            | Self::WeekOfMonth
            | Self::IsoYear
            | Self::IsoMonth
            | Self::Hour
            | Self::HalfDayHour
            | Self::Fraction => Some("1"),
            Self::DayOfWeek | Self::AmPm | Self::Calendar | Self::Era => Some("n"),
            Self::Minute | Self::Second => Some("01"),
            Self::Timezone | Self::GmtTimezone => Some("01:01"),
            Self::Unknown => None,
        }
    }

    /// Formatted with an integer picture (§9.8.4.3), fractional seconds included (`YMDdFWwXxHhmsf`).
    fn takes_integer_picture(self) -> bool {
        self.is_integer_valued() || self == Self::Fraction
    }

    /// `YMDdFWwXxHhms`.
    fn is_integer_valued(self) -> bool {
        matches!(
            self,
            Self::Year
                | Self::Month
                | Self::Day
                | Self::DayOfYear
                | Self::DayOfWeek
                | Self::WeekOfYear
                | Self::WeekOfMonth
                | Self::IsoYear
                | Self::IsoMonth
                | Self::Hour
                | Self::HalfDayHour
                | Self::Minute
                | Self::Second
        )
    }
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Marker(Marker),
}

/// A variable marker, `[M01]`, `[FNn,3-3]`, `[D1o]`.
#[derive(Debug, Clone)]
struct Marker {
    component: Component,
    /// The component specifier as written, for error messages.
    specifier: String,
    /// `a`, `t`, `c` or `o` after the first presentation modifier (`t`: `Z` for a zero offset).
    presentation2: Option<u16>,
    /// A name rather than a number (`N`, `n`, `Nn`).
    names: Option<LetterCase>,
    width: Option<Width>,
    integer: Option<IntegerPicture>,
    /// §9.8.4.4: how many trailing digits of the year to write, -1 for all.
    year_digits: f64,
}

/// `,min-max`: parseInt of each side, `*` or absent being None.
#[derive(Debug, Clone, Copy)]
struct Width {
    min: Option<f64>,
    max: Option<f64>,
}

/// The timezone `$fromMillis` writes in, as jsonata-js splits it: hours floored, minutes the rest.
#[derive(Debug, Clone, Copy)]
struct Offset {
    hours: f64,
    minutes: f64,
}

/// Splits a picture into literals and markers (§9.8.4.1): `[[` and `]]` are literal brackets.
fn parse_picture(picture: &str) -> Result<Vec<Part>, Error> {
    let mut parts: Vec<Part> = Vec::new();
    let push_literal = |parts: &mut Vec<Part>, text: &str| {
        if !text.is_empty() {
            parts.push(Part::Literal(text.replace("]]", "]")));
        }
    };
    let bytes = picture.as_bytes();
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        if bytes.get(at) == Some(&b'[') {
            if bytes.get(at + 1) == Some(&b'[') {
                push_literal(&mut parts, &picture[start..at]);
                parts.push(Part::Literal("[".to_string()));
                at += 2;
                start = at;
                continue;
            }
            push_literal(&mut parts, &picture[start..at]);
            let Some(close) = picture[at..].find(']').map(|i| at + i) else {
                return Err(error(
                    "D3135",
                    "No matching closing bracket ']' in date/time picture string",
                ));
            };
            let marker = Marker::parse(&picture[at + 1..close], &mut parts)?;
            parts.push(Part::Marker(marker));
            start = close + 1;
            at = close;
        }
        at += 1;
    }
    push_literal(&mut parts, picture.get(start..).unwrap_or(""));
    Ok(parts)
}

impl Marker {
    /// `text` is what is between the brackets; `previous` the parts so far, since an integer marker
    /// right after another fixes how many digits `$toMillis` reads for the first.
    fn parse(text: &str, previous: &mut [Part]) -> Result<Self, Error> {
        // Whitespace inside a marker is ignored; the rest is handled in UTF-16 units, as jsonata-js
        // does with charAt/substring (which matters only for a non-BMP component character).
        let marker: Vec<u16> = text
            .chars()
            .filter(|&c| !js::is_space(c))
            .collect::<String>()
            .encode_utf16()
            .collect();
        let unit = marker.first().copied();
        let component = Component::from_unit(unit);
        let specifier = String::from_utf16_lossy(unit.as_slice());
        let comma = marker.iter().rposition(|&u| u == u16::from(b','));
        let (modifiers, width) = match comma {
            Some(comma) => {
                let width = String::from_utf16_lossy(marker.get(comma + 1..).unwrap_or(&[]));
                let (min, max) = match width.find('-') {
                    None => (Some(width.as_str()), None),
                    Some(dash) => (Some(&width[..dash]), Some(&width[dash + 1..])),
                };
                let read = |w: Option<&str>| match w {
                    None | Some("*") => None,
                    Some(w) => Some(js::parse_int(w)),
                };
                let width = Width {
                    min: read(min),
                    max: read(max),
                };
                (js::substring(&marker, 1, comma), Some(width))
            }
            None => (marker.get(1..).unwrap_or(&[]).to_vec(), None),
        };
        let (presentation1, presentation2) = match modifiers.len() {
            0 => (
                component
                    .default_presentation()
                    .map(|p| p.encode_utf16().collect::<Vec<u16>>()),
                None,
            ),
            1 => (Some(modifiers), None),
            n => match modifiers.get(n - 1) {
                Some(&last) if "atco".encode_utf16().any(|u| u == last) => {
                    (modifiers.get(..n - 1).map(<[u16]>::to_vec), Some(last))
                }
                _ => (Some(modifiers), None),
            },
        };
        let Some(presentation1) = presentation1 else {
            return Err(error(
                "D3132",
                format!("Unknown component specifier {specifier} in date/time picture string"),
            ));
        };
        let is = |i: usize, c: u8| presentation1.get(i) == Some(&u16::from(c));
        let names = if is(0, b'n') {
            Some(LetterCase::Lower)
        } else if is(0, b'N') {
            Some(if is(1, b'n') {
                LetterCase::Title
            } else {
                LetterCase::Upper
            })
        } else {
            None
        };
        let presentation1 = String::from_utf16_lossy(&presentation1);
        let mut integer = None;
        let mut year_digits = -1.0;
        if names.is_none() && component.takes_integer_picture() {
            let mut pattern = presentation1.clone();
            if let Some(second) = presentation2 {
                pattern.push(';');
                pattern.push_str(&String::from_utf16_lossy(&[second]));
            }
            let mut picture = IntegerPicture::parse(&pattern)?;
            if let (Numbering::Decimal(decimal), Some(Width { min: Some(min), .. })) = (&mut picture.numbering, width)
                && decimal.mandatory_digits < min
            {
                decimal.mandatory_digits = min;
            }
            if component == Component::Year {
                if let Some(Width { max: Some(max), .. }) = width {
                    year_digits = max;
                    if let Numbering::Decimal(decimal) = &mut picture.numbering {
                        decimal.mandatory_digits = max;
                    }
                } else if let Numbering::Decimal(decimal) = &picture.numbering {
                    let digits = decimal.mandatory_digits + decimal.optional_digits;
                    if digits >= 2.0 {
                        year_digits = digits;
                    }
                }
            }
            if let Some(Part::Marker(Marker {
                integer:
                    Some(IntegerPicture {
                        numbering: Numbering::Decimal(before),
                        ..
                    }),
                ..
            })) = previous.last_mut()
            {
                before.parse_width = Some(before.mandatory_digits);
            }
            integer = Some(picture);
        }
        if matches!(component, Component::Timezone | Component::GmtTimezone) {
            integer = Some(IntegerPicture::parse(&presentation1)?);
        }
        Ok(Self {
            component,
            specifier,
            presentation2,
            names,
            width,
            integer,
            year_digits,
        })
    }
}

/// What jsonata-js's `getDateTimeFragment` gives for a component.
enum Fragment {
    Number(f64),
    Text(&'static str),
    Undefined,
}

impl Fragment {
    fn number(&self) -> f64 {
        match self {
            Fragment::Number(n) => *n,
            _ => f64::NAN,
        }
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 8] = [
    "",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn name_at(table: &[&'static str], index: f64) -> Option<&'static str> {
    if index >= 0.0 && index.fract() == 0.0 {
        table.get(index as usize).copied()
    } else {
        None
    }
}

fn format_marker(marker: &Marker, date: &JsDate, offset: Offset) -> Result<String, Error> {
    let component = marker.component;
    let value = fragment(date, component);
    if component.is_integer_valued() {
        let mut number = value.number();
        let Some(case) = marker.names else {
            if component == Component::Year && marker.year_digits != -1.0 {
                number %= 10f64.powf(marker.year_digits);
            }
            return match &marker.integer {
                Some(picture) => picture.format(number),
                None => Err(name_error(&marker.specifier)),
            };
        };
        let name = match component {
            Component::Month | Component::IsoMonth => name_at(&MONTHS, number - 1.0),
            Component::DayOfWeek => name_at(&DAYS, number),
            _ => return Err(name_error(&marker.specifier)),
        };
        // An invalid date has no name: jsonata-js writes "undefined" or fails calling a method on it.
        let Some(name) = name else {
            return match (case, marker.width) {
                (LetterCase::Title, None) => Ok("undefined".to_string()),
                _ => Err(out_of_range(js::number_to_string(date.time))),
            };
        };
        let name = match case {
            LetterCase::Upper => name.to_uppercase(),
            LetterCase::Lower => name.to_lowercase(),
            LetterCase::Title => name.to_string(),
        };
        return Ok(match marker.width.and_then(|w| w.max) {
            Some(max) if name.len() as f64 > max => {
                let units: Vec<u16> = name.encode_utf16().collect();
                String::from_utf16_lossy(&js::substring(&units, 0, max.max(0.0) as usize))
            }
            _ => name,
        });
    }
    match component {
        // jsonata-js has no integer picture for `[fN]` and fails with a TypeError.
        Component::Fraction => match &marker.integer {
            Some(picture) => picture.format(value.number()),
            None => Err(name_error(&marker.specifier)),
        },
        Component::Timezone | Component::GmtTimezone => format_timezone(marker, offset),
        Component::AmPm => {
            let text = match value {
                Fragment::Text(text) => text,
                _ => "am",
            };
            Ok(if marker.names == Some(LetterCase::Upper) {
                text.to_uppercase()
            } else {
                text.to_string()
            })
        }
        _ => Ok(match value {
            Fragment::Text(text) => text.to_string(),
            Fragment::Number(n) => js::number_to_string(n),
            Fragment::Undefined => "undefined".to_string(),
        }),
    }
}

/// §9.8.4.6 as jsonata-js does it: a regular picture (`01:01`) formats hours and minutes as one
/// number (`-0500` → `-05:00`); one or two digits give the hours and `:mm` when there are minutes;
/// three or four digits `hhmm`; more is D3134.
fn format_timezone(marker: &Marker, offset: Offset) -> Result<String, Error> {
    let total = offset.hours * 100.0 + offset.minutes;
    let too_wide = || {
        error(
            "D3134",
            "The timezone integer format specifier cannot have more than four digits",
        )
    };
    let Some(picture) = &marker.integer else {
        return Err(too_wide());
    };
    let mut text = match &picture.numbering {
        Numbering::Decimal(DecimalPattern {
            grouping: Grouping::Regular { .. },
            ..
        }) => picture.format(total)?,
        numbering => {
            let digits = match numbering {
                Numbering::Decimal(decimal) => decimal.mandatory_digits,
                _ => f64::NAN,
            };
            if digits == 1.0 || digits == 2.0 {
                let mut text = picture.format(offset.hours)?;
                if offset.minutes != 0.0 {
                    text.push(':');
                    text.push_str(&format_integer(offset.minutes, "00")?);
                }
                text
            } else if digits == 3.0 || digits == 4.0 {
                picture.format(total)?
            } else {
                return Err(too_wide());
            }
        }
    };
    if total >= 0.0 {
        text.insert(0, '+');
    }
    if marker.component == Component::GmtTimezone {
        text.insert_str(0, "GMT");
    }
    if total == 0.0 && marker.presentation2 == Some(u16::from(b't')) {
        text = "Z".to_string();
    }
    Ok(text)
}

const MS_PER_DAY: f64 = 86_400_000.0;

/// The first day of the first week of a month (or year, `month` 0) as ISO 8601 counts weeks, and
/// XPath extends to months: the Monday of the week holding the month's first Thursday.
fn start_of_first_week(year: f64, month: f64) -> f64 {
    let first = date_utc(year, month, 1.0, 0.0, 0.0, 0.0, 0.0);
    let mut weekday = JsDate::new(first).fields().weekday;
    if weekday == 0.0 {
        weekday = 7.0;
    }
    if weekday > 4.0 {
        first + (8.0 - weekday) * MS_PER_DAY
    } else {
        first - (weekday - 1.0) * MS_PER_DAY
    }
}

fn next_month(year: f64, month: f64) -> (f64, f64) {
    if month == 11.0 {
        (year + 1.0, 0.0)
    } else {
        (year, month + 1.0)
    }
}

fn previous_month(year: f64, month: f64) -> (f64, f64) {
    if month == 0.0 {
        (year - 1.0, 11.0)
    } else {
        (year, month - 1.0)
    }
}

fn delta_weeks(start: f64, end: f64) -> f64 {
    (end - start) / (MS_PER_DAY * 7.0) + 1.0
}

fn fragment(date: &JsDate, component: Component) -> Fragment {
    let f = date.fields();
    let today = || date_utc(f.year, f.month0, f.date, 0.0, 0.0, 0.0, 0.0);
    let number = match component {
        Component::Year => f.year,
        Component::Month => f.month0 + 1.0,
        Component::Day => f.date,
        Component::DayOfYear => (today() - date_utc(f.year, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)) / MS_PER_DAY + 1.0,
        Component::DayOfWeek => {
            if f.weekday == 0.0 {
                7.0
            } else {
                f.weekday
            }
        }
        Component::WeekOfYear => {
            let today = today();
            let mut week = delta_weeks(start_of_first_week(f.year, 0.0), today);
            if week > 52.0 {
                if today >= start_of_first_week(f.year + 1.0, 0.0) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                week = delta_weeks(start_of_first_week(f.year - 1.0, 0.0), today);
            }
            week.floor()
        }
        Component::WeekOfMonth => {
            let today = today();
            let mut week = delta_weeks(start_of_first_week(f.year, f.month0), today);
            if week > 4.0 {
                let (year, month) = next_month(f.year, f.month0);
                if today >= start_of_first_week(year, month) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                let (year, month) = previous_month(f.year, f.month0);
                week = delta_weeks(start_of_first_week(year, month), today);
            }
            week.floor()
        }
        // Sat 1 Jan 2005 is in week 53 of 2004: X gives 2004 where Y gives 2005.
        Component::IsoYear => {
            if date.time < start_of_first_week(f.year, 0.0) {
                f.year - 1.0
            } else if date.time >= start_of_first_week(f.year + 1.0, 0.0) {
                f.year + 1.0
            } else {
                f.year
            }
        }
        Component::IsoMonth => {
            let (next_year, next) = next_month(f.year, f.month0);
            if date.time < start_of_first_week(f.year, f.month0) {
                previous_month(f.year, f.month0).1 + 1.0
            } else if date.time >= start_of_first_week(next_year, next) {
                next + 1.0
            } else {
                f.month0 + 1.0
            }
        }
        Component::Hour => f.hours,
        Component::HalfDayHour => {
            let hour = f.hours % 12.0;
            if hour == 0.0 { 12.0 } else { hour }
        }
        Component::AmPm => return Fragment::Text(if f.hours >= 12.0 { "pm" } else { "am" }),
        Component::Minute => f.minutes,
        Component::Second => f.seconds,
        Component::Fraction => f.millis,
        Component::Calendar | Component::Era => return Fragment::Text("ISO"),
        Component::Timezone | Component::GmtTimezone | Component::Unknown => return Fragment::Undefined,
    };
    Fragment::Number(number)
}

// ---------------------------------------------------------------------------------------------
// $toMillis with a picture (jsonata-js's generateRegex + parseDateTime)
// ---------------------------------------------------------------------------------------------

/// What one part of the picture matches. jsonata-js joins per-part regexes into one anchored,
/// case-insensitive regex; each part here yields its possible ends in the order a backtracking
/// engine tries them, which gives the same first match.
#[derive(Debug, Clone)]
enum Pattern {
    Literal(Vec<char>),
    /// `(GMT)?[-+][0-9]+` and, for a regular picture, `<separator>[0-9]+`.
    Timezone {
        gmt: bool,
        separator: Option<char>,
    },
    /// `[0-9]+`, `[0-9]{n}`, then `(?:th|st|nd|rd)` for an ordinal.
    Digits {
        count: DigitCount,
        ordinal: bool,
    },
    /// `[a-zA-Z]+`: letter numbering, month and day names, am/pm.
    Letters,
    /// `[MDCLXVI]+` (case-insensitive).
    Roman,
    /// `(?:<word>|…|and|[\-, ])+`.
    Words,
}

#[derive(Debug, Clone)]
enum DigitCount {
    AtLeastOne,
    Exactly(u64),
    /// `[0-9]{-2}`: not a quantifier in a JavaScript regex, so one digit and then the literal text.
    OneThenLiteral(Vec<char>),
}

/// How a captured part becomes a component's value.
#[derive(Debug, Clone)]
enum Reader {
    Timezone {
        gmt: bool,
        separator: Option<char>,
    },
    /// The digits after the decimal point, to whole milliseconds.
    Fraction,
    Integer(IntegerPicture),
    Names(Vec<(String, f64)>),
}

#[derive(Debug, Clone)]
struct ParsePart {
    pattern: Pattern,
    capture: Option<(Component, Reader)>,
}

impl ParsePart {
    fn new(part: &Part) -> Result<Self, Error> {
        let marker = match part {
            Part::Literal(text) => {
                return Ok(Self {
                    pattern: Pattern::Literal(text.chars().collect()),
                    capture: None,
                });
            }
            Part::Marker(marker) => marker,
        };
        let component = marker.component;
        let (pattern, reader) = match (component, &marker.integer) {
            (Component::Timezone | Component::GmtTimezone, picture) => {
                let separator = match picture {
                    Some(IntegerPicture {
                        numbering:
                            Numbering::Decimal(DecimalPattern {
                                grouping: Grouping::Regular { separator, .. },
                                ..
                            }),
                        ..
                    }) => Some(*separator),
                    _ => None,
                };
                // jsonata-js pastes the separator into its regex unescaped: these make it invalid.
                if let Some(separator @ ('*' | '+' | '(' | ')')) = separator {
                    return Err(out_of_range(format!(
                        "the timezone separator {separator} (jsonata-js builds an invalid regular expression)"
                    )));
                }
                let gmt = component == Component::GmtTimezone;
                (
                    Pattern::Timezone { gmt, separator },
                    Reader::Timezone { gmt, separator },
                )
            }
            (Component::Fraction, _) => (
                Pattern::Digits {
                    count: DigitCount::AtLeastOne,
                    ordinal: false,
                },
                Reader::Fraction,
            ),
            (_, Some(picture)) => {
                let pattern = match &picture.numbering {
                    Numbering::Letters => Pattern::Letters,
                    Numbering::Roman => Pattern::Roman,
                    Numbering::Words => Pattern::Words,
                    Numbering::Decimal(decimal) => Pattern::Digits {
                        count: digit_count(decimal.parse_width),
                        ordinal: picture.ordinal,
                    },
                    Numbering::Sequence(token) => return Err(sequence_error(token)),
                };
                (pattern, Reader::Integer(picture.clone()))
            }
            (_, None) => {
                // Names: jsonata-js keys them by the name cut to the width's maximum.
                let cut = |name: &str| match marker.width.and_then(|w| w.max) {
                    Some(max) if max != 0.0 && !max.is_nan() => name
                        .chars()
                        .take(max.max(0.0).min(name.len() as f64) as usize)
                        .collect(),
                    _ => name.to_string(),
                };
                let lookup: Vec<(String, f64)> = match component {
                    Component::Month | Component::IsoMonth => MONTHS
                        .iter()
                        .enumerate()
                        .map(|(i, name)| (cut(name), (i + 1) as f64))
                        .collect(),
                    Component::DayOfWeek => DAYS
                        .iter()
                        .enumerate()
                        .skip(1)
                        .map(|(i, name)| (cut(name), i as f64))
                        .collect(),
                    Component::AmPm => vec![
                        ("am".to_string(), 0.0),
                        ("AM".to_string(), 0.0),
                        ("pm".to_string(), 1.0),
                        ("PM".to_string(), 1.0),
                    ],
                    _ => return Err(name_error(&marker.specifier)),
                };
                (Pattern::Letters, Reader::Names(lookup))
            }
        };
        Ok(Self {
            pattern,
            capture: Some((component, reader)),
        })
    }
}

/// `[0-9]{parseWidth}` when the width is truthy; jsonata-js writes the number into the regex, so
/// only a plain digit string is a quantifier.
fn digit_count(width: Option<f64>) -> DigitCount {
    match width {
        Some(w) if w != 0.0 && !w.is_nan() => {
            let text = js::number_to_string(w);
            if text.bytes().all(|b| b.is_ascii_digit()) {
                DigitCount::Exactly(text.parse().unwrap_or(u64::MAX))
            } else {
                DigitCount::OneThenLiteral(format!("{{{text}}}").chars().collect())
            }
        }
        _ => DigitCount::AtLeastOne,
    }
}

impl Reader {
    /// None where jsonata-js's parse gives undefined (a name it does not know).
    fn read(&self, text: &str) -> Result<Option<f64>, Error> {
        Ok(match self {
            Reader::Timezone { gmt, separator } => {
                let units: Vec<u16> = text.encode_utf16().collect();
                let units = if *gmt {
                    units.get(3..).unwrap_or(&[])
                } else {
                    &units[..]
                };
                let int = |range: &[u16]| js::parse_int(&String::from_utf16_lossy(range));
                let (hours, minutes) = match separator {
                    Some(separator) => {
                        let mut buffer = [0u16; 2];
                        let separator = separator.encode_utf16(&mut buffer);
                        match units.windows(separator.len()).position(|w| w == separator) {
                            // jsonata-js skips one code unit past the separator.
                            Some(at) => (int(&units[..at]), int(units.get(at + 1..).unwrap_or(&[]))),
                            None => (f64::NAN, int(units)),
                        }
                    }
                    None if units.len() <= 3 => (int(units), 0.0),
                    None => (int(units.get(..3).unwrap_or(&[])), int(units.get(3..).unwrap_or(&[]))),
                };
                Some(hours * 60.0 + minutes)
            }
            Reader::Fraction => {
                let digits: String = text.chars().take(3).collect();
                Some(format!("0.{digits}").parse::<f64>().unwrap_or(f64::NAN) * 1000.0)
            }
            Reader::Integer(picture) => Some(picture.read(text)?),
            Reader::Names(lookup) => lookup
                .iter()
                .rev()
                .find(|(name, _)| name == text)
                .map(|&(_, value)| value),
        })
    }
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// The length of the run of `pred` characters at `start`.
fn run(text: &[char], start: usize, pred: impl Fn(char) -> bool) -> usize {
    text.get(start..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| pred(c)).count())
}

/// `X+` greedy: the longest first.
fn greedy(text: &[char], start: usize, pred: impl Fn(char) -> bool) -> Vec<usize> {
    let n = run(text, start, pred);
    (start + 1..=start + n).rev().collect()
}

/// Where `literal` ends if it matches (case-insensitively) at `at`.
fn literal_at(text: &[char], at: usize, literal: &[char]) -> Option<usize> {
    let candidate = text.get(at..at + literal.len())?;
    candidate
        .iter()
        .zip(literal)
        .all(|(&a, &b)| js::canonicalize(a) == js::canonicalize(b))
        .then_some(at + literal.len())
}

fn dedup(ends: Vec<usize>) -> Vec<usize> {
    let mut seen = HashSet::new();
    ends.into_iter().filter(|e| seen.insert(*e)).collect()
}

impl Pattern {
    /// Every end of a match starting at `start`, in the order a backtracking engine tries them
    /// (only the first occurrence of each: what follows depends on the position alone).
    fn ends(&self, text: &[char], start: usize) -> Vec<usize> {
        match self {
            Pattern::Literal(literal) => literal_at(text, start, literal).into_iter().collect(),
            Pattern::Digits { count, ordinal } => {
                let digits = match count {
                    DigitCount::AtLeastOne => greedy(text, start, is_digit),
                    DigitCount::Exactly(n) => {
                        if run(text, start, is_digit) as u64 >= *n {
                            vec![start + *n as usize]
                        } else {
                            vec![]
                        }
                    }
                    DigitCount::OneThenLiteral(literal) => {
                        if run(text, start, is_digit) >= 1 {
                            literal_at(text, start + 1, literal).into_iter().collect()
                        } else {
                            vec![]
                        }
                    }
                };
                if !ordinal {
                    return digits;
                }
                let suffixes = [['t', 'h'], ['s', 't'], ['n', 'd'], ['r', 'd']];
                digits
                    .into_iter()
                    .filter_map(|end| suffixes.iter().find_map(|s| literal_at(text, end, s)))
                    .collect()
            }
            Pattern::Timezone { gmt, separator } => {
                let mut at = start;
                if *gmt {
                    match literal_at(text, at, &['G', 'M', 'T']) {
                        Some(end) => at = end,
                        None => return vec![],
                    }
                }
                if !matches!(text.get(at), Some('+' | '-')) {
                    return vec![];
                }
                let mut ends = Vec::new();
                for hours_end in greedy(text, at + 1, is_digit) {
                    match separator {
                        None => ends.push(hours_end),
                        Some(separator) => {
                            let matches = text.get(hours_end).is_some_and(|&c| match separator {
                                // The separator is pasted into the regex as is: `.` is any character
                                // but a line terminator (and not half of a surrogate pair), `^` and
                                // `$` are anchors that cannot hold there.
                                '.' => !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') && (c as u32) < 0x10000,
                                '^' | '$' => false,
                                _ => js::canonicalize(c) == js::canonicalize(*separator),
                            });
                            if matches {
                                ends.extend(greedy(text, hours_end + 1, is_digit));
                            }
                        }
                    }
                }
                dedup(ends)
            }
            Pattern::Letters => greedy(text, start, |c| c.is_ascii_alphabetic()),
            Pattern::Roman => greedy(text, start, |c| "MDCLXVImdclxvi".contains(c)),
            Pattern::Words => word_ends(text, start),
        }
    }
}

/// `(?:alternative|…)+`: each iteration tries the alternatives in order and repeats greedily
/// before giving up, so the ends come depth first, deepest first. An explicit stack (no recursion
/// on user input) and each position expanded once.
fn word_ends(text: &[char], start: usize) -> Vec<usize> {
    static ALTERNATIVES: OnceLock<Vec<Vec<char>>> = OnceLock::new();
    let alternatives = ALTERNATIVES.get_or_init(|| {
        let mut all: Vec<Vec<char>> = word_values().iter().map(|(w, _)| w.chars().collect()).collect();
        all.push("and".chars().collect());
        all
    });
    let step = |at: usize| -> Vec<usize> {
        let mut ends: Vec<usize> = alternatives
            .iter()
            .filter_map(|alt| literal_at(text, at, alt))
            .collect();
        if matches!(text.get(at), Some('-' | ',' | ' ')) {
            ends.push(at + 1);
        }
        ends
    };
    let mut out = Vec::new();
    let mut expanded = HashSet::new();
    // (position, the ends of one more iteration from it, how many of those were tried, is it an
    // iteration's end rather than the start)
    let mut stack: Vec<(usize, Vec<usize>, usize, bool)> = vec![(start, step(start), 0, false)];
    while let Some((position, nexts, tried, is_end)) = stack.last_mut() {
        if let Some(&next) = nexts.get(*tried) {
            *tried += 1;
            if expanded.insert(next) {
                stack.push((next, step(next), 0, true));
            }
        } else {
            if *is_end {
                out.push(*position);
            }
            stack.pop();
        }
    }
    out
}

/// The first match of the parts one after another over the whole text (`^(…)(…)…$`): the
/// boundaries between the parts.
fn match_parts(parts: &[ParsePart], text: &[char]) -> Option<Vec<usize>> {
    let Some(first) = parts.first() else {
        return text.is_empty().then(|| vec![0]);
    };
    // (part index, position) pairs known to lead nowhere.
    let mut failed: HashSet<(usize, usize)> = HashSet::new();
    // (where the part starts, its candidate ends, how many were tried)
    let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(0, first.pattern.ends(text, 0), 0)];
    while !stack.is_empty() {
        let depth = stack.len() - 1;
        let Some((start, ends, tried)) = stack.last_mut() else {
            break;
        };
        let Some(&end) = ends.get(*tried) else {
            failed.insert((depth, *start));
            stack.pop();
            continue;
        };
        *tried += 1;
        match parts.get(depth + 1) {
            None => {
                if end == text.len() {
                    let mut bounds: Vec<usize> = stack.iter().map(|(s, _, _)| *s).collect();
                    bounds.push(end);
                    return Some(bounds);
                }
            }
            Some(next) => {
                if !failed.contains(&(depth + 1, end)) {
                    let ends = next.pattern.ends(text, end);
                    stack.push((end, ends, 0));
                }
            }
        }
    }
    None
}

/// jsonata-js's `parseDateTime`: match, read the components, fill the gaps (leading ones from now,
/// trailing ones with their minimum), and refuse a gap in the middle (D3136).
fn parse_date_time(timestamp: &str, picture: &str, now: f64) -> Result<Option<f64>, Error> {
    use Component as C;
    let parts = parse_picture(picture)?;
    let parts: Vec<ParsePart> = parts.iter().map(ParsePart::new).collect::<Result<_, _>>()?;
    let text: Vec<char> = timestamp.chars().collect();
    let Some(bounds) = match_parts(&parts, &text) else {
        return Ok(None);
    };
    let mut values: [Option<f64>; Component::COUNT] = [None; Component::COUNT];
    let mut any = false;
    for (i, part) in parts.iter().enumerate() {
        if let Some((component, reader)) = &part.capture {
            let (from, to) = (
                bounds.get(i).copied().unwrap_or(0),
                bounds.get(i + 1).copied().unwrap_or(0),
            );
            let captured: String = text.get(from..to).unwrap_or(&[]).iter().collect();
            values[*component as usize] = reader.read(&captured)?;
            any = true;
        }
    }
    if !any {
        return Ok(None);
    }
    let get = |values: &[Option<f64>; Component::COUNT], c: Component| values[c as usize];
    // JavaScript truthiness: a component read as 0 counts as absent when choosing the date form.
    let truthy = |v: Option<f64>| v.is_some_and(|v| v != 0.0 && !v.is_nan());
    let mask = |components: &[Component]| {
        components
            .iter()
            .fold(0u32, |mask, &c| mask << 1 | u32::from(truthy(get(&values, c))))
    };
    // Uses no component outside `form`, and at least one inside.
    let is_form = |form: u32, mask: u32| (!form & mask) == 0 && (form & mask) != 0;
    let date_mask = mask(&[
        C::Year,
        C::IsoYear,
        C::Month,
        C::IsoMonth,
        C::WeekOfYear,
        C::WeekOfMonth,
        C::DayOfYear,
        C::Day,
    ]);
    let ymd = is_form(0b1010_0001, date_mask);
    let year_day = !ymd && is_form(0b1000_0010, date_mask);
    let month_week = is_form(0b0101_0100, date_mask);
    let iso_week = !month_week && is_form(0b0100_1000, date_mask);
    let time_mask = mask(&[C::AmPm, C::Hour, C::HalfDayHour, C::Minute, C::Second, C::Fraction]);
    let hms = is_form(0b01_0111, time_mask);
    let half_day = !hms && is_form(0b10_1111, time_mask);

    // jsonata-js lists "YD" (not "Yd") for a day-of-year date: kept, with its consequences.
    let date_components: &[Component] = if year_day {
        &[C::Year, C::Day]
    } else if month_week {
        &[C::IsoYear, C::IsoMonth, C::WeekOfMonth, C::DayOfWeek]
    } else if iso_week {
        &[C::IsoYear, C::WeekOfYear, C::DayOfWeek]
    } else {
        &[C::Year, C::Month, C::Day]
    };
    let time_components: &[Component] = if half_day {
        &[C::AmPm, C::HalfDayHour, C::Minute, C::Second, C::Fraction]
    } else {
        &[C::Hour, C::Minute, C::Second, C::Fraction]
    };
    let now = JsDate::new(now);
    let mut started = false;
    let mut ended = false;
    for &component in date_components.iter().chain(time_components) {
        if get(&values, component).is_none() {
            values[component as usize] = Some(if started {
                ended = true;
                if matches!(component, C::Month | C::Day | C::DayOfYear) {
                    1.0
                } else {
                    0.0
                }
            } else {
                // "am"/"pm" from now is a string in jsonata-js, never equal to 1: NaN does the same.
                fragment(&now, component).number()
            });
        } else {
            started = true;
            if ended {
                return Err(error(
                    "D3136",
                    "The date/time picture string is missing specifiers required to parse the timestamp",
                ));
            }
        }
    }
    let value = |c: Component| get(&values, c).unwrap_or(f64::NAN);
    let mut month = match get(&values, C::Month) {
        Some(m) if m > 0.0 => m - 1.0,
        _ => 0.0,
    };
    let mut day = value(C::Day);
    if year_day {
        let first_jan = date_utc(value(C::Year), 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
        let derived = JsDate::new(first_jan + (value(C::DayOfYear) - 1.0) * MS_PER_DAY).fields();
        month = derived.month0;
        day = derived.date;
    }
    if month_week || iso_week {
        return Err(error(
            "D3136",
            "The date/time picture string is missing specifiers required to parse the timestamp",
        ));
    }
    let mut hour = value(C::Hour);
    if half_day {
        let half = value(C::HalfDayHour);
        hour = if half == 12.0 { 0.0 } else { half };
        if get(&values, C::AmPm) == Some(1.0) {
            hour += 12.0;
        }
    }
    let mut millis = date_utc(
        value(C::Year),
        month,
        day,
        hour,
        value(C::Minute),
        value(C::Second),
        value(C::Fraction),
    );
    let zone = if truthy(get(&values, C::Timezone)) {
        get(&values, C::Timezone)
    } else {
        get(&values, C::GmtTimezone)
    };
    if truthy(zone) {
        millis -= zone.unwrap_or(0.0) * 60.0 * 1000.0;
    }
    Ok(Some(millis))
}

// ---------------------------------------------------------------------------------------------
// JavaScript's Date arithmetic (UTC only)
// ---------------------------------------------------------------------------------------------

/// A JavaScript Date: milliseconds since the epoch, integral, within ±8.64e15, or NaN (invalid).
#[derive(Debug, Clone, Copy)]
struct JsDate {
    time: f64,
}

/// The UTC fields of a date, NaN for an invalid one (as `getUTC…` return).
#[derive(Debug, Clone, Copy)]
struct Fields {
    year: f64,
    month0: f64,
    date: f64,
    /// 0 = Sunday.
    weekday: f64,
    hours: f64,
    minutes: f64,
    seconds: f64,
    millis: f64,
}

impl JsDate {
    fn new(time: f64) -> Self {
        Self { time: time_clip(time) }
    }

    fn fields(&self) -> Fields {
        let t = self.time;
        if t.is_nan() {
            let nan = f64::NAN;
            return Fields {
                year: nan,
                month0: nan,
                date: nan,
                weekday: nan,
                hours: nan,
                minutes: nan,
                seconds: nan,
                millis: nan,
            };
        }
        let day = (t / MS_PER_DAY).floor();
        let in_day = t - day * MS_PER_DAY;
        let (year, month, date) = civil_from_days(day as i64);
        Fields {
            year: year as f64,
            month0: (month - 1) as f64,
            date: date as f64,
            weekday: (day as i64 + 4).rem_euclid(7) as f64,
            hours: (in_day / 3_600_000.0).floor(),
            minutes: (in_day / 60_000.0).floor() % 60.0,
            seconds: (in_day / 1000.0).floor() % 60.0,
            millis: in_day % 1000.0,
        }
    }
}

fn time_clip(t: f64) -> f64 {
    if !t.is_finite() || t.abs() > 8.64e15 {
        f64::NAN
    } else {
        t.trunc() + 0.0
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1–12).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse: (year, month 1–12, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

/// ECMAScript MakeDay, with V8's year and month bounds.
fn make_day(year: f64, month: f64, date: f64) -> f64 {
    if !(year.abs() <= 1_000_000.0 && month.abs() <= 10_000_000.0 && date.is_finite()) {
        return f64::NAN;
    }
    let month = month.trunc() as i64;
    let year = year.trunc() as i64 + month.div_euclid(12);
    days_from_civil(year, month.rem_euclid(12) + 1, 1) as f64 + date.trunc() - 1.0
}

fn make_time(hours: f64, minutes: f64, seconds: f64, millis: f64) -> f64 {
    if [hours, minutes, seconds, millis].iter().all(|v| v.is_finite()) {
        hours.trunc() * 3_600_000.0 + minutes.trunc() * 60_000.0 + seconds.trunc() * 1000.0 + millis.trunc()
    } else {
        f64::NAN
    }
}

fn make_date(day: f64, time: f64) -> f64 {
    let date = day * MS_PER_DAY + time;
    if date.is_finite() { date } else { f64::NAN }
}

/// `Date.UTC(year, month, …)`: years 0–99 are 1900–1999.
fn date_utc(year: f64, month: f64, date: f64, hours: f64, minutes: f64, seconds: f64, millis: f64) -> f64 {
    let mut year = year;
    if !year.is_nan() && (0.0..=99.0).contains(&year.trunc()) {
        year = 1900.0 + year.trunc();
    }
    time_clip(make_date(
        make_day(year, month, date),
        make_time(hours, minutes, seconds, millis),
    ))
}

// ---------------------------------------------------------------------------------------------
// $toMillis without a picture: jsonata-js's ISO 8601 test, then V8's Date.parse
// ---------------------------------------------------------------------------------------------

mod iso8601 {
    /// `^\d{4}(-[01]\d)?(-[0-3]\d)?(T[0-2]\d:[0-5]\d:[0-5]\d)?(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$`,
    /// each optional group tried taken, then skipped, as a backtracking engine does.
    pub(super) fn matches(timestamp: &str) -> bool {
        let b = timestamp.as_bytes();
        b.len() >= 4 && b.iter().take(4).all(u8::is_ascii_digit) && from_group(b, 4, 0)
    }

    fn from_group(b: &[u8], at: usize, group: usize) -> bool {
        let within = |i: usize, lo: u8, hi: u8| b.get(i).is_some_and(|c| (lo..=hi).contains(c));
        let digit = |i: usize| within(i, b'0', b'9');
        let is = |i: usize, c: u8| b.get(i) == Some(&c);
        let taken = match group {
            0 => is(at, b'-') && within(at + 1, b'0', b'1') && digit(at + 2) && from_group(b, at + 3, 1),
            1 => is(at, b'-') && within(at + 1, b'0', b'3') && digit(at + 2) && from_group(b, at + 3, 2),
            2 => {
                is(at, b'T')
                    && within(at + 1, b'0', b'2')
                    && digit(at + 2)
                    && is(at + 3, b':')
                    && within(at + 4, b'0', b'5')
                    && digit(at + 5)
                    && is(at + 6, b':')
                    && within(at + 7, b'0', b'5')
                    && digit(at + 8)
                    && from_group(b, at + 9, 3)
            }
            // Greedy: fewer digits would leave a digit that neither the zone nor the end accepts.
            3 => {
                let digits = b
                    .get(at + 1..)
                    .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
                is(at, b'.') && digits > 0 && from_group(b, at + 1 + digits, 4)
            }
            4 => {
                (is(at, b'Z') && from_group(b, at + 1, 5))
                    || ((is(at, b'+') || is(at, b'-'))
                        && within(at + 1, b'0', b'2')
                        && digit(at + 2)
                        && ((is(at + 3, b':')
                            && within(at + 4, b'0', b'5')
                            && digit(at + 5)
                            && from_group(b, at + 6, 5))
                            || (within(at + 3, b'0', b'5') && digit(at + 4) && from_group(b, at + 5, 5))))
            }
            _ => return at == b.len(),
        };
        taken || from_group(b, at, group + 1)
    }
}

/// V8's `Date.parse` (src/date/dateparser-inl.h) for what passes jsonata-js's ISO test: the ES5
/// date-time format, and V8's legacy parser where it hands over (`2018.5` is May 2018, `2018-13` is
/// NaN). The machine's zone is taken to be UTC.
mod v8_date {
    use super::{make_date, make_day, make_time, time_clip};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Token {
        /// The value of the first nine significant digits, and the length with leading zeros.
        Number {
            value: i64,
            length: usize,
        },
        Symbol(u8),
        /// `T`
        TimeSeparator,
        /// `Z`
        Utc,
        /// Any other word (not reachable past jsonata-js's test).
        Word,
        End,
    }

    fn tokenize(b: &[u8]) -> Vec<Token> {
        let mut tokens = Vec::new();
        let mut at = 0;
        while let Some(&c) = b.get(at) {
            let start = at;
            if c.is_ascii_digit() {
                while b.get(at) == Some(&b'0') {
                    at += 1;
                }
                let mut value = 0i64;
                let mut significant = 0;
                while let Some(d) = b.get(at).filter(|d| d.is_ascii_digit()) {
                    if significant < 9 {
                        value = value * 10 + i64::from(d - b'0');
                    }
                    significant += 1;
                    at += 1;
                }
                tokens.push(Token::Number {
                    value,
                    length: at - start,
                });
            } else if c.is_ascii_alphabetic() {
                while b.get(at).is_some_and(u8::is_ascii_alphabetic) {
                    at += 1;
                }
                tokens.push(match &b[start..at] {
                    b"T" | b"t" => Token::TimeSeparator,
                    b"Z" | b"z" => Token::Utc,
                    _ => Token::Word,
                });
            } else {
                tokens.push(Token::Symbol(c));
                at += 1;
            }
        }
        tokens
    }

    struct Scanner {
        tokens: Vec<Token>,
        at: usize,
    }

    impl Scanner {
        fn peek(&self) -> Token {
            self.tokens.get(self.at).copied().unwrap_or(Token::End)
        }
        fn next(&mut self) -> Token {
            let token = self.peek();
            self.at += 1;
            token
        }
        fn skip_symbol(&mut self, symbol: u8) -> bool {
            let found = self.peek() == Token::Symbol(symbol);
            if found {
                self.at += 1;
            }
            found
        }
        fn peek_fixed(&self, length: usize) -> Option<i64> {
            match self.peek() {
                Token::Number { value, length: l } if l == length => Some(value),
                _ => None,
            }
        }
    }

    fn is_month(n: i64) -> bool {
        (1..=12).contains(&n)
    }
    fn is_day(n: i64) -> bool {
        (1..=31).contains(&n)
    }
    fn is_hour(n: i64) -> bool {
        (0..=23).contains(&n)
    }
    fn is_minute(n: i64) -> bool {
        (0..=59).contains(&n)
    }

    #[derive(Default)]
    struct Day {
        comp: [i64; 3],
        index: usize,
        iso: bool,
    }

    impl Day {
        fn add(&mut self, n: i64) -> bool {
            let Some(slot) = self.comp.get_mut(self.index) else {
                return false;
            };
            *slot = n;
            self.index += 1;
            true
        }
        /// (year, month 0–11, day)
        fn write(&mut self) -> Option<(i64, i64, i64)> {
            if self.index < 1 {
                return None;
            }
            for slot in self.comp.iter_mut().skip(self.index) {
                *slot = 1;
            }
            let [a, b, c] = self.comp;
            let (mut year, month, day) = if self.iso || !is_day(a) { (a, b, c) } else { (c, a, b) };
            if !self.iso {
                if (0..=49).contains(&year) {
                    year += 2000;
                } else if (50..=99).contains(&year) {
                    year += 1900;
                }
            }
            (is_month(month) && is_day(day)).then_some((year, month - 1, day))
        }
    }

    #[derive(Default)]
    struct Time {
        comp: [i64; 4],
        index: usize,
    }

    impl Time {
        fn add(&mut self, n: i64) -> bool {
            let Some(slot) = self.comp.get_mut(self.index) else {
                return false;
            };
            *slot = n;
            self.index += 1;
            true
        }
        fn add_final(&mut self, n: i64) -> bool {
            if !self.add(n) {
                return false;
            }
            self.index = self.comp.len();
            true
        }
        fn is_empty(&self) -> bool {
            self.index == 0
        }
        fn is_expecting(&self, n: i64) -> bool {
            // minutes, seconds (the same range), milliseconds
            (self.index == 1 && is_minute(n))
                || (self.index == 2 && is_minute(n))
                || (self.index == 3 && (0..=999).contains(&n))
        }
        fn write(&self) -> Option<[i64; 4]> {
            let mut comp = self.comp;
            for slot in comp.iter_mut().skip(self.index) {
                *slot = 0;
            }
            let [hour, minute, second, milli] = comp;
            let valid = is_hour(hour) && is_minute(minute) && is_minute(second) && (0..=999).contains(&milli);
            (valid || (hour == 24 && minute == 0 && second == 0 && milli == 0)).then_some(comp)
        }
    }

    #[derive(Default)]
    struct Zone {
        sign: Option<i64>,
        hour: Option<i64>,
        minute: Option<i64>,
    }

    impl Zone {
        fn set_utc(&mut self) {
            self.sign = Some(1);
            self.hour = Some(0);
            self.minute = Some(0);
        }
        fn is_utc(&self) -> bool {
            self.hour == Some(0) && self.minute == Some(0)
        }
        fn is_expecting(&self, n: i64) -> bool {
            self.hour.is_some() && self.minute.is_none() && is_minute(n)
        }
        /// The offset in seconds; None for local time.
        fn write(&self) -> Option<i64> {
            let sign = self.sign?;
            Some(sign * (self.hour.unwrap_or(0) * 3600 + self.minute.unwrap_or(0) * 60))
        }
    }

    fn read_milliseconds(token: Token) -> i64 {
        let Token::Number { value, length } = token else {
            return 0;
        };
        match length {
            1 => value * 100,
            2 => value * 10,
            3 => value,
            _ => value / 10i64.pow(length.min(9) as u32 - 3),
        }
    }

    enum Es5 {
        Invalid,
        Done,
        /// Not the ES5 format from this token on: the legacy parser continues.
        Legacy(Token),
    }

    fn parse_es5(scanner: &mut Scanner, day: &mut Day, time: &mut Time, zone: &mut Zone) -> Es5 {
        match scanner.peek_fixed(4) {
            Some(year) => {
                day.add(year);
                scanner.next();
            }
            None => return Es5::Legacy(scanner.next()),
        }
        if scanner.skip_symbol(b'-') {
            match scanner.peek_fixed(2).filter(|&m| is_month(m)) {
                Some(month) => {
                    day.add(month);
                    scanner.next();
                }
                None => return Es5::Legacy(scanner.next()),
            }
            if scanner.skip_symbol(b'-') {
                match scanner.peek_fixed(2).filter(|&d| is_day(d)) {
                    Some(d) => {
                        day.add(d);
                        scanner.next();
                    }
                    None => return Es5::Legacy(scanner.next()),
                }
            }
        }
        if scanner.peek() != Token::TimeSeparator {
            if scanner.peek() != Token::End {
                return Es5::Legacy(scanner.next());
            }
        } else {
            scanner.next();
            let Some(hour) = scanner.peek_fixed(2).filter(|h| (0..=24).contains(h)) else {
                return Es5::Invalid;
            };
            let is_24 = hour == 24;
            time.add(hour);
            scanner.next();
            if !scanner.skip_symbol(b':') {
                return Es5::Invalid;
            }
            let Some(minute) = scanner.peek_fixed(2).filter(|&m| is_minute(m) && !(is_24 && m > 0)) else {
                return Es5::Invalid;
            };
            time.add(minute);
            scanner.next();
            if scanner.skip_symbol(b':') {
                let Some(second) = scanner.peek_fixed(2).filter(|&s| is_minute(s) && !(is_24 && s > 0)) else {
                    return Es5::Invalid;
                };
                time.add(second);
                scanner.next();
                if scanner.skip_symbol(b'.') {
                    match scanner.peek() {
                        Token::Number { value, .. } if !(is_24 && value > 0) => {
                            time.add(read_milliseconds(scanner.next()));
                        }
                        _ => return Es5::Invalid,
                    }
                }
            }
            match scanner.peek() {
                Token::Utc => {
                    scanner.next();
                    zone.set_utc();
                }
                Token::Symbol(sign @ (b'+' | b'-')) => {
                    scanner.next();
                    zone.sign = Some(if sign == b'+' { 1 } else { -1 });
                    if let Some(hhmm) = scanner.peek_fixed(4) {
                        let (hour, minute) = (hhmm / 100, hhmm % 100);
                        if !is_hour(hour) || !is_minute(minute) {
                            return Es5::Invalid;
                        }
                        zone.hour = Some(hour);
                        zone.minute = Some(minute);
                        scanner.next();
                    } else {
                        let Some(hour) = scanner.peek_fixed(2).filter(|&h| is_hour(h)) else {
                            return Es5::Invalid;
                        };
                        zone.hour = Some(hour);
                        scanner.next();
                        if !scanner.skip_symbol(b':') {
                            return Es5::Invalid;
                        }
                        let Some(minute) = scanner.peek_fixed(2).filter(|&m| is_minute(m)) else {
                            return Es5::Invalid;
                        };
                        zone.minute = Some(minute);
                        scanner.next();
                    }
                }
                _ => {}
            }
            if scanner.peek() != Token::End {
                return Es5::Invalid;
            }
        }
        // A date alone is UTC, a date and time without an offset local time.
        if zone.hour.is_none() && time.is_empty() {
            zone.set_utc();
        }
        day.iso = true;
        Es5::Done
    }

    fn parse_legacy(first: Token, scanner: &mut Scanner, day: &mut Day, time: &mut Time, zone: &mut Zone) -> bool {
        let mut has_read_number = day.index > 0;
        let mut token = first;
        loop {
            match token {
                Token::End => return true,
                Token::Number { value: n, .. } => {
                    has_read_number = true;
                    if scanner.skip_symbol(b':') {
                        if scanner.skip_symbol(b':') {
                            if !time.is_empty() {
                                return false;
                            }
                            time.add(n);
                            time.add(0);
                        } else {
                            if !time.add(n) {
                                return false;
                            }
                            if scanner.peek() == Token::Symbol(b'.') {
                                scanner.next();
                            }
                        }
                    } else if scanner.skip_symbol(b'.') && time.is_expecting(n) {
                        time.add(n);
                        if !matches!(scanner.peek(), Token::Number { .. }) {
                            return false;
                        }
                        let ms = read_milliseconds(scanner.next());
                        time.add_final(ms);
                    } else if zone.is_expecting(n) {
                        zone.minute = Some(n);
                    } else if time.is_expecting(n) {
                        time.add_final(n);
                        if !matches!(scanner.peek(), Token::End | Token::Utc | Token::Symbol(b'+' | b'-')) {
                            return false;
                        }
                    } else {
                        if !day.add(n) {
                            return false;
                        }
                        scanner.skip_symbol(b'-');
                    }
                }
                Token::Utc if has_read_number => zone.set_utc(),
                Token::Utc | Token::TimeSeparator | Token::Word => {
                    // Words are garbage, illegal after a number.
                    if has_read_number || matches!(scanner.peek(), Token::Number { .. }) {
                        return false;
                    }
                }
                Token::Symbol(sign @ (b'+' | b'-')) if zone.is_utc() || !time.is_empty() => {
                    zone.sign = Some(if sign == b'+' { 1 } else { -1 });
                    let (mut n, mut length) = (0, 0);
                    if let Token::Number { value, length: l } = scanner.peek() {
                        scanner.next();
                        (n, length) = (value, l);
                    }
                    has_read_number = true;
                    if scanner.peek() == Token::Symbol(b':') {
                        zone.hour = Some(n);
                        zone.minute = None;
                    } else if length == 1 || length == 2 {
                        zone.hour = Some(n);
                        zone.minute = Some(0);
                    } else if length == 3 || length == 4 {
                        zone.hour = Some(n / 100);
                        zone.minute = Some(n % 100);
                    } else {
                        return false;
                    }
                }
                Token::Symbol(b'+' | b'-' | b')') if has_read_number => return false,
                Token::Symbol(_) => {}
            }
            token = scanner.next();
        }
    }

    /// `Date.parse(timestamp)`: milliseconds since the epoch, or NaN.
    pub(super) fn parse(timestamp: &str) -> f64 {
        let mut scanner = Scanner {
            tokens: tokenize(timestamp.as_bytes()),
            at: 0,
        };
        let (mut day, mut time, mut zone) = (Day::default(), Time::default(), Zone::default());
        match parse_es5(&mut scanner, &mut day, &mut time, &mut zone) {
            Es5::Invalid => return f64::NAN,
            Es5::Done => {}
            Es5::Legacy(token) => {
                if !parse_legacy(token, &mut scanner, &mut day, &mut time, &mut zone) {
                    return f64::NAN;
                }
            }
        }
        let (Some((year, month, date)), Some([hour, minute, second, milli])) = (day.write(), time.write()) else {
            return f64::NAN;
        };
        let day_number = make_day(year as f64, month as f64, date as f64);
        let mut millis = make_date(
            day_number,
            make_time(hour as f64, minute as f64, second as f64, milli as f64),
        );
        if let Some(offset) = zone.write() {
            millis -= offset as f64 * 1000.0;
        }
        time_clip(millis)
    }
}

// ---------------------------------------------------------------------------------------------
// JavaScript primitives
// ---------------------------------------------------------------------------------------------

mod js {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01T00:00:00Z, a fixed "now" for pictures that leave the date out.
    const NOW: f64 = 1_704_067_200_000.0;

    fn code<T: std::fmt::Debug>(result: Result<T, Error>) -> &'static str {
        match result {
            Err(e) => e.code,
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    fn fmt(millis: f64, picture: &str) -> String {
        from_millis(millis, Some(picture), None).unwrap_or_else(|e| panic!("{picture}: {e}"))
    }

    fn millis(timestamp: &str, picture: &str) -> Option<f64> {
        to_millis_at(timestamp, Some(picture), NOW).unwrap_or_else(|e| panic!("{timestamp} {picture}: {e}"))
    }

    fn iso(millis: f64) -> String {
        from_millis(millis, None, None).unwrap_or_else(|e| panic!("{millis}: {e}"))
    }

    // function-formatInteger/formatInteger.json
    #[test]
    fn format_integer_decimal() {
        for (value, picture, expected) in [
            (123.0, "000", "123"),
            (123.0, "0000", "0123"),
            (-3.0, "0000", "-0003"),
            (1234.0, "0;c", "1234"),
            (1234.0, "###0", "1234"),
            (12.0, "###0", "12"),
            (12.6, "###0", "12"),
            (123.0, "000;o", "123rd"),
            (1.0, "0;o", "1st"),
            (28.0, "#0;o", "28th"),
            (1234.0, "###0;o", "1234th"),
            (12.0, "###0;o", "12th"),
            (12340.0, "###١", "١٢٣٤٠"),
            (12340.0, "###０", "１２３４０"),
            (12.0, "#,##0", "12"),
            (1200.0, "#,##0", "1,200"),
            (120000.0, "#,##0", "120,000"),
            (12345678.0, "#,##0", "12,345,678"),
            (1234567890.0, "#,##0", "1,234,567,890"),
            (1234567890.0, "#,###,##0", "1,234,567,890"),
            (1234567890.0, "#:###,##0", "1234:567,890"),
            (1234567890.0, "##,##,##0", "12345,67,890"),
        ] {
            assert_eq!(
                format_integer(value, picture).as_deref(),
                Ok(expected),
                "{value} {picture}"
            );
        }
        assert_eq!(code(format_integer(12340.0, "##0０")), "D3131");
    }

    // function-formatInteger/formatInteger.json
    #[test]
    fn format_integer_roman_letters_sequences() {
        for (value, picture, expected) in [
            (0.0, "I", ""),
            (1984.0, "I", "MCMLXXXIV"),
            (99.0, "i", "xcix"),
            (1.0, "A", "A"),
            (12.0, "a", "l"),
            (26.0, "a", "z"),
            (27.0, "a", "aa"),
            (300.0, "A", "KN"),
            (123456.0, "A", "FZPH"),
        ] {
            assert_eq!(
                format_integer(value, picture).as_deref(),
                Ok(expected),
                "{value} {picture}"
            );
        }
        assert_eq!(code(format_integer(123456.0, "α")), "D3130");
    }

    // function-formatInteger/formatInteger.json
    #[test]
    fn format_integer_words() {
        for (value, picture, expected) in [
            (12.0, "w", "twelve"),
            (20.0, "w", "twenty"),
            (34.0, "w", "thirty-four"),
            (99.0, "W", "NINETY-NINE"),
            (100.0, "w", "one hundred"),
            (555.0, "W", "FIVE HUNDRED AND FIFTY-FIVE"),
            (555.0, "Ww", "Five Hundred and Fifty-Five"),
            (919.0, "w", "nine hundred and nineteen"),
            (730.0, "w", "seven hundred and thirty"),
            (1000.0, "w", "one thousand"),
            (3730.0, "w", "three thousand, seven hundred and thirty"),
            (
                327730.0,
                "w",
                "three hundred and twenty-seven thousand, seven hundred and thirty",
            ),
            (
                4327730.0,
                "w",
                "four million, three hundred and twenty-seven thousand, seven hundred and thirty",
            ),
            (1000000000001.0, "w", "one trillion and one"),
            (
                1234567890123.0,
                "w",
                "one trillion, two hundred and thirty-four billion, five hundred and sixty-seven million, eight hundred and ninety thousand, one hundred and twenty-three",
            ),
            (1000000000000000.0, "w", "one thousand trillion"),
            (1e46, "w", "ten billion trillion trillion trillion"),
            (
                1234567890123456.0,
                "w",
                "one thousand, two hundred and thirty-four trillion, five hundred and sixty-seven billion, eight hundred and ninety million, one hundred and twenty-three thousand, four hundred and fifty-six",
            ),
            (12.0, "w;o", "twelfth"),
            (20.0, "w;o", "twentieth"),
            (34.0, "w;o", "thirty-fourth"),
            (99.0, "W;o", "NINETY-NINTH"),
            (100.0, "w;o", "one hundredth"),
            (555.0, "W;o", "FIVE HUNDRED AND FIFTY-FIFTH"),
            (919.0, "w;o", "nine hundred and nineteenth"),
            (730.0, "w;o", "seven hundred and thirtieth"),
            (1000.0, "w;o", "one thousandth"),
            (3731.0, "w;o", "three thousand, seven hundred and thirty-first"),
            (
                327713.0,
                "w;o",
                "three hundred and twenty-seven thousand, seven hundred and thirteenth",
            ),
            (
                4327732.0,
                "w;o",
                "four million, three hundred and twenty-seven thousand, seven hundred and thirty-second",
            ),
            (1000000000001.0, "w;o", "one trillion and first"),
        ] {
            assert_eq!(
                format_integer(value, picture).as_deref(),
                Ok(expected),
                "{value} {picture}"
            );
        }
    }

    // function-parseInteger/parseInteger.json
    #[test]
    fn parse_integer_every_numbering() {
        for (value, picture, expected) in [
            ("123", "000", 123.0),
            ("0123", "0000", 123.0),
            ("1234", "0", 1234.0),
            ("1234", "###0", 1234.0),
            ("12", "###0", 12.0),
            ("123rd", "000;o", 123.0),
            ("1st", "0;o", 1.0),
            ("28th", "#0;o", 28.0),
            ("1234th", "###0;o", 1234.0),
            ("12th", "###0;o", 12.0),
            ("١٢٣٤٠", "###١", 12340.0),
            ("１２３４０", "###０", 12340.0),
            ("12", "#,##0", 12.0),
            ("1,200", "#,##0", 1200.0),
            ("12,345,678", "#,##0", 12345678.0),
            ("1,234,567,890", "#,##0", 1234567890.0),
            ("1,234,567,890", "#,###,##0", 1234567890.0),
            ("1234:567,890", "#:###,##0", 1234567890.0),
            ("12345,67,890", "##,##,##0", 1234567890.0),
            ("", "I", 0.0),
            ("MCMLXXXIV", "I", 1984.0),
            ("xcix", "i", 99.0),
            ("twelve", "w", 12.0),
            ("thirty-four", "w", 34.0),
            ("NINETY-NINE", "W", 99.0),
            ("FIVE HUNDRED AND FIFTY-FIVE", "W", 555.0),
            ("Five Hundred and Fifty-Five", "Ww", 555.0),
            ("three thousand, seven hundred and thirty", "w", 3730.0),
            (
                "four million, three hundred and twenty-seven thousand, seven hundred and thirty",
                "w",
                4327730.0,
            ),
            ("one trillion and one", "w", 1000000000001.0),
            ("one thousand trillion", "w", 1000000000000000.0),
            ("ten billion trillion trillion trillion", "w", 1e46),
            ("twentieth", "w;o", 20.0),
            ("Seven Hundred and Thirty-Third", "Ww;o", 733.0),
            ("one thousandth", "w;o", 1000.0),
            ("one trillion and first", "w;o", 1000000000001.0),
            ("A", "A", 1.0),
            ("l", "a", 12.0),
            ("aa", "a", 27.0),
            ("FZPH", "A", 123456.0),
        ] {
            assert_eq!(parse_integer(value, picture), Ok(Some(expected)), "{value} {picture}");
        }
        assert_eq!(code(parse_integer("50", "#")), "D3130");
    }

    #[test]
    fn parse_integer_unreadable_is_nan_as_in_javascript() {
        for (value, picture) in [("abc", "0"), ("MXQ", "I"), ("and", "w"), ("eleventy", "w")] {
            assert!(
                parse_integer(value, picture).is_ok_and(|v| v.is_some_and(f64::is_nan)),
                "{value} {picture}"
            );
        }
        // '1.200' with a regular '.' separator: jsonata-js strips commas only, parseInt stops at '.'
        assert_eq!(parse_integer("1.200", "#.##0"), Ok(Some(1.0)));
        // Characters below the picture's digit family: String.fromCodePoint throws in jsonata-js.
        assert_eq!(code(parse_integer("12", "###١")), "D1001");
    }

    // function-fromMillis/case000.json, case001.json; function-tomillis/case001…005
    #[test]
    fn iso_8601_both_ways() {
        assert_eq!(iso(1.0), "1970-01-01T00:00:00.001Z");
        assert_eq!(iso(1509380732935.0), "2017-10-30T16:25:32.935Z");
        for (timestamp, expected) in [
            ("1970-01-01T00:00:00.001Z", 1.0),
            ("2018-02-01T09:42:13.123+0000", 1517478133123.0),
            ("2017-10-30", 1509321600000.0),
            ("2017-10-30T15:28:34Z", 1509377314000.0),
            ("2018", 1514764800000.0),
        ] {
            assert_eq!(to_millis(timestamp, None), Ok(Some(expected)), "{timestamp}");
        }
    }

    // function-tomillis/case007…009
    #[test]
    fn not_iso_8601_is_d3110() {
        for timestamp in ["foo", "01-02-2018", "2018-02-03 11:15:33", "2018-01-01-01", ""] {
            assert_eq!(code(to_millis(timestamp, None)), "D3110", "{timestamp}");
        }
    }

    #[test]
    fn date_parse_as_v8_does() {
        let parse = |t: &str| to_millis(t, None).ok().flatten();
        let nan = |t: &str| parse(t).is_some_and(f64::is_nan);
        // Offsets, and fractions read to three significant digits.
        assert_eq!(parse("2018-02-01T09:42:13.5+01:00"), Some(1517474533500.0));
        assert_eq!(parse("2018-02-01T09:42:13.123456-0130"), Some(1517483533123.0));
        assert_eq!(parse("2018-02"), Some(1517443200000.0));
        // V8 lets a day overflow into the next month and 24:00 into the next day.
        assert_eq!(parse("2019-02-30"), parse("2019-03-02"));
        assert_eq!(parse("2018-12-31T24:00:00Z"), parse("2019-01-01"));
        // Past the ISO format V8's legacy parser takes over.
        assert_eq!(parse("2018Z"), parse("2018"));
        assert_eq!(parse("2018.5"), parse("2018-05"));
        assert_eq!(parse("2018-03.15"), parse("2018-03-15"));
        for t in [
            "2018-13",
            "2018-00-01",
            "2018-25",
            "2018-01-32",
            "2018-05-10:30",
            "2018+05:00",
            "2018-13-01T00:00:00",
        ] {
            assert!(nan(t), "{t}");
        }
        for t in [
            "2018-01-01T25:00:00Z",
            "2018-01-01T24:01:00Z",
            "2018-01-01T10:00:00+25:00",
        ] {
            assert!(nan(t), "{t}");
        }
    }

    // function-fromMillis/formatDateTime.json
    #[test]
    fn format_date_time_literals_and_markers() {
        let t = 1521801216617.0;
        for (picture, expected) in [
            ("Hello", "Hello"),
            ("Year: [Y0001]", "Year: 2018"),
            ("Year: <[Y0001]>", "Year: <2018>"),
            ("Year: <[Y9,999,*]>", "Year: <2,018>"),
            ("[[Year: <[Y0001]>", "[Year: <2018>"),
            ("Year]]: <[Y0001]>", "Year]: <2018>"),
            ("[[Year]]: [[[Y0001]]]", "[Year]: [2018]"),
            ("[D#1]/[M#1]/[Y0001]", "23/3/2018"),
            ("[Y0001]-[M01]-[D01]", "2018-03-23"),
            ("[M01]/[D01]/[Y0001] at [H01]:[m01]:[s01]", "03/23/2018 at 10:33:36"),
            (
                "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z01:01t]",
                "2018-03-23T10:33:36.617Z",
            ),
            (
                "[Y]-[ M01]-[D 01]T[H01 ]:[ m   ]:[s].[f0  01][Z01:\n 01t]",
                "2018-03-23T10:33:36.617Z",
            ),
            ("[D#1,2]/[M1,2]/[Y,2]", "23/03/18"),
            ("[D#1,2]/[M1,2]/[Y0001,2]", "23/03/2018"),
            ("[D#1,2]/[M1,2]/[Y##01,2-2]", "23/03/18"),
            ("[D#1,2]/[M1,2]/[Y0001,2-2]", "23/03/18"),
            ("[D1] [M01] [YI]", "23 03 MMXVIII"),
            ("[Da] [MA] [Yi]", "w C mmxviii"),
            ("[D1o] [M01] [Y]", "23rd 03 2018"),
            ("[Yw]", "two thousand and eighteen"),
            ("[Dwo] [M01] [Y]", "twenty-third 03 2018"),
            ("[D1o] [MNn] [Y]", "23rd March 2018"),
            ("[D1o] [MN] [Y]", "23rd MARCH 2018"),
            ("[FNn], [D1o] [MNn] [Y]", "Friday, 23rd March 2018"),
            (
                "[FNn], the [Dwo] of [MNn] [Y] [E]",
                "Friday, the twenty-third of March 2018 ISO",
            ),
            ("[FNn,3-3], [D1o] [MNn,3-3] [Y] [C]", "Fri, 23rd Mar 2018 ISO"),
            ("[F], [D]/[M]/[Y] [h]:[m]:[s] [P]", "friday, 23/3/2018 10:33:36 am"),
            ("[F], [D]/[M]/[Y] [h]:[m]:[s] [PN]", "friday, 23/3/2018 10:33:36 AM"),
            ("[F], [D]/[M]/[Y] [h]:[m]:[s] [Pn]", "friday, 23/3/2018 10:33:36 am"),
        ] {
            assert_eq!(fmt(t, picture), expected, "{picture}");
        }
        assert_eq!(fmt(1522616700000.0, "[F0] [FNn]"), "7 Sunday");
        assert_eq!(fmt(1522703100000.0, "[F0] [FNn]"), "1 Monday");
        assert_eq!(
            fmt(1204405500000.0, "[F], [D]/[M]/[Y] [h]:[m]:[s] [P]"),
            "saturday, 1/3/2008 9:05:00 pm"
        );
        assert_eq!(
            fmt(1199664000000.0, "[F], [D]/[M]/[Y] [h]:[m]:[s] [P]"),
            "monday, 7/1/2008 12:00:00 am"
        );
        assert_eq!(fmt(1514808000000.0, "[dwo] day of the year"), "first day of the year");
        assert_eq!(fmt(1546257600000.0, "[d] days in [Y0001]"), "365 days in 2018");
        assert_eq!(fmt(1483185600000.0, "[d] days in [Y0001]"), "366 days in 2016");
    }

    // function-fromMillis/formatDateTime.json
    #[test]
    fn format_date_time_timezones() {
        let with = |t: f64, picture: &str, zone: &str| from_millis(t, Some(picture), Some(zone));
        let t = 1531310400000.0;
        let base = "[Y]-[M01]-[D01]T[H01]:[m]:[s]";
        assert_eq!(fmt(t, &format!("{base}[Z01:01]")), "2018-07-11T12:00:00+00:00");
        assert_eq!(fmt(t, &format!("{base}[Z01:01t]")), "2018-07-11T12:00:00Z");
        for (picture, zone, expected) in [
            ("[Z]", "-0500", "2018-07-11T07:00:00-05:00"),
            ("[Z0]", "-0500", "2018-07-11T07:00:00-5"),
            ("[Z]", "+1000", "2018-07-11T22:00:00+10:00"),
            ("[Z0]", "+1000", "2018-07-11T22:00:00+10"),
            ("[Z0]", "+0530", "2018-07-11T17:30:00+5:30"),
            ("[z]", "-0500", "2018-07-11T07:00:00GMT-05:00"),
        ] {
            assert_eq!(
                with(t, &format!("{base}{picture}"), zone).as_deref(),
                Ok(expected),
                "{picture} {zone}"
            );
        }
        let full = "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z0101t]";
        assert_eq!(
            with(1521801216617.0, full, "+0100").as_deref(),
            Ok("2018-03-23T11:33:36.617+0100")
        );
        assert_eq!(
            with(1204405500000.0, full, "+0530").as_deref(),
            Ok("2008-03-02T02:35:00.000+0530")
        );
        assert_eq!(
            with(1230757500000.0, full, "+0530").as_deref(),
            Ok("2009-01-01T02:35:00.000+0530")
        );
        let six = "[Y]-[M01]-[D01]T[H01]:[m]:[s].[f001][Z010101t]";
        assert_eq!(code(with(1230757500000.0, six, "+0530")), "D3134");
        // ISO 8601 with a timezone; "0000" is UTC again (formatDateTime.json, the $toMillis chain).
        let t = 1540127100000.0;
        assert_eq!(
            from_millis(t, None, Some("-0500")).as_deref(),
            Ok("2018-10-21T08:05:00.000-05:00")
        );
        assert_eq!(
            from_millis(t, None, Some("0000")).as_deref(),
            Ok("2018-10-21T13:05:00.000Z")
        );
        // jsonata-js floors the hours of "-0530" and keeps the sign on the minutes: -06:30.
        assert_eq!(
            from_millis(0.0, None, Some("-0530")).as_deref(),
            Ok("1969-12-31T17:30:00.000-06:30")
        );
    }

    // function-fromMillis/formatDateTime.json
    #[test]
    fn format_date_time_weeks() {
        for (t, week) in [
            (1514808000000.0, 1.0),
            (1515326400000.0, 1.0),
            (1545739200000.0, 52.0),
            (1388577600000.0, 1.0),
            (1419854400000.0, 1.0),
            (1419768000000.0, 52.0),
            (1419336000000.0, 52.0),
            (1420113600000.0, 1.0),
            (1420459200000.0, 2.0),
            (1451304000000.0, 53.0),
            (1451563200000.0, 53.0),
            (1451736000000.0, 53.0),
        ] {
            assert_eq!(fmt(t, "Week: [W]"), format!("Week: {week}"), "{t}");
        }
        for (t, expected) in [
            (1359460800000.0, "Week: 5 of January"),
            (1359633600000.0, "Week: 5 of January"),
            (1359720000000.0, "Week: 5 of January"),
            (1514808000000.0, "Week: 1 of January"),
            (1483272000000.0, "Week: 5 of December"),
            (1533038400000.0, "Week: 1 of August"),
            (1419940800000.0, "Week: 1 of January"),
        ] {
            assert_eq!(fmt(t, "Week: [w] of [xNn]"), expected, "{t}");
        }
    }

    // function-fromMillis/formatDateTime.json; function-tomillis/parseDateTime.json
    #[test]
    fn picture_errors() {
        assert_eq!(code(from_millis(1419940800000.0, Some("[YN]-[M]-[D]"), None)), "D3133");
        assert_eq!(code(from_millis(1419940800000.0, Some("[YN]-[M"), None)), "D3135");
        assert_eq!(code(to_millis_at("2018-05-22", Some("[Y]-[M]-[q]"), NOW)), "D3132");
        assert_eq!(code(to_millis_at("2018-05-22", Some("[YN]-[M]-[D]"), NOW)), "D3133");
        assert_eq!(code(to_millis_at("2018-22", Some("[Y]-[D]"), NOW)), "D3136");
        assert_eq!(code(to_millis_at("5-22 23:59", Some("[M]-[D] [m]:[s]"), NOW)), "D3136");
        assert_eq!(code(to_millis_at("2018-3-2-5", Some("[X]-[x]-[w]-[F1]"), NOW)), "D3136");
        assert_eq!(code(to_millis_at("2018-32-5", Some("[X]-[W]-[F1]"), NOW)), "D3136");
        assert_eq!(code(from_millis(0.0, Some("[]"), None)), "D3132");
        assert_eq!(code(from_millis(0.0, Some("[fN]"), None)), "D3133");
        assert_eq!(code(from_millis(0.0, Some("[Dα]"), None)), "D3130");
        assert_eq!(code(from_millis(0.0, Some("[D0١]"), None)), "D3131");
        // An unknown component with a presentation modifier is accepted and formats as undefined.
        assert_eq!(fmt(0.0, "[q1]"), "undefined");
    }

    // function-tomillis/parseDateTime.json, case010…013
    #[test]
    fn parse_date_time_dates() {
        for (timestamp, picture, expected) in [
            ("2018", "[Y1]", 1514764800000.0),
            ("2018-03-27", "[Y1]-[M01]-[D01]", 1522108800000.0),
            (
                "2018-03-27T14:03:00.123Z",
                "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]Z",
                1522159380123.0,
            ),
            ("27th 3 1976", "[D1o] [M#1] [Y0001]", 196732800000.0),
            ("21st 12 1881", "[D1o] [M01] [Y0001]", -2777932800000.0),
            ("2nd 12 2012", "[D1o] [M01] [Y0001]", 1354406400000.0),
            ("MCMLXXXIV", "[YI]", 441763200000.0),
            ("27 03 MMXVIII", "[D1] [M01] [YI]", 1522108800000.0),
            ("27 iii MMXVIII", "[D1] [Mi] [YI]", 1522108800000.0),
            ("w C mmxviii", "[Da] [MA] [Yi]", 1521763200000.0),
            ("ae C mmxviii", "[Da] [MA] [Yi]", 1522454400000.0),
            ("27th April 2008", "[D1o] [MNn] [Y0001]", 1209254400000.0),
            ("21 August 2017", "[D1] [MNn] [Y0001]", 1503273600000.0),
            ("2 Feb 2012", "[D1] [MNn,3-3] [Y0001]", 1328140800000.0),
            ("one thousand, nine hundred and eighty-four", "[Yw]", 441763200000.0),
            ("nineteen hundred and eighty-four", "[Yw]", 441763200000.0),
            ("twenty-seven April 2008", "[Dw] [MNn] [Y0001]", 1209254400000.0),
            ("twenty-seventh April 2008", "[Dw] [MNn] [Y0001]", 1209254400000.0),
            (
                "twenty-first August two thousand and seventeen",
                "[Dw] [MNn] [Yw]",
                1503273600000.0,
            ),
            (
                "TWENTY-SECOND August two thousand and seventeen",
                "[DW] [MNn] [Yw]",
                1503360000000.0,
            ),
            (
                "Twentieth of August, two thousand and seventeen",
                "[DW] of [MNn], [Yw]",
                1503187200000.0,
            ),
            ("2018-094", "[Y0001]-[d001]", 1522800000000.0),
            ("201802", "[Y0001][M01]", 1517443200000.0),
            ("201802", "[Y,*-4][M01]", 1517443200000.0),
            ("20180205", "[Y0001][M01][D01]", 1517788800000.0),
        ] {
            assert_eq!(millis(timestamp, picture), Some(expected), "{timestamp} {picture}");
        }
        // case013: adjacent markers read exactly their width.
        assert_eq!(
            millis("20240101123849", "[Y0000][M00][D00][H00][m00][s00]"),
            to_millis("2024-01-01T12:38:49Z", None).ok().flatten()
        );
    }

    // function-tomillis/parseDateTime.json
    #[test]
    fn parse_date_time_times_and_zones() {
        for (timestamp, picture, expected) in [
            ("4/4/2018 12:06 am", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522800360000.0),
            ("4/4/2018 06:30 am", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522823400000.0),
            ("4/4/2018 12:06 pm", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522843560000.0),
            ("4/4/2018 11:30 pm", "[D1]/[M1]/[Y0001] [h]:[m] [P]", 1522884600000.0),
        ] {
            assert_eq!(millis(timestamp, picture), Some(expected), "{timestamp} {picture}");
        }
        let chained = |timestamp: &str, picture: &str| millis(timestamp, picture).map(iso);
        let zone = "[Y0001]-[M01]-[D01] [H01]:[m01]:[s01]";
        for (timestamp, picture, expected) in [
            (
                "Wednesday, 14th November 2018",
                "[FNn], [D1o] [MNn] [Y]".to_string(),
                "2018-11-14T00:00:00.000Z",
            ),
            (
                "Mon, Twelfth November 2018",
                "[FNn,*-3], [DWwo] [MNn] [Y]".into(),
                "2018-11-12T00:00:00.000Z",
            ),
            ("2018--180", "[Y]--[d]".into(), "2018-06-29T00:00:00.000Z"),
            (
                "three hundred and sixty-fifth day of 2018",
                "[dwo] day of [Y]".into(),
                "2018-12-31T00:00:00.000Z",
            ),
            (
                "2020-09-09 08:00:00 +02:00",
                format!("{zone} [Z]"),
                "2020-09-09T06:00:00.000Z",
            ),
            (
                "2020-09-09 08:00:00 GMT-05:00",
                format!("{zone} [z]"),
                "2020-09-09T13:00:00.000Z",
            ),
            (
                "2020-09-09 12:00:00 +05:30",
                format!("{zone} [Z]"),
                "2020-09-09T06:30:00.000Z",
            ),
            (
                "2020-09-09 12:00:00 GMT-5",
                format!("{zone} [z01]"),
                "2020-09-09T17:00:00.000Z",
            ),
            (
                "2020-09-09 12:00:00 +0530",
                format!("{zone} [Z0001]"),
                "2020-09-09T06:30:00.000Z",
            ),
            (
                "2026-04-08T19:05:04.01987",
                "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f1]".into(),
                "2026-04-08T19:05:04.019Z",
            ),
        ] {
            assert_eq!(
                chained(timestamp, &picture).as_deref(),
                Some(expected),
                "{timestamp} {picture}"
            );
        }
        // A time alone is today (now's date) at that time.
        assert_eq!(
            millis("13:45", "[H]:[m]").map(iso).as_deref(),
            Some("2024-01-01T13:45:00.000Z")
        );
        // jsonata-js reads "-05:30" as -5 hours plus 30 minutes.
        assert_eq!(
            chained("2020-09-09 12:00:00 -05:30", &format!("{zone} [Z]")).as_deref(),
            Some("2020-09-09T16:30:00.000Z")
        );
    }

    // function-tomillis/parseDateTime.json
    #[test]
    fn parse_date_time_without_a_match_is_undefined() {
        assert_eq!(to_millis_at("Hello", Some("Hello"), NOW), Ok(None));
        assert_eq!(to_millis_at("irrelevent string", Some("[Y]-[M]-[D]"), NOW), Ok(None));
    }

    #[test]
    fn parse_date_time_quirks_kept() {
        // Date.UTC makes a two-digit year 19xx.
        assert_eq!(
            millis("18", "[Y]").map(iso).as_deref(),
            Some("1918-01-01T00:00:00.000Z")
        );
        // A day of year cannot be followed by a time ("YD" in jsonata-js's table).
        assert_eq!(code(to_millis_at("2018-100 10", Some("[Y]-[d] [H]"), NOW)), "D3136");
        // An hour of 0 is "absent" when choosing the form, but present when filling gaps.
        assert_eq!(
            millis("2018-01-01 00:05", "[Y]-[M]-[D] [H]:[m]").map(iso).as_deref(),
            Some("2018-01-01T00:05:00.000Z")
        );
        // Case-insensitive literals and names matched by the regex but not known: undefined.
        assert_eq!(
            millis("2018t01", "[Y]T[M]").map(iso).as_deref(),
            Some("2018-01-01T00:00:00.000Z")
        );
        // (a month name in the wrong case is then missing: a gap between year and day)
        assert_eq!(code(to_millis_at("1 march 2018", Some("[D] [MNn] [Y]"), NOW)), "D3136");
        // A non-ASCII digit family cannot read the ASCII digits the regex matched.
        assert_eq!(code(to_millis_at("2018", Some("[Y١]"), NOW)), "D1001");
        // A timezone separator pasted into jsonata-js's regex: invalid, or an anchor that never holds.
        assert_eq!(code(to_millis_at("+09", Some("[z+9,]"), NOW)), "D1001");
        assert_eq!(to_millis_at("+01^00", Some("[Z01^01]"), NOW), Ok(None));
        assert_eq!(
            millis("2018 +01.30", "[Y] [Z01.01]").map(iso).as_deref(),
            Some("2017-12-31T22:30:00.000Z")
        );
    }

    // function-fromMillis/isoWeekDate.json
    #[test]
    fn iso_week_dates() {
        for (date, expected) in [
            ("2005-01-01", "2004-W53-6"),
            ("2005-01-02", "2004-W53-7"),
            ("2005-12-31", "2005-W52-6"),
            ("2006-01-01", "2005-W52-7"),
            ("2006-01-02", "2006-W01-1"),
            ("2006-12-31", "2006-W52-7"),
            ("2007-01-01", "2007-W01-1"),
            ("2007-12-30", "2007-W52-7"),
            ("2007-12-31", "2008-W01-1"),
            ("2008-01-01", "2008-W01-2"),
            ("2008-12-28", "2008-W52-7"),
            ("2008-12-29", "2009-W01-1"),
            ("2008-12-30", "2009-W01-2"),
            ("2008-12-31", "2009-W01-3"),
            ("2009-01-01", "2009-W01-4"),
            ("2009-12-31", "2009-W53-4"),
            ("2010-01-01", "2009-W53-5"),
            ("2010-01-02", "2009-W53-6"),
            ("2010-01-03", "2009-W53-7"),
        ] {
            let t = millis(date, "[Y]-[M]-[D]").unwrap_or(f64::NAN);
            assert_eq!(fmt(t, "[X0001]-W[W01]-[F1]"), expected, "{date}");
        }
    }

    #[test]
    fn dates_outside_javascripts_range() {
        // new Date(1e20) is invalid: jsonata-js writes NaN fields (and pads the year).
        assert_eq!(iso(1e20), "0NaN-NaN-NaNTNaN:NaN:NaN.NaNZ");
        assert_eq!(fmt(1e20, "[MNn]"), "undefined");
        assert_eq!(code(from_millis(1e20, Some("[MN]"), None)), "D1001");
        assert_eq!(code(from_millis(1e20, Some("[Yw]"), None)), "D1001");
        // Years before 1000 and negative years keep their digits and sign.
        assert_eq!(iso(-62135596800000.0), "0001-01-01T00:00:00.000Z");
        assert_eq!(iso(-62198755200000.0), "-0001-01-01T00:00:00.000Z");
        // Fractional milliseconds are truncated towards zero, as new Date() does.
        assert_eq!(iso(-1.5), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn large_and_odd_values() {
        assert_eq!(format_integer(1e21, "0").as_deref(), Ok("1e+21"));
        assert_eq!(format_integer(-1234.5, "#,##0").as_deref(), Ok("-1,235"));
        assert_eq!(code(format_integer(f64::INFINITY, "w")), "D1001");
        assert_eq!(code(format_integer(f64::INFINITY, "a")), "D1001");
        assert_eq!(code(format_integer(1e300, "I")), "D1001");
        assert!(format_integer(1e300, "a").is_ok_and(|s| s.len() > 200));
        assert!(format_integer(1e308, "w").is_ok());
        assert_eq!(code(from_millis(0.0, Some("[Y,99999999999]"), None)), "D1001");
        assert_eq!(code(from_millis(0.0, Some(&"[Y,500000]".repeat(3)), None)), "D1001");
        // Irregular separators past the number's length: jsonata-js's substr keeps the tail only.
        assert_eq!(format_integer(12.0, "#:###,##0").as_deref(), Ok(",:12"));
        assert_eq!(format_integer(12.0, "0,").as_deref(), Ok("12,"));
        // A year width that is not a number: NaN digits.
        assert_eq!(fmt(0.0, "[Y,2-x]"), "NaN");
    }

    #[test]
    fn js_number_to_string() {
        for (value, expected) in [
            (0.0, "0"),
            (-0.0, "0"),
            (123.0, "123"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123.456, "123.456"),
            (1e20, "100000000000000000000"),
            (-2.5e30, "-2.5e+30"),
        ] {
            assert_eq!(js::number_to_string(value), expected);
        }
        assert_eq!(js::parse_int("  -0x1A"), -26.0);
        assert_eq!(js::parse_int("+0530"), 530.0);
        assert!(js::parse_int("x").is_nan());
    }

    /// Pictures and timestamps come from users: nothing may panic or hang.
    #[test]
    fn arbitrary_input_never_panics() {
        let atoms = [
            "[",
            "]",
            "[[",
            "]]",
            "Y",
            "M",
            "D",
            "d",
            "F",
            "W",
            "w",
            "X",
            "x",
            "H",
            "h",
            "P",
            "m",
            "s",
            "f",
            "Z",
            "z",
            "C",
            "E",
            "q",
            "0",
            "1",
            "9",
            "#",
            ",",
            ";",
            "-",
            "*",
            "o",
            "t",
            "N",
            "n",
            "w",
            "I",
            "a",
            ":",
            ".",
            "١",
            "０",
            "😀",
            " ",
            "\u{1d7ce}",
            "GMT",
            "+",
            "and",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 8) as usize;
            let text: String = (0..len)
                .map(|_| atoms[(next() % atoms.len() as u64) as usize])
                .collect();
            let picture: String = (0..len)
                .map(|_| atoms[(next() % atoms.len() as u64) as usize])
                .collect();
            let value = [0.0, 1.0, -1.0, 12.5, 1e15, -1e20, f64::NAN, 1521801216617.0][(next() % 8) as usize];
            let _ = format_integer(value, &picture);
            let _ = parse_integer(&text, &picture);
            let _ = from_millis(value, Some(&picture), Some(&text));
            let _ = to_millis_at(&text, Some(&picture), NOW);
            let _ = to_millis(&text, None);
            let bracketed = format!("[{picture}]");
            let _ = from_millis(value, Some(&bracketed), None);
            let _ = to_millis_at(&text, Some(&bracketed), NOW);
        }
    }
}

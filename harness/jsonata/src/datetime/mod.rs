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
//! `tests/it/datetime_suite.rs` runs the official suite's cases that are one call with literal
//! arguments; `tests/it/datetime_jsonata_js.rs` compares thousands of generated calls with jsonata-js.
//!
//! This file holds the public entry points and what its parts share (the errors, the output
//! bound): `integer` is the integer pictures both ways, `picture` analyses date/time pictures,
//! `format` writes dates with them and `parse` reads them (`$toMillis` with a picture); `iso8601`
//! and `v8_date` are `$toMillis` without one (and `v8_date` JavaScript's date arithmetic); `js` the
//! JavaScript primitives; `tests` the unit tests.

use std::sync::OnceLock;

use self::format::format_marker;
use self::integer::{IntegerPicture, Numbering};
use self::parse::parse_date_time;
use self::picture::{Offset, Part, parse_picture};
use self::v8_date::JsDate;
use crate::Error;

mod format;
mod integer;
mod iso8601;
mod js;
mod parse;
mod picture;
mod v8_date;

#[cfg(test)]
mod tests;

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

// What the parts share.

const ISO_8601_PICTURE: &str = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";

/// The most padding digits one number, or all the markers of one picture, may write (jsonata-js
/// has no bound below the engine's string limit).
const MAX_OUTPUT: usize = 1 << 20;

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

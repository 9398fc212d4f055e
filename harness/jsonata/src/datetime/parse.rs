//! `$toMillis` with a picture (jsonata-js's `generateRegex` + `parseDateTime`): the timestamp
//! matched against the picture's parts, and the components read turned into milliseconds.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::format::{DAYS, MONTHS, fragment};
use super::integer::{DecimalPattern, Grouping, IntegerPicture, Numbering, word_values};
use super::picture::{Component, Part, parse_picture};
use super::v8_date::{JsDate, MS_PER_DAY, date_utc};
use super::{error, js, name_error, out_of_range, sequence_error};
use crate::Error;

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
pub(super) fn parse_date_time(timestamp: &str, picture: &str, now: f64) -> Result<Option<f64>, Error> {
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

//! Writing a date with a picture (`$fromMillis`): each marker's component of the date, as
//! jsonata-js's `getDateTimeFragment` computes it, written as the marker says.

use super::integer::{DecimalPattern, Grouping, LetterCase, Numbering};
use super::picture::{Component, Marker, Offset};
use super::v8_date::{JsDate, MS_PER_DAY, date_utc};
use super::{error, format_integer, js, name_error, out_of_range};
use crate::Error;

/// What jsonata-js's `getDateTimeFragment` gives for a component.
pub(super) enum Fragment {
    Number(f64),
    Text(&'static str),
    Undefined,
}

impl Fragment {
    pub(super) fn number(&self) -> f64 {
        match self {
            Fragment::Number(n) => *n,
            _ => f64::NAN,
        }
    }
}

pub(super) const MONTHS: [&str; 12] = [
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
pub(super) const DAYS: [&str; 8] = [
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

pub(super) fn format_marker(marker: &Marker, date: &JsDate, offset: Offset) -> Result<String, Error> {
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

pub(super) fn fragment(date: &JsDate, component: Component) -> Fragment {
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

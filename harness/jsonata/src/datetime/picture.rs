//! Date/time pictures (XPath F&O 3.1 `format-dateTime`, §9.8.4.1): a picture split into literals
//! and variable markers, each marker analysed into its component and presentation.

use super::integer::{IntegerPicture, LetterCase, Numbering};
use super::{error, js};
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Component {
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
    pub(super) const COUNT: usize = Component::Unknown as usize + 1;

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
    pub(super) fn is_integer_valued(self) -> bool {
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
pub(super) enum Part {
    Literal(String),
    Marker(Marker),
}

/// A variable marker, `[M01]`, `[FNn,3-3]`, `[D1o]`.
#[derive(Debug, Clone)]
pub(super) struct Marker {
    pub(super) component: Component,
    /// The component specifier as written, for error messages.
    pub(super) specifier: String,
    /// `a`, `t`, `c` or `o` after the first presentation modifier (`t`: `Z` for a zero offset).
    pub(super) presentation2: Option<u16>,
    /// A name rather than a number (`N`, `n`, `Nn`).
    pub(super) names: Option<LetterCase>,
    pub(super) width: Option<Width>,
    pub(super) integer: Option<IntegerPicture>,
    /// §9.8.4.4: how many trailing digits of the year to write, -1 for all.
    pub(super) year_digits: f64,
}

/// `,min-max`: parseInt of each side, `*` or absent being None.
#[derive(Debug, Clone, Copy)]
pub(super) struct Width {
    min: Option<f64>,
    pub(super) max: Option<f64>,
}

/// The timezone `$fromMillis` writes in, as jsonata-js splits it: hours floored, minutes the rest.
#[derive(Debug, Clone, Copy)]
pub(super) struct Offset {
    pub(super) hours: f64,
    pub(super) minutes: f64,
}

/// Splits a picture into literals and markers (§9.8.4.1): `[[` and `]]` are literal brackets.
pub(super) fn parse_picture(picture: &str) -> Result<Vec<Part>, Error> {
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

//! JavaScript's `Date` as V8 implements it, UTC only: its arithmetic (`Date.UTC`, the `getUTC…`
//! fields, with V8's bounds) and, for `$toMillis` without a picture, its `Date.parse`.
//!
//! V8's `Date.parse` (src/date/dateparser-inl.h) for what passes jsonata-js's ISO test: the ES5
//! date-time format, and V8's legacy parser where it hands over (`2018.5` is May 2018, `2018-13` is
//! NaN). The machine's zone is taken to be UTC.

/// A JavaScript Date: milliseconds since the epoch, integral, within ±8.64e15, or NaN (invalid).
#[derive(Debug, Clone, Copy)]
pub(super) struct JsDate {
    pub(super) time: f64,
}

/// The UTC fields of a date, NaN for an invalid one (as `getUTC…` return).
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    pub(super) year: f64,
    pub(super) month0: f64,
    pub(super) date: f64,
    /// 0 = Sunday.
    pub(super) weekday: f64,
    pub(super) hours: f64,
    pub(super) minutes: f64,
    pub(super) seconds: f64,
    pub(super) millis: f64,
}

impl JsDate {
    pub(super) fn new(time: f64) -> Self {
        Self { time: time_clip(time) }
    }

    pub(super) fn fields(&self) -> Fields {
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
pub(super) fn date_utc(year: f64, month: f64, date: f64, hours: f64, minutes: f64, seconds: f64, millis: f64) -> f64 {
    let mut year = year;
    if !year.is_nan() && (0.0..=99.0).contains(&year.trunc()) {
        year = 1900.0 + year.trunc();
    }
    time_clip(make_date(
        make_day(year, month, date),
        make_time(hours, minutes, seconds, millis),
    ))
}

pub(super) const MS_PER_DAY: f64 = 86_400_000.0;

// ---------------------------------------------------------------------------------------------
// Date.parse
// ---------------------------------------------------------------------------------------------

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

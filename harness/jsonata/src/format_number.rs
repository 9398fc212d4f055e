//! `$formatNumber(number, picture, options)` (XPath F&O 3.1 `fn:format-number` picture strings) and
//! `$formatBase(number, radix)`, as jsonata-js 2.x computes them (`src/functions.js`, with the fixes
//! for jsonata-js issues #785 and #786 that the test suite's `issue785`/`issue786` cases check).
//!
//! The aim is jsonata-js's output, digit for digit, not the F&O specification's: where jsonata-js
//! departs from the spec (which part of a picture counts as "fractional" when there is no decimal
//! separator, where grouping separators are looked for, how a sign-less negative sub-picture looks)
//! we follow jsonata-js, because that is what a Step Functions user sees. Its rounding is its own:
//! `round` (half to even, after shifting the decimal point through the number's *shortest* string
//! form) followed by `Number.prototype.toFixed` (exact binary value, ties away from zero), so both
//! are reproduced in [`js`] rather than approximated with Rust's formatting, whose ties go to even.
//!
//! jsonata-js works on JavaScript strings, and every property of the options object is a string,
//! possibly empty or longer than one character (`{"per-mille": "pm"}` is in the suite). So the
//! picture and the properties are kept as `Vec<char>` and compared the way jsonata-js compares
//! them: a picture character against a property is a match only when the property is exactly that
//! one character; searches for a property (`indexOf`) find it as a substring. Characters are Unicode
//! scalar values where JavaScript's are UTF-16 units; the two agree everywhere in the Basic
//! Multilingual Plane, and outside it ours is the sensible reading (jsonata-js would split a
//! surrogate pair, e.g. build its digit family from half a mathematical zero).
//!
//! For every finite number the result, string or error code, is jsonata-js's, even where that is
//! odd ("1e,+21" for 1e21 with "#,###", "NaN.00" for 1.7e308 with "0.00"). Where jsonata-js has
//! no answer we give the F&O one instead of looping or throwing a JavaScript error, so that no
//! input can hang or panic; each is marked `Deviation:` below:
//! - NaN formats as the `NaN` property, ±Infinity as prefix, `infinity` property and suffix (F&O
//!   4.7.5 bullets 1 and 4; jsonata-js has TODOs there, and loops forever on an infinite number
//!   with an exponent picture). JSONata numbers are finite, so the evaluator never passes these.
//! - More than 100 fractional digits are honoured (`toFixed` throws a RangeError).
//! - An empty pattern-separator with an empty picture is D3085 (jsonata-js reads past its array).
//! - `$formatBase` with a NaN radix is D3100 (jsonata-js throws a RangeError).

use crate::Error;

/// `$formatNumber(value, picture, options)`. `options` are the string-valued properties of the
/// third argument, in order; unknown names are ignored, as in jsonata-js.
pub fn format_number(value: f64, picture: &str, options: &[(String, String)]) -> Result<String, Error> {
    let symbols = Symbols::new(options);
    let picture: Vec<char> = picture.chars().collect();
    let sub_pictures = split(&picture, &symbols.pattern_separator);
    if sub_pictures.len() > 2 {
        return Err(picture_error("D3080"));
    }
    // Every sub-picture is checked before any is analysed, so the first one's error wins.
    let parts: Vec<Parts> = sub_pictures.iter().map(|sub| Parts::split(sub, &symbols)).collect();
    for part in &parts {
        part.validate(&symbols)?;
    }
    let mut analysed = parts.iter().map(|part| part.analyse(&symbols));
    let positive = analysed.next().ok_or_else(|| picture_error("D3085"))?;
    // Without a negative sub-picture, negatives use the positive one behind a minus sign.
    let negative = analysed.next().unwrap_or_else(|| SubPicture {
        prefix: [symbols.minus_sign.as_slice(), &positive.prefix].concat(),
        ..positive.clone()
    });
    // `value >= 0` in jsonata-js: -0 takes the positive sub-picture, NaN the negative one.
    let sub_picture = if value >= 0.0 { &positive } else { &negative };
    Ok(sub_picture.format(value, &symbols))
}

/// `$formatBase(value, radix)`: `value` rounded half to even, written in base `radix` (10 when
/// absent, itself rounded first) as JavaScript's `Number.prototype.toString(radix)` writes it.
pub fn format_base(value: f64, radix: Option<f64>) -> Result<String, Error> {
    let value = js::round(value, 0);
    let radix = radix.map_or(10.0, |radix| js::round(radix, 0));
    // Deviation: a NaN radix is refused here; jsonata-js passes it to toString, which throws.
    if !(2.0..=36.0).contains(&radix) {
        return Err(Error::new(
            "D3100",
            0,
            None,
            format!(
                "The radix of the formatBase function must be between 2 and 36.  It was given {}",
                // JSON.stringify's rendering, as jsonata-js's message template uses.
                if radix.is_finite() {
                    js::number_to_string(radix)
                } else {
                    "null".into()
                }
            ),
        ));
    }
    // In range and integral, so the cast is exact.
    Ok(js::number_to_radix_string(value, radix as u32))
}

fn picture_error(code: &'static str) -> Error {
    let message = match code {
        "D3080" => "The picture string must only contain a maximum of two sub-pictures",
        "D3081" => "The sub-picture must not contain more than one instance of the 'decimal-separator' character",
        "D3082" => "The sub-picture must not contain more than one instance of the 'percent' character",
        "D3083" => "The sub-picture must not contain more than one instance of the 'per-mille' character",
        "D3084" => "The sub-picture must not contain both a 'percent' and a 'per-mille' character",
        "D3085" => {
            "The mantissa part of a sub-picture must contain at least one character that is either an \
             'optional digit character' or a member of the 'decimal digit family'"
        }
        "D3086" => {
            "The sub-picture must not contain a passive character that is preceded by an active character \
             and that is followed by another active character"
        }
        "D3087" => {
            "The sub-picture must not contain a 'grouping-separator' character that appears adjacent to a \
             'decimal-separator' character"
        }
        "D3088" => "The sub-picture must not contain a 'grouping-separator' at the end of the integer part",
        "D3089" => "The sub-picture must not contain two adjacent instances of the 'grouping-separator' character",
        "D3090" => {
            "The integer part of the sub-picture must not contain a member of the 'decimal digit family' \
             that is followed by an instance of the 'optional digit character'"
        }
        "D3091" => {
            "The fractional part of the sub-picture must not contain an instance of the 'optional digit \
             character' that is followed by a member of the 'decimal digit family'"
        }
        "D3092" => {
            "A sub-picture that contains a 'percent' or 'per-mille' character must not contain a character \
             treated as an 'exponent-separator'"
        }
        "D3093" => {
            "The exponent part of the sub-picture must comprise only of one or more characters that are \
             members of the 'decimal digit family'"
        }
        _ => "Invalid picture string",
    };
    Error::new(code, 0, None, message)
}

/// The properties of F&O's decimal format, jsonata-js's defaults overridden by the options.
struct Symbols {
    decimal_separator: Vec<char>,
    grouping_separator: Vec<char>,
    exponent_separator: Vec<char>,
    infinity: Vec<char>,
    minus_sign: Vec<char>,
    nan: Vec<char>,
    percent: Vec<char>,
    per_mille: Vec<char>,
    zero_digit: Vec<char>,
    digit: Vec<char>,
    pattern_separator: Vec<char>,
    family: DigitFamily,
}

impl Symbols {
    fn new(options: &[(String, String)]) -> Self {
        let mut symbols = Self {
            decimal_separator: vec!['.'],
            grouping_separator: vec![','],
            exponent_separator: vec!['e'],
            infinity: "Infinity".chars().collect(),
            minus_sign: vec!['-'],
            nan: "NaN".chars().collect(),
            percent: vec!['%'],
            per_mille: vec!['\u{2030}'],
            zero_digit: vec!['0'],
            digit: vec!['#'],
            pattern_separator: vec![';'],
            family: DigitFamily::new(&['0']),
        };
        for (name, value) in options {
            let slot = match name.as_str() {
                "decimal-separator" => &mut symbols.decimal_separator,
                "grouping-separator" => &mut symbols.grouping_separator,
                "exponent-separator" => &mut symbols.exponent_separator,
                "infinity" => &mut symbols.infinity,
                "minus-sign" => &mut symbols.minus_sign,
                "NaN" => &mut symbols.nan,
                "percent" => &mut symbols.percent,
                "per-mille" => &mut symbols.per_mille,
                "zero-digit" => &mut symbols.zero_digit,
                "digit" => &mut symbols.digit,
                "pattern-separator" => &mut symbols.pattern_separator,
                _ => continue,
            };
            *slot = value.chars().collect();
        }
        symbols.family = DigitFamily::new(&symbols.zero_digit);
        symbols
    }

    /// jsonata-js's "active characters": the digit family and the five one-character roles.
    fn is_active(&self, c: char) -> bool {
        self.family.contains(c)
            || [
                &self.decimal_separator,
                &self.exponent_separator,
                &self.grouping_separator,
                &self.digit,
                &self.pattern_separator,
            ]
            .iter()
            .any(|property| is(c, property))
    }

    /// A digit position of the picture: mandatory (a family member) or optional (`digit`).
    fn is_digit_position(&self, c: char) -> bool {
        self.family.contains(c) || is(c, &self.digit)
    }
}

/// The ten digits starting at the zero-digit's code point (jsonata-js takes its first character,
/// whatever the rest of the property holds).
struct DigitFamily {
    /// `None` where zero + n is no character (a surrogate, or past U+10FFFF); empty when the
    /// zero-digit property is empty, as jsonata-js's loop from NaN builds nothing.
    members: Vec<Option<char>>,
    /// jsonata-js maps the digits it formats only when the zero-digit property is not "0".
    localised: bool,
}

impl DigitFamily {
    fn new(zero_digit: &[char]) -> Self {
        let members = match zero_digit.first() {
            Some(&zero) => (0..10).map(|n| char::from_u32(u32::from(zero) + n)).collect(),
            None => Vec::new(),
        };
        Self {
            members,
            localised: zero_digit != ['0'],
        }
    }

    fn contains(&self, c: char) -> bool {
        self.members.contains(&Some(c))
    }

    /// jsonata-js's makeString: the ASCII digits of `ascii` replaced by the family's. A digit
    /// with no member disappears, as `undefined` does in jsonata-js's `join`.
    fn localise(&self, ascii: &str) -> Vec<char> {
        if !self.localised {
            return ascii.chars().collect();
        }
        ascii
            .chars()
            .filter_map(|c| match c.to_digit(10) {
                Some(d) => self.members.get(d as usize).copied().flatten(),
                None => Some(c),
            })
            .collect()
    }
}

/// A sub-picture cut up as jsonata-js's `splitParts` does (F&O 4.7.3).
struct Parts {
    sub_picture: Vec<char>,
    prefix: Vec<char>,
    suffix: Vec<char>,
    active: Vec<char>,
    mantissa: Vec<char>,
    exponent: Option<Vec<char>>,
    integer: Vec<char>,
    fractional: Vec<char>,
}

impl Parts {
    fn split(sub_picture: &[char], symbols: &Symbols) -> Self {
        // The exponent separator is a letter that passive text may hold too ("0 elements"), so it
        // does not end the prefix or start the suffix; right after the digits it is an exponent.
        let anchors = |c: &char| symbols.is_active(*c) && !is(*c, &symbols.exponent_separator);
        // A picture with no active character at all (issue #786: "%%", "---") is all active part,
        // so that validation reports it (D3086) rather than it all passing for a prefix.
        let prefix_len = sub_picture.iter().position(anchors).unwrap_or(0);
        let suffix_start = sub_picture
            .iter()
            .rposition(anchors)
            .map_or(sub_picture.len(), |i| i + 1);
        let prefix = sub_picture[..prefix_len].to_vec();
        let suffix = sub_picture[suffix_start..].to_vec();
        let active = sub_picture[prefix_len..suffix_start].to_vec();
        // jsonata-js finds the exponent separator in the whole sub-picture but cuts the active part
        // at that position, so behind a prefix an exponent picture is D3093 ("$0.0e0"). Kept:
        // jsonata-js users get that error.
        let exponent_at =
            index_of(sub_picture, &symbols.exponent_separator, prefix_len).filter(|&at| at <= suffix_start);
        let (mantissa, exponent) = match exponent_at {
            Some(at) => (
                substring(&active, 0, at as isize).to_vec(),
                Some(substring(&active, at as isize + 1, active.len() as isize).to_vec()),
            ),
            None => (active.clone(), None),
        };
        let (integer, fractional) = match index_of(&mantissa, &symbols.decimal_separator, 0) {
            Some(at) => (
                mantissa[..at].to_vec(),
                substring(&mantissa, at as isize + 1, mantissa.len() as isize).to_vec(),
            ),
            // jsonata-js's choice: with no decimal separator the suffix stands for the fractional
            // part (it holds no digit positions, so this only matters for grouping separators).
            None => (mantissa.clone(), suffix.clone()),
        };
        Self {
            sub_picture: sub_picture.to_vec(),
            prefix,
            suffix,
            active,
            mantissa,
            exponent,
            integer,
            fractional,
        }
    }

    /// F&O 4.7.3's rules in jsonata-js's order. Every rule is checked and the *last* one broken is
    /// reported, as jsonata-js overwrites one error variable (`%%` is D3086, not D3082).
    fn validate(&self, symbols: &Symbols) -> Result<(), Error> {
        let picture = &self.sub_picture;
        let family_in = |part: &[char]| part.iter().any(|&c| symbols.family.contains(c));
        let mut error = None;
        let decimal_at = index_of(picture, &symbols.decimal_separator, 0);
        if decimal_at != last_index_of(picture, &symbols.decimal_separator) {
            error = Some("D3081");
        }
        if index_of(picture, &symbols.percent, 0) != last_index_of(picture, &symbols.percent) {
            error = Some("D3082");
        }
        if index_of(picture, &symbols.per_mille, 0) != last_index_of(picture, &symbols.per_mille) {
            error = Some("D3083");
        }
        let has_percent = contains(picture, &symbols.percent);
        let has_per_mille = contains(picture, &symbols.per_mille);
        if has_percent && has_per_mille {
            error = Some("D3084");
        }
        if !self.mantissa.iter().any(|&c| symbols.is_digit_position(c)) {
            error = Some("D3085");
        }
        if !self.active.iter().all(|&c| symbols.is_active(c)) {
            error = Some("D3086");
        }
        let grouping = symbols.grouping_separator.as_slice();
        match decimal_at {
            // jsonata-js looks one character either side, whatever the separator's length.
            Some(at) => {
                let at = at as isize;
                if char_at(picture, at - 1) == grouping || char_at(picture, at + 1) == grouping {
                    error = Some("D3087");
                }
            }
            None => {
                if char_at(&self.integer, self.integer.len() as isize - 1) == grouping {
                    error = Some("D3088");
                }
            }
        }
        if contains(picture, &[grouping, grouping].concat()) {
            error = Some("D3089");
        }
        if let Some(at) = index_of(&self.integer, &symbols.digit, 0)
            && family_in(&self.integer[..at])
        {
            error = Some("D3090");
        }
        if let Some(at) = last_index_of(&self.fractional, &symbols.digit)
            && family_in(&self.fractional[at..])
        {
            error = Some("D3091");
        }
        if let Some(exponent) = &self.exponent {
            if !exponent.is_empty() && (has_percent || has_per_mille) {
                error = Some("D3092");
            }
            if exponent.is_empty() || !exponent.iter().all(|&c| symbols.family.contains(c)) {
                error = Some("D3093");
            }
        }
        error.map_or(Ok(()), |code| Err(picture_error(code)))
    }

    /// F&O 4.7.4, as jsonata-js's `analyse`.
    fn analyse(&self, symbols: &Symbols) -> SubPicture {
        let integer_grouping = self.grouping_positions(&self.integer, false, symbols);
        let count = |part: &[char], wanted: &dyn Fn(char) -> bool| part.iter().filter(|&&c| wanted(c)).count();
        let mandatory = |c: char| symbols.family.contains(c);
        let any_digit = |c: char| symbols.is_digit_position(c);

        let mut min_integer = count(&self.integer, &mandatory);
        let scaling_factor = min_integer;
        let mut min_fraction = count(&self.fractional, &mandatory);
        let mut max_fraction = count(&self.fractional, &any_digit);
        let exponent_present = self.exponent.is_some();
        if min_integer == 0 && max_fraction == 0 {
            if exponent_present {
                min_fraction = 1;
                max_fraction = 1;
            } else {
                min_integer = 1;
            }
        }
        if exponent_present && min_integer == 0 && contains(&self.integer, &symbols.digit) {
            min_integer = 1;
        }
        if min_integer == 0 && min_fraction == 0 {
            min_fraction = 1;
        }
        SubPicture {
            regular_grouping: regular_interval(&integer_grouping),
            integer_grouping,
            fractional_grouping: self.grouping_positions(&self.fractional, true, symbols),
            min_integer,
            scaling_factor,
            min_fraction,
            max_fraction,
            min_exponent: self.exponent.as_deref().map_or(0, |e| count(e, &mandatory)),
            prefix: self.prefix.clone(),
            suffix: self.suffix.clone(),
            picture: self.sub_picture.clone(),
        }
    }

    /// For each grouping separator of `part`, the number of digit positions to its right (or, with
    /// `from_left`, to its left). jsonata-js looks for the second and later separators in the
    /// integer part whatever `part` is; kept, as it shapes fractional grouping.
    fn grouping_positions(&self, part: &[char], from_left: bool, symbols: &Symbols) -> Vec<usize> {
        let separator = &symbols.grouping_separator;
        let mut positions = Vec::new();
        // jsonata-js would never leave this loop with an empty separator, but validation has
        // already refused that (an empty string is "two adjacent separators" anywhere, D3089).
        if separator.is_empty() {
            return positions;
        }
        let mut at = index_of(part, separator, 0);
        while let Some(position) = at {
            let side = if from_left {
                substring(part, 0, position as isize)
            } else {
                substring(part, position as isize, part.len() as isize)
            };
            positions.push(side.iter().filter(|&&c| symbols.is_digit_position(c)).count());
            at = index_of(&self.integer, separator, position + 1);
        }
        positions
    }
}

/// The common interval of the grouping positions when they are all its multiples from the first
/// (`#,###,###` → 3), else 0: irregular (`#,##,###`) positions are used one by one.
fn regular_interval(positions: &[usize]) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let Some((&first, rest)) = positions.split_first() else {
        return 0;
    };
    let factor = rest.iter().fold(first, |a, &b| gcd(a, b));
    let regular = (1..=positions.len()).all(|n| positions.contains(&(n * factor)));
    if regular { factor } else { 0 }
}

/// The variables of F&O 4.7.4 for one sub-picture.
#[derive(Clone)]
struct SubPicture {
    integer_grouping: Vec<usize>,
    regular_grouping: usize,
    min_integer: usize,
    scaling_factor: usize,
    prefix: Vec<char>,
    fractional_grouping: Vec<usize>,
    min_fraction: usize,
    max_fraction: usize,
    min_exponent: usize,
    suffix: Vec<char>,
    picture: Vec<char>,
}

impl SubPicture {
    /// F&O 4.7.5's bullets, in jsonata-js's string operations (it builds the digits with `.` as
    /// the decimal point, then edits the string in place).
    fn format(&self, value: f64, symbols: &Symbols) -> String {
        // Deviation (bullets 1 and 4): jsonata-js has TODOs here ("not sure we'd ever get this in
        // JSON"), and an infinite number would never leave its exponent loop. A JSONata number is
        // finite, so only a caller outside the evaluator gets here.
        if value.is_nan() {
            return symbols.nan.iter().collect();
        }
        if value.is_infinite() {
            return [&self.prefix, &symbols.infinity, &self.suffix]
                .into_iter()
                .flatten()
                .collect();
        }
        // Bullet 3. A percentage of a number near the largest double can overflow to infinity;
        // jsonata-js then formats the string "Infinity" (or "NaN", from round) as if it were
        // digits, and so do we: 1e307 with "#,##0%" is "In,fin,ity%". An exponent, whose loop
        // would not end, cannot be in the same picture (D3092).
        let adjusted = if contains(&self.picture, &symbols.percent) {
            value * 100.0
        } else if contains(&self.picture, &symbols.per_mille) {
            value * 1000.0
        } else {
            value
        };
        // Bullet 5: with an exponent, a mantissa of `scaling_factor` integer digits. Zero keeps
        // exponent 0 and a negative is scaled by its magnitude (jsonata-js issue #785).
        let (mantissa, exponent) = if self.min_exponent == 0 {
            (adjusted, None)
        } else {
            let max_mantissa = js::power_of_ten(self.scaling_factor as i64);
            let min_mantissa = js::power_of_ten(self.scaling_factor as i64 - 1);
            let mut mantissa = adjusted;
            let mut exponent: i64 = 0;
            if mantissa != 0.0 {
                // Ends: the mantissa is finite and not zero, so it grows past any finite bound or
                // reaches infinity (not below an infinite bound), and shrinks below a finite bound
                // (an infinite one, from a scaling factor over 308, it is not above).
                while mantissa.abs() < min_mantissa {
                    mantissa *= 10.0;
                    exponent -= 1;
                }
                while mantissa.abs() > max_mantissa {
                    mantissa /= 10.0;
                    exponent += 1;
                }
            }
            (mantissa, Some(exponent))
        };
        // Bullets 6 and 7.
        let rounded = js::round(mantissa, self.max_fraction);
        let mut digits = symbols.family.localise(&js::to_fixed(rounded.abs(), self.max_fraction));
        let decimal = symbols.decimal_separator.as_slice();
        let zero = symbols.zero_digit.as_slice();
        match digits.iter().position(|&c| c == '.') {
            Some(at) => {
                digits.splice(at..=at, decimal.iter().copied());
            }
            None => digits.extend_from_slice(decimal),
        }
        // Optional zeros go, the minimum digits come back as padding below. jsonata-js compares
        // one character with the zero-digit property, so a longer property strips nothing.
        while !digits.is_empty() && char_at(&digits, 0) == zero {
            digits.remove(0);
        }
        while !digits.is_empty() && char_at(&digits, digits.len() as isize - 1) == zero {
            digits.pop();
        }
        // Bullets 8 and 9: pad to the minimum sizes (counted in characters, whatever the
        // zero-digit's length, as jsonata-js does).
        let decimal_at = index_of(&digits, decimal, 0).map_or(-1, |at| at as isize);
        let pad_left = self.min_integer as isize - decimal_at;
        let pad_right = self.min_fraction as isize - (digits.len() as isize - decimal_at - 1);
        let mut text = repeat(zero, pad_left);
        text.extend(digits);
        text.extend(repeat(zero, pad_right));
        let grouping = symbols.grouping_separator.as_slice();
        // Bullet 10: grouping in the integer part, counted leftwards from the decimal separator.
        let decimal_at = index_of(&text, decimal, 0).map_or(-1, |at| at as isize);
        if self.regular_grouping > 0 {
            let interval = self.regular_grouping as isize;
            let groups = (decimal_at - 1).div_euclid(interval);
            // Right to left, so each insertion leaves the positions still to come in place.
            for group in 1..=groups {
                text = insert_at(&text, decimal_at - group * interval, grouping);
            }
        } else {
            // jsonata-js moves its decimal position on by one per separator inserted, whatever the
            // separator's length.
            for (decimal_at, &position) in (decimal_at..).zip(&self.integer_grouping) {
                text = insert_at(&text, decimal_at - position as isize, grouping);
            }
        }
        // Bullet 11: grouping in the fractional part, counted rightwards.
        let decimal_at = index_of(&text, decimal, 0).map_or(-1, |at| at as isize);
        for &position in &self.fractional_grouping {
            text = insert_at(&text, position as isize + decimal_at + 1, grouping);
        }
        // Bullet 12: no decimal separator without a fractional part. jsonata-js drops the last
        // character, which is the separator except where the picture has none but an exponent
        // forced a fractional digit: 0.123 with "#e0" is "0.e0" there, and here.
        let decimal_at = index_of(&text, decimal, 0);
        if !contains(&self.picture, decimal) || decimal_at.is_some_and(|at| at + 1 == text.len()) {
            text.pop();
        }
        // Bullet 13.
        if let Some(exponent) = exponent {
            let mut written = symbols
                .family
                .localise(&js::to_fixed(exponent.unsigned_abs() as f64, 0));
            let pad = self.min_exponent as isize - written.len() as isize;
            if pad > 0 {
                let mut padded = repeat(zero, pad);
                padded.append(&mut written);
                written = padded;
            }
            text.extend_from_slice(&symbols.exponent_separator);
            if exponent < 0 {
                text.extend_from_slice(&symbols.minus_sign);
            }
            text.extend(written);
        }
        // Bullet 14.
        [&self.prefix, &text, &self.suffix].into_iter().flatten().collect()
    }
}

/// `s` is exactly the one character `c` (how jsonata-js compares a character with a property).
fn is(c: char, s: &[char]) -> bool {
    s == [c]
}

/// JavaScript's `indexOf(needle, from)`: an empty needle is found at `from` (clamped).
fn index_of(haystack: &[char], needle: &[char], from: usize) -> Option<usize> {
    let from = from.min(haystack.len());
    if needle.is_empty() {
        return Some(from);
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| at + from)
}

/// JavaScript's `lastIndexOf(needle)`: an empty needle is found at the end.
fn last_index_of(haystack: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() {
        return Some(haystack.len());
    }
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn contains(haystack: &[char], needle: &[char]) -> bool {
    index_of(haystack, needle, 0).is_some()
}

/// JavaScript's `charAt`: the character at `at`, or nothing out of range.
fn char_at(s: &[char], at: isize) -> &[char] {
    match usize::try_from(at) {
        Ok(at) if at < s.len() => &s[at..=at],
        _ => &[],
    }
}

/// JavaScript's `substring(start, end)`: both clamped to the string, swapped if reversed.
fn substring(s: &[char], start: isize, end: isize) -> &[char] {
    let clamp = |i: isize| i.clamp(0, s.len() as isize) as usize;
    let (a, b) = (clamp(start), clamp(end));
    &s[a.min(b)..a.max(b)]
}

/// `s.slice(0, at) + insert + s.slice(at)`, with `slice`'s counting from the end for negatives.
fn insert_at(s: &[char], at: isize, insert: &[char]) -> Vec<char> {
    let len = s.len() as isize;
    let at = if at < 0 { (len + at).max(0) } else { at.min(len) } as usize;
    [&s[..at], insert, &s[at..]].concat()
}

/// `new Array(n + 1).join(s)`: `s` repeated `n` times, nothing for `n <= 0`.
fn repeat(s: &[char], n: isize) -> Vec<char> {
    s.repeat(usize::try_from(n).unwrap_or(0))
}

/// JavaScript's `split` with a string separator; an empty one splits into characters (and an
/// empty string into nothing).
fn split(s: &[char], separator: &[char]) -> Vec<Vec<char>> {
    if separator.is_empty() {
        return s.iter().map(|&c| vec![c]).collect();
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    while let Some(at) = index_of(s, separator, start) {
        pieces.push(s[start..at].to_vec());
        start = at + separator.len();
    }
    pieces.push(s[start..].to_vec());
    pieces
}

/// The JavaScript number semantics jsonata-js's formatting rests on.
mod js {
    pub use crate::number::{increment, round, to_string as number_to_string};

    /// `Math.pow(10, n)` as a correctly rounded constant.
    pub fn power_of_ten(n: i64) -> f64 {
        format!("1e{n}").parse().unwrap_or(f64::NAN)
    }

    /// JavaScript's `Number.prototype.toFixed(digits)` for `x >= 0`: the exact binary value rounded
    /// to `digits` places, ties to the larger; from 1e21 up, `toString()`'s exponent form.
    /// (No limit of 100 digits: JavaScript would throw.)
    pub fn to_fixed(x: f64, digits: usize) -> String {
        if x.is_nan() || x.is_infinite() || x >= 1e21 {
            return number_to_string(x);
        }
        // 1074 places hold every double's exact expansion, so nothing is rounded yet.
        let exact = format!("{:.1074}", x.abs());
        let (int, frac) = exact.split_once('.').unwrap_or((exact.as_str(), ""));
        let kept: String = int
            .chars()
            .chain(frac.chars().chain(std::iter::repeat('0')).take(digits))
            .collect();
        // Away from zero from the half up: a 5 there means at least half (ties go to the larger n).
        let kept = if frac.as_bytes().get(digits).is_some_and(|&next| next >= b'5') {
            increment(&kept)
        } else {
            kept
        };
        let (int, frac) = kept.split_at(kept.len() - digits);
        if digits == 0 {
            int.to_string()
        } else {
            format!("{int}.{frac}")
        }
    }

    /// JavaScript's `Number.prototype.toString(radix)` for an integer-valued (or non-finite) `x`,
    /// as V8 writes it: beyond 2^53 the digits the double cannot hold are written as zeros.
    pub fn number_to_radix_string(x: f64, radix: u32) -> String {
        if radix == 10 || !x.is_finite() {
            return number_to_string(x);
        }
        let negative = x < 0.0;
        let base = f64::from(radix);
        let mut integer = x.abs().trunc();
        let mut digits = Vec::new();
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        while integer / base >= EXACT {
            integer /= base;
            digits.push('0');
        }
        loop {
            let remainder = integer % base;
            // remainder is an integer below radix <= 36.
            digits.push(char::from_digit(remainder as u32, radix).unwrap_or('0'));
            integer = (integer - remainder) / base;
            if integer <= 0.0 {
                break;
            }
        }
        if negative {
            digits.push('-');
        }
        digits.iter().rev().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(value: f64, picture: &str) -> String {
        format_number(value, picture, &[]).unwrap_or_else(|e| panic!("{picture}: {e}"))
    }

    fn fmt_with(value: f64, picture: &str, options: &[(&str, &str)]) -> String {
        let options: Vec<(String, String)> = options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        format_number(value, picture, &options).unwrap_or_else(|e| panic!("{picture}: {e}"))
    }

    fn code(value: f64, picture: &str) -> &'static str {
        match format_number(value, picture, &[]) {
            Ok(s) => panic!("{picture} gave {s:?}"),
            Err(e) => e.code,
        }
    }

    #[test]
    fn suite_grouping_and_fraction() {
        assert_eq!(fmt(12345.6, "#,###.00"), "12,345.60"); // case000.json
        assert_eq!(fmt(12345678.9, "9,999.99"), "12,345,678.90"); // case001.json
        assert_eq!(fmt(123412345678.9, "9,9,99.99"), "123412345,6,78.90"); // case002.json
        assert_eq!(fmt(1234.56789, "9,999.999,999"), "1,234.567,890"); // case003.json
        assert_eq!(fmt(123.9, "9999"), "0124"); // case004.json
        assert_eq!(fmt(1E20, "#,######"), "100,000000,000000,000000"); // case018.json
        assert_eq!(fmt(2.0, "000.000"), "002.000"); // case033.json
    }

    #[test]
    fn suite_percent_and_per_mille() {
        assert_eq!(fmt(0.14, "01%"), "14%"); // case005.json
        assert_eq!(fmt(0.4857, "###.###‰"), "485.7‰"); // case006.json
        assert_eq!(fmt_with(0.14, "###pm", &[("per-mille", "pm")]), "140pm"); // case007.json
    }

    #[test]
    fn suite_signs_and_sub_pictures() {
        assert_eq!(fmt(-6.0, "000"), "-006"); // case008.json
        // case016.json: the negative sub-picture has no minus sign, so none is written.
        assert_eq!(fmt(2392.14 * (-36.58), "000,000.000###;###,###.000###"), "87,504.4812");
        assert_eq!(fmt(2.14 * 86.58, "PREFIX##00.000###SUFFIX"), "PREFIX185.2812SUFFIX"); // case017.json
    }

    #[test]
    fn suite_exponents() {
        assert_eq!(fmt(1234.5678, "00.000e0"), "12.346e2"); // case009.json
        assert_eq!(fmt(1234.5678, "00.000e000"), "12.346e002"); // case010.json
        assert_eq!(fmt(0.234, "0.0e0"), "2.3e-1"); // case012.json
        assert_eq!(fmt(0.234, "#.00e0"), "0.23e0"); // case013.json
        assert_eq!(fmt(0.123, "#.e9"), "0.1e0"); // case014.json
        assert_eq!(fmt(0.234, ".00e0"), ".23e0"); // case015.json
        // issue785.json
        assert_eq!(fmt(0.0, "0e0"), "0e0");
        assert_eq!(fmt(-42.0, "0e0"), "-4e1");
        assert_eq!(fmt(42.0, "0e0"), "4e1");
        assert_eq!(fmt(0.0, "0.00e0"), "0.00e0");
    }

    #[test]
    fn suite_digit_families() {
        // case011.json
        assert_eq!(fmt_with(1234.5678, "①①.①①①e①", &[("zero-digit", "⑟")]), "①②.③④⑥e②");
        assert_eq!(fmt_with(2.0, "AAA.AAA", &[("zero-digit", "A")]), "AAC.AAA"); // case034.json
        assert_eq!(fmt_with(0.1, "AeAAA", &[("zero-digit", "A")]), "Be-AAB"); // case035.json
    }

    #[test]
    fn suite_picture_errors() {
        assert_eq!(code(20.0, "#;#;#"), "D3080"); // case019.json
        assert_eq!(code(20.0, "#.0.0"), "D3081"); // case020.json
        assert_eq!(code(20.0, "#0%%"), "D3082"); // case021.json
        assert_eq!(code(20.0, "#0‰‰"), "D3083"); // case022.json
        assert_eq!(code(20.0, "#0%‰"), "D3084"); // case023.json
        assert_eq!(code(20.0, ".e0"), "D3085"); // case024.json
        assert_eq!(code(20.0, "0+.e0"), "D3086"); // case025.json
        assert_eq!(code(20.0, "0,.e0"), "D3087"); // case026.json
        assert_eq!(code(20.0, "0,"), "D3088"); // case027.json
        assert_eq!(code(20.0, "0,,0"), "D3089"); // case028.json
        assert_eq!(code(20.0, "0#.e0"), "D3090"); // case029.json
        assert_eq!(code(20.0, "#0.#0e0"), "D3091"); // case030.json
        assert_eq!(code(20.0, "#0.0e0%"), "D3092"); // case031.json
        assert_eq!(code(20.0, "#0.0e0,0"), "D3093"); // case032.json
        // issue786.json: no active character at all, so all of it is (invalid) active part.
        for picture in ["%%", "‰‰", "%‰", "---"] {
            assert_eq!(code(42.0, picture), "D3086", "{picture}");
        }
        // jsonata-js's, not F&O's: an exponent picture behind a prefix loses its exponent digits.
        assert_eq!(code(1234.0, "$0.0e0"), "D3093");
        assert_eq!(fmt(1234.0, "0.0e0 units"), "1.2e3 units");
    }

    #[test]
    fn rounding_is_jsonata_js_round_then_to_fixed() {
        // Half to even on the decimal digits as written, not on the binary value.
        assert_eq!(fmt(0.5, "0"), "0");
        assert_eq!(fmt(1.5, "0"), "2");
        assert_eq!(fmt(2.5, "0"), "2");
        assert_eq!(fmt(-2.5, "0"), "-2");
        assert_eq!(fmt(-3.5, "0"), "-4");
        assert_eq!(fmt(1.005, "0.00"), "1.00");
        assert_eq!(fmt(1.015, "0.00"), "1.02");
        assert_eq!(fmt(0.125, "0.00"), "0.12");
        assert_eq!(fmt(0.375, "0.00"), "0.38");
        assert_eq!(fmt(12.345, "#,##0.00"), "12.34");
        assert_eq!(fmt(0.25, "#.#"), ".2");
        assert_eq!(fmt(1.5, "0."), "2");
        assert_eq!(fmt(1.0, "#.e0"), "1.0e0");
        assert_eq!(fmt(0.123, "#e0"), "0.e0");
        // From 1e21 toFixed writes the exponent form, and jsonata-js groups whatever it got.
        assert_eq!(fmt(1e21, "#,###"), "1e,+21");
        assert_eq!(fmt(1e21, "0"), "1e+21");
        assert_eq!(fmt(123456789012345680000.0, "0"), "123456789012345683968");
        // Very small numbers: shifted through their exponent form.
        assert_eq!(fmt(1e-7, "0.000000000"), "0.000000100");
        assert_eq!(fmt(1.5e-7, "0.0000000"), "0.0000002");
        assert_eq!(fmt(2.5e-7, "0.0000000"), "0.0000002");
        assert_eq!(fmt(5e-324, "0.00"), "0.00");
        assert_eq!(fmt(1.23e-10, "0.00e0"), "1.23e-10");
        assert_eq!(fmt(-0.0, "0.0"), "0.0");
        assert_eq!(fmt(-0.001, "0.0"), "-0.0");
        // 1730515161497700.25 is shifted through "1730515161497700.2e3", as JavaScript writes
        // the number (not "….3e3").
        assert_eq!(fmt(6922060645990801.0 / 4.0, "0.000"), "1730515161497700.000");
    }

    #[test]
    fn options() {
        let euro = [("decimal-separator", ","), ("grouping-separator", ".")];
        assert_eq!(fmt_with(1234567.891, "#.##0,00", &euro), "1.234.567,89");
        assert_eq!(fmt_with(-5.0, "0", &[("minus-sign", "−")]), "−5");
        // The exponent separator right after the last digit starts an exponent, later it is passive.
        let x = [("exponent-separator", "x")];
        assert_eq!(
            format_number(12.0, "00x", &x.map(|(k, v)| (k.into(), v.into())))
                .unwrap_err()
                .code,
            "D3093"
        );
        assert_eq!(fmt_with(12.0, "00 x", &x), "12 x");
        assert_eq!(fmt_with(1234.0, "0.0E0", &[("exponent-separator", "E")]), "1.2E3");
        assert_eq!(fmt_with(0.5, "0pc", &[("percent", "pc")]), "50pc");
        assert_eq!(fmt_with(7.0, "**0", &[("digit", "*")]), "7");
        assert_eq!(fmt_with(-7.0, "0|(0)", &[("pattern-separator", "|")]), "(7)");
        assert_eq!(
            fmt_with(12.5, "٠٫٠", &[("zero-digit", "٠"), ("decimal-separator", "٫")]),
            "١٢٫٥"
        );
        assert_eq!(fmt_with(f64::INFINITY, "0.0", &[("infinity", "∞")]), "∞");
        assert_eq!(fmt_with(f64::NEG_INFINITY, "0", &[]), "-Infinity");
        assert_eq!(fmt_with(f64::NAN, "0", &[("NaN", "not a number")]), "not a number");
        // A finite number whose percentage overflows is jsonata-js's business, not infinity's.
        assert_eq!(fmt(1e307, "#,##0%"), "In,fin,ity%");
        assert_eq!(fmt(1e307, "0.00%"), "NaN.00%");
        assert_eq!(fmt(-1e307, "0‰"), "-Infinity‰");
        assert_eq!(fmt_with(3.0, "0", &[("unknown", "x")]), "3");
    }

    #[test]
    fn irregular_grouping() {
        assert_eq!(fmt(1234567.0, "#,##,##0"), "12,34,567");
        assert_eq!(fmt(123456789.0, "#,##,###"), "1234,56,789");
        assert_eq!(fmt(5.0, "#,##0"), "5");
    }

    #[test]
    fn hostile_pictures_do_not_panic_or_hang() {
        let pictures = [
            "",
            ";",
            "#;",
            ";#",
            "e",
            "0e",
            "e0",
            "0.e",
            ".",
            ",",
            "0,0.",
            "%",
            "‰0",
            "0e0e0",
            "ab0cd",
            "0e0%",
            "\u{10FFFF}0",
            "𝟎𝟎",
            "0000000000000000000000000000000000.0e0",
        ];
        let long_fraction = format!("0.{}", "0".repeat(400));
        let long_integer = "0".repeat(400) + "e0";
        let all = pictures
            .iter()
            .copied()
            .chain([long_fraction.as_str(), long_integer.as_str()]);
        let options: [&[(&str, &str)]; 7] = [
            &[],
            &[("zero-digit", "")],
            &[("zero-digit", "\u{10FFFA}")],
            &[("grouping-separator", ""), ("decimal-separator", "")],
            &[("pattern-separator", "")],
            &[("exponent-separator", ""), ("digit", "")],
            &[("zero-digit", "00"), ("minus-sign", ""), ("percent", "")],
        ];
        for picture in all {
            for options in options {
                let options: Vec<(String, String)> =
                    options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                for value in [0.0, -1.5, 1e300, -1e-300, 1.7e308, f64::NAN, f64::INFINITY, 123.456] {
                    let _ = format_number(value, picture, &options);
                }
            }
        }
        // jsonata-js's answer: shifting 1.7e308 by two places overflows, and its round makes NaN.
        assert_eq!(fmt(1.7e308, "0.00"), "NaN.00");
        assert_eq!(fmt(1e300, "0.00"), "1e+300.00");
        assert_eq!(code(1.0, ""), "D3085");
    }

    #[test]
    fn suite_format_base() {
        assert_eq!(format_base(100.0, None).unwrap(), "100"); // function-formatBase/case000.json
        assert_eq!(format_base(100.0, Some(2.0)).unwrap(), "1100100"); // case002.json
        assert_eq!(format_base(-100.0, Some(2.0)).unwrap(), "-1100100"); // case003.json
        assert_eq!(format_base(100.0, Some(36.0)).unwrap(), "2s"); // case004.json
        assert_eq!(format_base(99.5, Some(2.5)).unwrap(), "1100100"); // case005.json
        assert_eq!(format_base(100.0, Some(1.0)).unwrap_err().code, "D3100"); // case006.json
        assert_eq!(format_base(100.0, Some(37.0)).unwrap_err().code, "D3100"); // case007.json
        assert_eq!(format_base(5890840712243076.0, None).unwrap(), "5890840712243076"); // case008.json
    }

    #[test]
    fn format_base_like_javascript() {
        assert_eq!(format_base(2.5, None).unwrap(), "2");
        assert_eq!(format_base(-0.4, Some(16.0)).unwrap(), "0");
        assert_eq!(format_base(255.0, Some(16.0)).unwrap(), "ff");
        assert_eq!(
            format_base(2f64.powi(60), Some(2.0)).unwrap(),
            format!("1{}", "0".repeat(60))
        );
        assert_eq!(format_base(1e21, Some(16.0)).unwrap(), "3635c9adc5dea00000");
        assert_eq!(format_base(1e21, None).unwrap(), "1e+21");
        assert_eq!(format_base(100.0, Some(36.4)).unwrap(), "2s");
        assert_eq!(format_base(100.0, Some(36.5)).unwrap(), "2s"); // 36.5 rounds to even 36
        assert_eq!(format_base(100.0, Some(1.5)).unwrap(), "1100100"); // 1.5 rounds to 2
        let error = format_base(100.0, Some(37.0)).unwrap_err();
        assert!(error.message.ends_with("It was given 37"), "{}", error.message);
        assert_eq!(format_base(100.0, Some(f64::NAN)).unwrap_err().code, "D3100");
        assert_eq!(format_base(f64::INFINITY, Some(2.0)).unwrap(), "Infinity");
    }

    #[test]
    fn javascript_number_strings() {
        for (x, s) in [
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "1.5e-7"),
            (1e-6, "0.000001"),
            (123.456, "123.456"),
            (-0.0, "0"),
            (0.1 + 0.2, "0.30000000000000004"),
            // Halfway between two 17-digit candidates: the even one, where Rust's `{}` says …700.3.
            (6922060645990801.0 / 4.0, "1730515161497700.2"), // exactly 1730515161497700.25
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(js::number_to_string(x), s);
        }
        assert_eq!(js::to_fixed(2.5, 0), "3");
        assert_eq!(js::to_fixed(0.125, 2), "0.13");
        assert_eq!(js::to_fixed(1.005, 2), "1.00");
        assert_eq!(js::to_fixed(9.995, 2), "9.99");
        assert_eq!(js::to_fixed(99.5, 0), "100");
        assert_eq!(js::round(1.005, 2), 1.0);
        assert_eq!(js::round(2.675, 2), 2.68);
        assert_eq!(js::round(-0.4, 0).to_bits(), 0f64.to_bits());
    }
}

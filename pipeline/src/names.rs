//! Validation of the names that come from a job item and end up in an FTP command or an S3 key.
//!
//! A job item is written by people and upstream systems; nothing in it is trusted. A name that
//! could inject an FTP command (CR/LF), truncate a C string (NUL), climb out of its directory
//! (`..`) or land outside the project prefix is rejected with `UnsafeFileName` before any I/O,
//! and so is one a server would resolve to another name: a segment ending in a dot or a space
//! (stripped by some servers), a glob character (expanded by some), or a name whose NFKC form
//! (`．．／` → `../`) fails any of these checks.

use unicode_normalization::UnicodeNormalization;

use crate::error::PipelineError;

/// S3 object keys are at most 1024 bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;

fn reject(what: &str, value: &str, why: &str) -> PipelineError {
    PipelineError::UnsafeFileName(format!("{what} {value:?} {why}"))
}

fn check_characters(what: &str, value: &str) -> Result<(), PipelineError> {
    if value.is_empty() {
        return Err(reject(what, value, "is empty"));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(reject(
            what,
            value,
            &format!("contains the control character U+{:04X}", c as u32),
        ));
    }
    Ok(())
}

/// Characters an FTP server may expand as a glob (wu-ftpd, ProFTPD and others expand them in
/// path arguments).
const GLOB: [char; 3] = ['*', '?', '['];

fn check_segment(what: &str, full: &str, segment: &str) -> Result<(), PipelineError> {
    match segment {
        "" => Err(reject(what, full, "has an empty path segment")),
        "." | ".." => Err(reject(what, full, "has a '.' or '..' segment")),
        _ if segment.contains('\\') => Err(reject(what, full, "contains a backslash")),
        _ if segment.ends_with(['.', ' ']) => Err(reject(
            what,
            full,
            "has a segment ending in a dot or a space (servers that strip them resolve it to another name)",
        )),
        _ if segment.contains(GLOB) => Err(reject(what, full, "contains a glob character (*, ? or [)")),
        _ => Ok(()),
    }
}

/// Runs `check` on a name and, when compatibility normalization (NFKC) changes it, on the
/// normalized form too: fullwidth `．．／` is `../` to a server or a file system that folds it.
fn with_nfkc(what: &str, value: &str, check: impl Fn(&str) -> Result<(), PipelineError>) -> Result<(), PipelineError> {
    check(value)?;
    let normalized: String = value.nfkc().collect();
    if normalized != value {
        check(&normalized).map_err(|e| {
            reject(
                what,
                value,
                &format!("reads as {normalized:?} once normalized (NFKC), which is refused: {e}"),
            )
        })?;
    }
    Ok(())
}

/// A file name: one path segment, no control characters, not `.`/`..`, no trailing dot or
/// space, no glob character, in its NFKC form too.
pub fn file_name(name: &str) -> Result<&str, PipelineError> {
    with_nfkc("file name", name, |name| {
        check_characters("file name", name)?;
        if name.contains('/') {
            return Err(reject("file name", name, "contains '/'"));
        }
        check_segment("file name", name, name)
    })?;
    Ok(name)
}

/// A remote path: absolute, segments safe; returned unchanged (it is sent as is in SIZE/RETR/DELE).
pub fn remote_path(path: &str) -> Result<&str, PipelineError> {
    with_nfkc("remote path", path, |path| {
        check_characters("remote path", path)?;
        let Some(relative) = path.strip_prefix('/') else {
            return Err(reject("remote path", path, "is not absolute"));
        };
        relative
            .split('/')
            .try_for_each(|segment| check_segment("remote path", path, segment))
    })?;
    Ok(path)
}

/// A project name: it becomes the first segment of the S3 key.
pub fn project(project: &str) -> Result<&str, PipelineError> {
    with_nfkc("project", project, |project| {
        check_characters("project", project)?;
        if project.contains('/') {
            return Err(reject("project", project, "contains '/'"));
        }
        check_segment("project", project, project)
    })?;
    Ok(project)
}

/// An S3 object key: relative, safe segments, within S3's length limit.
pub fn object_key(key: &str) -> Result<&str, PipelineError> {
    with_nfkc("object key", key, |key| {
        check_characters("object key", key)?;
        if key.starts_with('/') {
            return Err(reject("object key", key, "is absolute"));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(reject("object key", key, "is longer than 1024 bytes"));
        }
        key.split('/')
            .try_for_each(|segment| check_segment("object key", key, segment))
    })?;
    Ok(key)
}

/// A job's own key: safe, and under its project's prefix (a job may not land in another
/// project's place).
pub fn project_key<'a>(project_name: &str, key: &'a str) -> Result<&'a str, PipelineError> {
    let key = object_key(key)?;
    let prefix = format!("{}/", project(project_name)?);
    if !key.starts_with(&prefix) {
        return Err(reject(
            "object key",
            key,
            &format!("is not under the job's project prefix {prefix}"),
        ));
    }
    Ok(key)
}

/// The default landing key, `<project>/<fileName>`, from names already checked.
pub fn default_key(project_name: &str, name: &str) -> Result<String, PipelineError> {
    let key = format!("{}/{}", project(project_name)?, file_name(name)?);
    object_key(&key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        assert!(file_name("mo.moyr540.data").is_ok());
        assert!(file_name("report 2026 é.csv").is_ok());
        assert!(remote_path("/s_dart_cert/plas/in/mo.moyr540.data").is_ok());
        assert_eq!(
            default_key("FLPIDS-NATS", "mo.moyr540.data").unwrap(),
            "FLPIDS-NATS/mo.moyr540.data"
        );
    }

    #[test]
    fn rejects_unsafe_names() {
        for bad in ["", "..", ".", "a/b", "a\\b", "x\r\nDELE /etc", "nul\0byte", "tab\tname"] {
            let err = file_name(bad).unwrap_err();
            assert_eq!(err.name(), "UnsafeFileName", "{bad:?}");
        }
        for bad in ["relative/path", "/a/../etc/passwd", "/a//b", "/a/b\n", "/a/./b", "/"] {
            assert!(remote_path(bad).is_err(), "{bad:?}");
        }
        for bad in ["/abs/key", "a/../b", &"k".repeat(1025)] {
            assert!(object_key(bad).is_err(), "{bad:?}");
        }
        assert!(default_key("..", "f").is_err());
        assert!(default_key("p/q", "f").is_err());
    }

    /// Names a server resolves elsewhere than they read: servers that strip trailing dots and
    /// spaces (Windows, IIS FTP) turn `a.` into `a` and `.. ` into `..`; one that expands globs
    /// turns `*` into whatever matches; fullwidth `．．／` is `../` once normalized (NFKC). DELE
    /// would follow the name to a file the job never named.
    #[test]
    fn rejects_names_a_server_resolves_elsewhere() {
        for bad in [
            ".. ",
            "...",
            "a.",
            "a ",
            " .",
            "*",
            "a?.csv",
            "[ab].csv",
            "\u{ff0e}\u{ff0e}",
            "a\u{ff0f}b",
            "\u{ff0a}.csv",
        ] {
            let err = file_name(bad).unwrap_err();
            assert_eq!(err.name(), "UnsafeFileName", "{bad:?}");
        }
        for bad in [
            "/in/a./b",
            "/in/.. /x",
            "/in/*.csv",
            "/in/\u{ff0e}\u{ff0e}/x",
            "/in/dir /x",
        ] {
            assert_eq!(remote_path(bad).unwrap_err().name(), "UnsafeFileName", "{bad:?}");
        }
        assert!(project_key("P", "P/a.").is_err());
        // Ordinary names stay: inner dots and spaces, accents composed or not, a leading dot.
        for good in [
            "a.b.csv",
            "report 2026.csv",
            "caf\u{e9}.csv",
            "cafe\u{301}.csv",
            ".hidden",
        ] {
            assert!(file_name(good).is_ok(), "{good:?}");
        }
    }
}

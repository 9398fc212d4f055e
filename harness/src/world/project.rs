//! Where a run's files come from. A project is a directory with `infra/statemachine.asl.json` or a
//! `scenarios/` folder; it is found from `--project DIR`, else `FILECHECKS_PROJECT`, else the
//! current directory upward (as cargo finds `Cargo.toml`). The project's `infra/` files win; where
//! it has none (or there is no project) the copies embedded at build time are used, so an installed
//! `harness` works from any directory.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// `infra/template.yaml` and `infra/statemachine.asl.json` as they were when this binary was built.
const EMBEDDED_TEMPLATE: &str = include_str!("../../../infra/template.yaml");
const EMBEDDED_STATE_MACHINE: &str = include_str!("../../../infra/statemachine.asl.json");

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{0} is not a FileChecks project directory (it has neither infra/statemachine.asl.json nor scenarios/)")]
    NotAProject(PathBuf),
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the current directory: {0}")]
    CurrentDir(std::io::Error),
}

/// One of the project's files, with the name errors give it.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    /// Its path, or `embedded infra/…` for the built-in copy.
    pub name: String,
    pub text: Cow<'static, str>,
}

#[derive(Debug, Clone, Default)]
pub struct Project {
    root: Option<PathBuf>,
}

fn is_project(dir: &Path) -> bool {
    dir.join("infra").join("statemachine.asl.json").is_file() || dir.join("scenarios").is_dir()
}

impl Project {
    /// `explicit` (the `--project` flag), else `FILECHECKS_PROJECT`, else the nearest project
    /// directory at or above the current directory, else no project (embedded infra only).
    pub fn discover(explicit: Option<&Path>) -> Result<Project, ProjectError> {
        let named = explicit.map(Path::to_path_buf).or_else(|| {
            std::env::var_os("FILECHECKS_PROJECT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        if let Some(dir) = named {
            return Project::at(&dir);
        }
        let cwd = std::env::current_dir().map_err(ProjectError::CurrentDir)?;
        Ok(Project::above(&cwd).unwrap_or_default())
    }

    /// The project rooted at `dir`, which must be one.
    pub fn at(dir: &Path) -> Result<Project, ProjectError> {
        let root = dir.canonicalize().map_err(|source| ProjectError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        if !is_project(&root) {
            return Err(ProjectError::NotAProject(root));
        }
        Ok(Project { root: Some(root) })
    }

    /// The nearest project at or above `dir`.
    pub fn above(dir: &Path) -> Option<Project> {
        dir.ancestors().find(|d| is_project(d)).map(|root| Project {
            root: Some(root.to_path_buf()),
        })
    }

    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// `scenarios/` of the project.
    pub fn scenarios_dir(&self) -> Option<PathBuf> {
        self.root.as_ref().map(|r| r.join("scenarios")).filter(|d| d.is_dir())
    }

    /// `fixtures/` of the project: the sample files scenarios name with `fixture:`.
    pub fn fixtures_dir(&self) -> Option<PathBuf> {
        self.root.as_ref().map(|r| r.join("fixtures"))
    }

    /// The SAM template the world's resources are read from.
    pub fn template(&self) -> Result<ProjectFile, ProjectError> {
        self.infra_file("template.yaml", EMBEDDED_TEMPLATE)
    }

    /// The state machine definition (ASL) the world runs.
    pub fn state_machine(&self) -> Result<ProjectFile, ProjectError> {
        self.infra_file("statemachine.asl.json", EMBEDDED_STATE_MACHINE)
    }

    fn infra_file(&self, file: &str, embedded: &'static str) -> Result<ProjectFile, ProjectError> {
        if let Some(path) = self
            .root
            .as_ref()
            .map(|r| r.join("infra").join(file))
            .filter(|p| p.is_file())
        {
            let text = std::fs::read_to_string(&path).map_err(|source| ProjectError::Read {
                path: path.clone(),
                source,
            })?;
            return Ok(ProjectFile {
                name: path.display().to_string(),
                text: Cow::Owned(text),
            });
        }
        Ok(ProjectFile {
            name: format!("embedded infra/{file}"),
            text: Cow::Borrowed(embedded),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_without_a_project_uses_the_embedded_infra() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Project::above(dir.path()).is_none());
        let err = Project::at(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is not a FileChecks project directory"), "{err}");
        let detached = Project::default();
        assert_eq!(detached.template().unwrap().name, "embedded infra/template.yaml");
        assert!(detached.state_machine().unwrap().text.contains("UnwrapRecord"));
        assert!(detached.scenarios_dir().is_none());
    }
}

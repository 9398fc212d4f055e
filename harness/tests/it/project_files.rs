//! The checkout as a project: found from a folder inside it, and its scenario files read and
//! written back by the schema unchanged (so `from-item` writes files the runner reads).

use std::path::Path;

use harness::scenario::{Scenario, scenario_files};
use harness::world::Project;

#[test]
fn the_checkout_is_found_from_a_folder_inside_it() {
    let inside = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let project = Project::above(&inside).expect("the checkout is a project");
    assert!(project.root().unwrap().join("infra").is_dir());
    assert!(project.template().unwrap().name.ends_with("infra/template.yaml"));
    assert!(project.scenarios_dir().is_some());
}

#[test]
fn every_project_scenario_survives_a_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    for path in scenario_files(&[dir]) {
        let scenario = Scenario::load(&path).unwrap();
        let again =
            Scenario::parse(&scenario.to_yaml(), &path).unwrap_or_else(|e| panic!("{e}\n{}", scenario.to_yaml()));
        assert_eq!(again.to_yaml(), scenario.to_yaml(), "{}", path.display());
    }
}

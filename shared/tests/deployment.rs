//! `template.yaml` against the code it deploys: every function crate is a function of
//! the stack and the other way round, every schedule the code runs has its schedule
//! in the stack (with an input the code reads), and every variable the configuration
//! requires is set for the functions.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use connector::config::Config;
use connector::schedules::Schedule;

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
}

fn template() -> String {
    std::fs::read_to_string(repository().join("template.yaml")).expect("template.yaml reads")
}

/// The values of `key: value` lines of the template (also inside `{ key: value, … }`
/// flow maps), unquoted, in order.
fn values_of(template: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}: ");
    let unquoted = |value: &str| value.trim().trim_matches('\'').to_string();
    template
        .lines()
        .flat_map(|line| match line.trim().strip_prefix(&prefix) {
            Some(value) => vec![unquoted(value)],
            None => line
                .split(['{', ',', '}'])
                .filter_map(|part| part.trim().strip_prefix(&prefix).map(unquoted))
                .collect(),
        })
        .collect()
}

#[test]
fn every_function_crate_is_in_the_stack_and_the_other_way_round() {
    let crates: BTreeSet<String> = std::fs::read_dir(repository().join("functions"))
        .expect("functions/ reads")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.join("Cargo.toml").exists())
        .map(|path| path.file_name().expect("a name").to_string_lossy().into_owned())
        .collect();
    let deployed: BTreeSet<String> = values_of(&template(), "Binary").into_iter().collect();
    assert!(crates.len() >= 10, "the walk found the function crates: {crates:?}");
    assert_eq!(crates, deployed, "functions/ and the template's BuildProperties.Binary");
}

#[test]
fn every_schedule_runs_in_the_stack_with_an_input_the_code_reads() {
    let template = template();
    let inputs: Vec<Schedule> = values_of(&template, "Input")
        .iter()
        .map(|input| {
            let input: serde_json::Value = serde_json::from_str(input).expect("a schedule input is JSON");
            serde_json::from_value(input["schedule"].clone()).expect("the input names a schedule")
        })
        .collect();
    for (schedule, _) in Schedule::ALL {
        assert!(
            inputs.contains(&schedule),
            "{schedule:?} has no schedule in the template"
        );
    }
    assert_eq!(inputs.len(), Schedule::ALL.len(), "one schedule each: {inputs:?}");
}

#[test]
fn every_variable_the_configuration_requires_is_set_for_the_functions() {
    let asked = Mutex::new(BTreeSet::new());
    Config::from_lookup(|name| {
        asked.lock().unwrap().insert(name.to_string());
        Some("https://example.com/1/queue".into())
    })
    .expect("a configuration from any values");
    let template = template();
    let globals =
        &template[template.find("Globals:").expect("globals")..template.find("Resources:").expect("resources")];
    let asked = asked.into_inner().unwrap();
    let required = [
        "TABLE_NAME",
        "PRODUCT_QUEUE_URL",
        "ORDER_QUEUE_URL",
        "PRODUCT_DLQ_URL",
        "ORDER_DLQ_URL",
        "PUBLIC_URL",
    ];
    for name in required {
        assert!(asked.contains(name), "the configuration reads {name}: {asked:?}");
        assert!(
            globals.contains(&format!("        {name}: ")),
            "{name} is set for every function in the template's Globals"
        );
    }
    assert!(
        !template.contains("QUEUE_NAME"),
        "queues are passed by URL, so no cold start asks SQS for them by name"
    );
}

//! Property tests of the config parser: whatever an operator writes, `check-config`
//! answers with located problems (file, line, key) and never panics.

use proptest::prelude::*;
use slipway_core::config::Config;
use std::path::Path;

const EXAMPLE: &str = include_str!("../../../slipway.example.toml");

fn file() -> &'static Path {
    Path::new("/etc/slipway/slipway.toml")
}

/// Every problem is located in the file and says something.
fn assert_located(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = Config::parse(text, file()) {
        prop_assert!(!e.problems.is_empty());
        let lines = text.lines().count().max(1);
        for p in &e.problems {
            prop_assert!(!p.message.trim().is_empty(), "{}", e);
            prop_assert!(p.line <= lines + 1, "line {} of {}: {}", p.line, lines, e);
        }
        prop_assert!(e.to_string().contains("/etc/slipway/slipway.toml"));
    }
    Ok(())
}

/// A small config whose values come from the test.
fn config(values: &Values) -> String {
    format!(
        "listen = {}\nshutdown_grace_seconds = {}\n[http]\nheader_timeout_seconds = {}\nmax_connections = {}\n\
         [sessions]\ninactivity_minutes = {}\n\
         [[pipelines]]\nid = {}\nrepository = \"https://git.example.com/shop.git\"\nbranch = {}\n\
         [[pipelines.stages]]\nid = {}\npromote_roles = [{}]\n\
         deployer = {{ command = [\"deploy\"], timeout_seconds = {}, max_log_bytes = {} }}\n",
        toml_string(&values.listen),
        values.numbers[0],
        values.numbers[1],
        values.numbers[2],
        values.numbers[3],
        toml_string(&values.pipeline),
        toml_string(&values.branch),
        toml_string(&values.stage),
        values.roles.iter().map(|r| toml_string(r)).collect::<Vec<_>>().join(", "),
        values.numbers[4],
        values.numbers[5],
    )
}

/// A TOML basic string holding `s` exactly.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Clone)]
struct Values {
    listen: String,
    pipeline: String,
    branch: String,
    stage: String,
    roles: Vec<String>,
    numbers: Vec<i64>,
}

prop_compose! {
    fn values()(
        listen in "\\PC{0,24}|127\\.0\\.0\\.1:[0-9]{1,6}",
        pipeline in "\\PC{0,16}|[a-z][a-z0-9-]{0,10}",
        branch in "\\PC{0,16}|[a-z][a-z0-9/._-]{0,12}",
        stage in "\\PC{0,16}|[a-z][a-z0-9-]{0,10}",
        roles in proptest::collection::vec("\\PC{0,8}|viewer|dev|qa|ops|admin", 0..4),
        numbers in proptest::collection::vec(prop_oneof![any::<i64>(), -5i64..100_000], 6),
    ) -> Values {
        Values { listen, pipeline, branch, stage, roles, numbers }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_gets_located_problems_or_a_config_never_a_panic(text in "\\PC{0,400}") {
        assert_located(&text)?;
    }

    #[test]
    fn any_values_in_a_well_formed_file_are_accepted_or_refused_by_key(v in values()) {
        let text = config(&v);
        match Config::parse(&text, file()) {
            Ok(c) => {
                // What was accepted is what was written.
                prop_assert_eq!(c.pipelines[0].id.as_str(), v.pipeline.as_str());
                prop_assert_eq!(c.pipelines[0].stages[0].id.as_str(), v.stage.as_str());
                prop_assert!(v.numbers[0] >= 0 && v.numbers[1] >= 1 && (8..=1_000_000).contains(&v.numbers[2]));
            }
            Err(e) => {
                for p in &e.problems {
                    prop_assert!(!p.key.is_empty() || p.line > 0, "{}", e);
                }
                assert_located(&text)?;
            }
        }
    }

    #[test]
    fn the_example_config_with_lines_dropped_or_repeated_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3), 1..6)
    ) {
        let mut lines: Vec<&str> = EXAMPLE.lines().collect();
        for (at, how) in edits {
            if lines.is_empty() {
                break;
            }
            let i = at.index(lines.len());
            match how {
                0 => { lines.remove(i); }
                1 => { let l = lines[i]; lines.insert(i, l); }
                _ => { lines[i] = lines[i].get(..lines[i].len() / 2).unwrap_or(""); }
            }
        }
        assert_located(&lines.join("\n"))?;
    }
}

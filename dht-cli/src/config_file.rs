//! `dht node --config FILE`: the node's settings from a TOML file, under
//! the command line and the environment.
//!
//! Each setting in the file becomes the default of its environment
//! variable (`listen` → `DHT_LISTEN`) unless the environment already sets
//! it, and clap reads flags over variables: the command line wins over the
//! environment, the environment over the file.

use std::ffi::OsString;
use std::path::Path;

/// Applies the file that `--config FILE` in `args` names, if any, to the
/// flags of `node` (the `dht node` command).
pub fn apply(args: &[OsString], node: &clap::Command) -> Result<(), String> {
    let Some(path) = named_file(args) else { return Ok(()) };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("config file {}: {e}", path.display()))?;
    for (name, value) in settings(&path, &text, &variables(node))? {
        if std::env::var_os(&name).is_none() {
            std::env::set_var(name, value);
        }
    }
    Ok(())
}

/// The settings a file may hold, read from the command itself: every flag
/// that has an environment variable, by its long name, with that variable.
fn variables(node: &clap::Command) -> Vec<(String, String)> {
    node.get_arguments()
        .filter_map(|arg| Some((arg.get_long()?.to_owned(), arg.get_env()?.to_str()?.to_owned())))
        .collect()
}

/// The file after `--config` (or in `--config=FILE`).
fn named_file(args: &[OsString]) -> Option<std::path::PathBuf> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--config" {
            return args.next().map(Into::into);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(path.into());
        }
    }
    None
}

/// Each setting of `text` as an environment variable and its value.
fn settings(path: &Path, text: &str, variables: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let bad = |what: String| format!("config file {}: {what}", path.display());
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| bad(e.to_string().trim().to_owned()))?;
    let mut out = Vec::with_capacity(table.len());
    for (key, value) in table {
        let flag = key.replace('_', "-");
        let Some((_, variable)) = variables.iter().find(|(long, _)| *long == flag) else {
            let known: Vec<&str> = variables.iter().map(|(long, _)| long.as_str()).collect();
            return Err(bad(format!("unknown setting `{key}` (known: {})", known.join(", "))));
        };
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or_else(|| bad(format!("`{key}` must list strings"))))
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => return Err(bad(format!("`{key}` cannot be {}", other.type_str()))),
        };
        out.push((variable.clone(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn node_variables() -> Vec<(String, String)> {
        variables(crate::Cli::command().find_subcommand("node").expect("a node command"))
    }

    #[test]
    fn settings_become_variables_and_mistakes_are_named() {
        let path = Path::new("node.toml");
        let text = "listen = \"0.0.0.0:4000\"\nbootstrap = [\"a:1\", \"b:2\"]\ndata_dir = \"/var/lib/dht\"\nrepair-interval = 30\njson = true\n";
        let known = node_variables();
        let got = settings(path, text, &known).expect("valid");
        let want = [
            ("DHT_BOOTSTRAP", "a:1,b:2"),
            ("DHT_DATA_DIR", "/var/lib/dht"),
            ("DHT_JSON", "true"),
            ("DHT_LISTEN", "0.0.0.0:4000"),
            ("DHT_REPAIR_INTERVAL", "30"),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
        let unknown = settings(path, "lisen = \"x\"", &known).expect_err("unknown key");
        assert!(unknown.contains("node.toml") && unknown.contains("`lisen`"), "{unknown}");
        let broken = settings(path, "listen = ", &known).expect_err("not TOML");
        assert!(broken.starts_with("config file node.toml:"), "{broken}");
        assert!(settings(path, "bootstrap = [1]", &known).is_err());
    }

    #[test]
    fn the_file_is_found_in_either_spelling() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(named_file(&args(&["dht", "node", "--config", "a.toml"])), Some("a.toml".into()));
        assert_eq!(named_file(&args(&["dht", "node", "--config=b.toml"])), Some("b.toml".into()));
        assert_eq!(named_file(&args(&["dht", "node"])), None);
    }
}

//! Environment overrides for the config file: `GATEWAY__SERVER__LISTEN=0.0.0.0:8080`
//! sets `server.listen`; a numeric segment indexes an array
//! (`GATEWAY__PROVIDERS__0__BASE_URL`). Values are read as TOML literals when they
//! parse as one (numbers, booleans, arrays) and as strings otherwise.

use toml::Value;

pub const PREFIX: &str = "GATEWAY__";

/// Applies every `GATEWAY__...` variable of `vars` to `doc`.
pub fn apply<I>(doc: &mut Value, vars: I) -> Result<(), String>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut overrides: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with(PREFIX))
        .collect();
    overrides.sort();
    for (name, raw_value) in overrides {
        let path: Vec<String> = name[PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(format!("{name}: empty path segment"));
        }
        set(doc, &path, parse_value(&raw_value)).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn parse_value(raw: &str) -> Value {
    // `toml` parses documents, so wrap the literal in one.
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut table) => table
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_owned())),
        Err(_) => Value::String(raw.to_owned()),
    }
}

fn set(node: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    match node {
        Value::Table(table) => {
            let child = table
                .entry(head.clone())
                .or_insert_with(|| Value::Table(toml::Table::new()));
            set(child, rest, value)
        }
        Value::Array(items) => {
            let index: usize = head
                .parse()
                .map_err(|_| format!("`{head}` is not an array index"))?;
            let len = items.len();
            let child = items
                .get_mut(index)
                .ok_or_else(|| format!("index {index} is past the {len} configured entries"))?;
            set(child, rest, value)
        }
        _ => Err(format!("cannot set `{head}` inside a plain value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value {
        Value::Table(toml::from_str(text).unwrap())
    }

    #[test]
    fn overrides_nested_values_and_array_entries() {
        let mut value = doc("[server]\nlisten = \"a\"\n[[providers]]\nname = \"p\"\n");
        apply(
            &mut value,
            [
                ("GATEWAY__SERVER__LISTEN".into(), "0.0.0.0:1".into()),
                ("GATEWAY__SERVER__MAX_BODY_BYTES".into(), "42".into()),
                ("GATEWAY__PROVIDERS__0__BASE_URL".into(), "http://x".into()),
                ("UNRELATED".into(), "1".into()),
            ],
        )
        .unwrap();
        assert_eq!(value["server"]["listen"].as_str(), Some("0.0.0.0:1"));
        assert_eq!(value["server"]["max_body_bytes"].as_integer(), Some(42));
        assert_eq!(value["providers"][0]["base_url"].as_str(), Some("http://x"));
    }

    #[test]
    fn out_of_range_index_names_the_variable() {
        let mut value = doc("providers = []");
        let err = apply(
            &mut value,
            [("GATEWAY__PROVIDERS__3__NAME".into(), "x".into())],
        )
        .unwrap_err();
        assert!(err.starts_with("GATEWAY__PROVIDERS__3__NAME"), "{err}");
    }
}

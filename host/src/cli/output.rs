//! Rendering API answers as tables (default), JSON or YAML.

use clap::ValueEnum;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

/// Columns of a list table: (header, top-level field or `addresses` summary).
pub type Columns = &'static [(&'static str, &'static str)];

pub fn print_list(format: Format, items: &Value, columns: Columns) {
    match format {
        Format::Table => {
            let mut t = new_table();
            t.set_header(columns.iter().map(|(h, _)| *h));
            for item in items.as_array().map(Vec::as_slice).unwrap_or_default() {
                t.add_row(columns.iter().map(|(_, f)| cell(item, f)));
            }
            println!("{t}");
        }
        _ => print_raw(format, items),
    }
}

pub fn print_object(format: Format, item: &Value) {
    match format {
        Format::Table => match item {
            Value::Array(items) => {
                for i in items {
                    print_object(format, i);
                }
            }
            Value::Object(map) => {
                let mut t = new_table();
                t.set_header(["field", "value"]);
                for (k, v) in map {
                    t.add_row([k.clone(), text(k, v)]);
                }
                println!("{t}");
            }
            other => println!("{}", text("", other)),
        },
        _ => print_raw(format, item),
    }
}

pub fn print_raw(format: Format, v: &Value) {
    match format {
        Format::Yaml => print!("{}", serde_yaml_ng::to_string(v).unwrap_or_default()),
        _ => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
    }
}

fn new_table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t
}

fn cell(item: &Value, field: &str) -> String {
    text(field, &item[field])
}

/// One value as table text: addresses as `IF:ip`, interfaces as `IF=net`, lists comma-joined.
fn text(field: &str, v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if field == "addresses" => items
            .iter()
            .map(|a| match a["interface"].as_str() {
                Some(i) if !i.is_empty() => format!("{i}:{}", a["ip"].as_str().unwrap_or("")),
                _ => format!(
                    "{}:{}",
                    a["network"].as_str().unwrap_or(""),
                    a["ip"].as_str().unwrap_or("")
                ),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Array(items) if field == "interfaces" => items
            .iter()
            .map(|i| {
                let nets: Vec<&str> = [&i["network"], &i["network6"]]
                    .iter()
                    .filter_map(|n| n.as_str())
                    .collect();
                let mut s = format!("{}={}", i["name"].as_str().unwrap_or(""), nets.join(","));
                if let Some(p) = i["params"].as_str().filter(|p| !p.is_empty()) {
                    s.push_str(&format!(" ({p})"));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Array(items) => items
            .iter()
            .map(|i| text("", i))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
    }
}

//! `luna plugin install|list|show|remove|test`, and binding values that name a plugin file
//! (`luna group change compute --partition raid1.rhai` installs it first).

use super::client::{CliError, Client};
use super::output::{Columns, Format, print_list, print_object, print_raw};
use super::seg;
use clap::Subcommand;
use serde_json::Value;
use std::path::{Path, PathBuf};

const PLUGIN_COLS: Columns = &[
    ("name", "name"),
    ("kind", "kind"),
    ("hooks", "hooks"),
    ("version", "version"),
    ("size", "size"),
    ("installed", "installed"),
];

#[derive(Subcommand)]
pub enum PluginCmd {
    /// Install a plugin file (.wasm component or .rhai script); replaces one of the same name.
    Install {
        /// The plugin file.
        file: PathBuf,
        /// Registry name (default: the file name without extension, `_` → `-`).
        #[arg(short, long)]
        name: Option<String>,
    },
    /// List installed plugins.
    List,
    /// Show a plugin and the groups/switches bound to it.
    Show { name: String },
    /// Remove a plugin no group or switch is bound to.
    #[command(visible_alias = "delete")]
    Remove { name: String },
    /// Run a hook of the plugin for a node and print what it returns.
    Test {
        name: String,
        #[arg(long)]
        node: String,
        /// partition, post-install, bmc-setup or power (status); needed for multi-hook scripts.
        #[arg(long)]
        hook: Option<String>,
        /// JSON config to run with (default: the node's group binding, else {}).
        #[arg(long)]
        config: Option<String>,
    },
}

pub async fn run(c: &Client, f: Format, cmd: PluginCmd) -> Result<(), CliError> {
    match cmd {
        PluginCmd::Install { file, name } => {
            let v = install(c, &file, name.as_deref()).await?;
            if f == Format::Table {
                println!("{}", installed_text(&v, &file));
            } else {
                print_raw(f, &v);
            }
        }
        PluginCmd::List => print_list(f, &c.get("/plugins").await?, PLUGIN_COLS),
        PluginCmd::Show { name } => {
            print_object(f, &c.get(&format!("/plugins/{}", seg(&name))).await?)
        }
        PluginCmd::Remove { name } => {
            let v = c.delete(&format!("/plugins/{}", seg(&name))).await?;
            if f == Format::Table {
                println!("removed plugin {name}");
            } else {
                print_raw(f, &v);
            }
        }
        PluginCmd::Test {
            name,
            node,
            hook,
            config,
        } => {
            let config =
                match config {
                    Some(s) => Some(serde_json::from_str::<Value>(&s).map_err(|e| {
                        CliError::new(3, format!("--config is not valid JSON: {e}"))
                    })?),
                    None => None,
                };
            let req = crate::service::PluginTest { node, hook, config };
            let v = c
                .post(&format!("/plugins/{}/test", seg(&name)), &req)
                .await?;
            if f == Format::Table {
                print_test_output(&v);
            } else {
                print_raw(f, &v);
            }
        }
    }
    Ok(())
}

async fn install(c: &Client, file: &Path, name: Option<&str>) -> Result<Value, CliError> {
    let bytes = std::fs::read(file).map_err(|e| {
        CliError::new(
            3,
            format!("cannot read plugin file {}: {e}", file.display()),
        )
    })?;
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut path = format!("/plugins?file={}", query_value(&file_name));
    if let Some(n) = name {
        path.push_str(&format!("&name={}", query_value(n)));
    }
    c.post_bytes(&path, bytes).await
}

fn installed_text(v: &Value, file: &Path) -> String {
    let sha = v["sha256"].as_str().unwrap_or("");
    let hooks: Vec<&str> = v["hooks"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!(
        "{} plugin {} from {} ({}, {}, {} bytes, sha256 {}){}",
        if v["replaced"] == Value::Bool(true) {
            "replaced"
        } else {
            "installed"
        },
        v["name"].as_str().unwrap_or(""),
        file.display(),
        v["kind"].as_str().unwrap_or(""),
        hooks.join("+"),
        v["size"],
        sha.get(..12).unwrap_or(sha),
        if v["replaced"] == Value::Bool(true) {
            "; bindings now use the new version"
        } else {
            ""
        }
    )
}

/// A binding value that is the path of a plugin file is installed first and bound by name.
pub async fn resolve_binding(
    c: &Client,
    value: Option<String>,
) -> Result<Option<String>, CliError> {
    let Some(v) = value else { return Ok(None) };
    let path = Path::new(&v);
    let is_plugin_file = (v.ends_with(".wasm") || v.ends_with(".rhai")) && path.is_file();
    if !is_plugin_file {
        return Ok(Some(v));
    }
    let installed = install(c, path, None).await?;
    eprintln!("{}", installed_text(&installed, path));
    Ok(installed["name"].as_str().map(str::to_string))
}

/// Percent-encodes a query value (file names may hold spaces or `&`).
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn print_test_output(v: &Value) {
    eprintln!(
        "# plugin {} hook {} for node {}",
        v["plugin"].as_str().unwrap_or(""),
        v["hook"].as_str().unwrap_or(""),
        v["node"].as_str().unwrap_or("")
    );
    let out = &v["output"];
    match out {
        Value::String(script) => print!("{script}"),
        Value::Object(plan) if plan.contains_key("script") => {
            print!("{}", plan["script"].as_str().unwrap_or(""));
            println!("# mounts:");
            for m in out["mounts"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                println!(
                    "#   {} {} {} {}",
                    m["source"].as_str().unwrap_or(""),
                    m["target"].as_str().unwrap_or(""),
                    m["fstype"].as_str().unwrap_or(""),
                    m["options"].as_str().unwrap_or("")
                );
            }
        }
        other => print_raw(Format::Json, other),
    }
}

//! The Rhai side: scripts define hook functions (`fn partition(node)`, `fn post_install(node,
//! layout)`, `fn bmc_setup(node)`, optionally taking the configuration as a last argument).
//! One engine with operation, call-depth, expression-depth, string, array and map limits; no
//! `eval`, no modules (the `no_module` feature removes `import`); ASTs compiled once per hash.

use crate::error::{PluginError, Result};
use luna_proto::plugin::Hook;
use rhai::{AST, CallFnOptions, Dynamic, Engine, EvalAltResult, Scope};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Hooks a script can provide: those that need no host capability.
const SCRIPT_HOOKS: [(Hook, usize); 3] = [
    (Hook::Partition, 1),
    (Hook::PostInstall, 2),
    (Hook::BmcSetup, 1),
];

pub struct RhaiLimits {
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
}

pub struct RhaiEngine {
    engine: Engine,
    asts: Mutex<HashMap<String, Arc<AST>>>,
}

/// A compiled script and the hooks it defines (with whether each takes the config argument).
#[derive(Clone)]
pub struct RhaiPlugin {
    ast: Arc<AST>,
    pub hooks: Vec<(Hook, bool)>,
    pub validates_config: bool,
    pub version: String,
}

impl RhaiEngine {
    pub fn new(limits: &RhaiLimits) -> Self {
        let mut engine = Engine::new();
        engine.set_max_operations(limits.max_operations);
        engine.set_max_call_levels(limits.max_call_levels);
        engine.set_max_expr_depths(64, 32);
        engine.set_max_string_size(limits.max_string_size);
        engine.set_max_array_size(limits.max_array_size);
        engine.set_max_map_size(limits.max_array_size);
        engine.disable_symbol("eval");
        engine.on_print(|text| tracing::info!(target: "luna::plugin::rhai", "{text}"));
        engine.on_debug(
            |text, _, pos| tracing::debug!(target: "luna::plugin::rhai", "{pos}: {text}"),
        );
        RhaiEngine {
            engine,
            asts: Mutex::new(HashMap::new()),
        }
    }

    pub fn load(&self, file: &str, sha256: &str, bytes: &[u8]) -> Result<RhaiPlugin> {
        let invalid = |reason: String| PluginError::Invalid {
            file: file.into(),
            reason,
        };
        let source = std::str::from_utf8(bytes)
            .map_err(|_| invalid("a Rhai script must be UTF-8 text".into()))?;
        let cached = self.lock().get(sha256).cloned();
        let ast = match cached {
            Some(ast) => ast,
            None => {
                let ast = Arc::new(
                    self.engine
                        .compile(source)
                        .map_err(|e| invalid(format!("Rhai syntax error: {e}")))?,
                );
                self.lock().insert(sha256.to_string(), ast.clone());
                ast
            }
        };
        let mut hooks = Vec::new();
        let mut validates_config = false;
        for f in ast.iter_functions() {
            if f.name == "validate_config" {
                validates_config = f.params.len() == 1;
                continue;
            }
            let Some((hook, arity)) = SCRIPT_HOOKS
                .iter()
                .find(|(h, _)| h.rhai_function() == f.name)
            else {
                continue;
            };
            if f.params.len() != *arity && f.params.len() != arity + 1 {
                return Err(invalid(format!(
                    "fn {}({}) has the wrong arguments: expected ({}) or ({}, config)",
                    f.name,
                    f.params.join(", "),
                    hook_params(*hook),
                    hook_params(*hook)
                )));
            }
            hooks.push((*hook, f.params.len() == arity + 1));
        }
        if hooks.is_empty() {
            return Err(invalid(
                "the script defines no hook; define fn partition(node), fn post_install(node, layout) or fn bmc_setup(node)".into(),
            ));
        }
        hooks.sort();
        Ok(RhaiPlugin {
            ast,
            hooks,
            validates_config,
            version: declared_version(source),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AST>>> {
        self.asts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Call `hook` with `args` (and the configuration when the function takes it).
    pub fn call(
        &self,
        plugin: &RhaiPlugin,
        who: (&str, Hook, &str),
        mut args: Vec<Dynamic>,
        config: Dynamic,
    ) -> Result<Dynamic> {
        let (name, hook, subject) = who;
        let Some((_, takes_config)) = plugin.hooks.iter().find(|(h, _)| *h == hook) else {
            return Err(PluginError::WrongHook {
                plugin: name.into(),
                hook,
                provides: plugin
                    .hooks
                    .iter()
                    .map(|(h, _)| h.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if *takes_config {
            args.push(config);
        }
        self.invoke(plugin, hook.rhai_function(), args)
            .map_err(|e| error_of(*e, name, hook, subject))
    }

    /// Run the script's `validate_config(config)` if it has one.
    pub fn validate_config(&self, plugin: &RhaiPlugin, name: &str, config: Dynamic) -> Result<()> {
        if !plugin.validates_config {
            return Ok(());
        }
        match self.invoke(plugin, "validate_config", vec![config]) {
            Ok(_) => Ok(()),
            Err(e) => Err(PluginError::Config {
                plugin: name.into(),
                message: match innermost(*e) {
                    EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
                    other => other.to_string(),
                },
            }),
        }
    }

    fn invoke(
        &self,
        plugin: &RhaiPlugin,
        function: &str,
        args: Vec<Dynamic>,
    ) -> std::result::Result<Dynamic, Box<EvalAltResult>> {
        // eval_ast(false): top-level statements ran at install time only; a call runs the function.
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        self.engine
            .call_fn_with_options(options, &mut Scope::new(), &plugin.ast, function, args)
    }
}

fn hook_params(hook: Hook) -> &'static str {
    match hook {
        Hook::PostInstall => "node, layout",
        _ => "node",
    }
}

/// A `throw` inside a helper function arrives wrapped once per call level: unwrap to the cause.
fn innermost(mut e: EvalAltResult) -> EvalAltResult {
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = e {
        e = *inner;
    }
    e
}

fn error_of(e: EvalAltResult, plugin: &str, hook: Hook, subject: &str) -> PluginError {
    let (plugin, subject) = (plugin.to_string(), subject.to_string());
    match innermost(e) {
        EvalAltResult::ErrorTooManyOperations(_) => PluginError::CpuBudget {
            plugin,
            hook,
            subject,
        },
        // `throw "reason"` is how a script reports its own failure.
        EvalAltResult::ErrorRuntime(value, _) => PluginError::Failed {
            plugin,
            hook,
            subject,
            message: value.to_string(),
        },
        other => PluginError::Trap {
            plugin,
            hook,
            subject,
            message: other.to_string(),
        },
    }
}

/// `// version: 1.2.0` anywhere in the script's leading comments.
fn declared_version(source: &str) -> String {
    source
        .lines()
        .map(str::trim)
        .take_while(|l| l.starts_with("//") || l.is_empty())
        .find_map(|l| {
            l.trim_start_matches('/')
                .trim()
                .strip_prefix("version:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "0.1.0".into())
}

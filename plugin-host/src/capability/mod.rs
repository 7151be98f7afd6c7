//! Host capabilities a plugin world may import. Each is scoped to the one device the call is
//! about: the SNMP capability reaches only the switch being discovered, IPMI and HTTP only the
//! node's BMC. Credentials come from the host side and are never logged.

pub mod http;
pub mod ipmi;
pub mod snmp;

use luna_proto::plugin::{BmcSettings, SwitchContext};
use std::time::Duration;

/// What a single call may reach.
#[derive(Clone, Default)]
pub enum Scope {
    /// Hooks that reach nothing (partition, post-install, bmc setup).
    #[default]
    Nothing,
    Switch(SwitchContext),
    Bmc(Option<BmcSettings>),
}

/// Shared, long-lived parts of the capabilities.
pub struct Capabilities {
    pub http: reqwest::Client,
    pub ipmitool: String,
    pub timeout: Duration,
}

impl Capabilities {
    pub fn new(timeout: Duration, ipmitool: String, accept_invalid_bmc_certs: bool) -> Self {
        // Redirects are not followed: a redirect could lead the plugin away from its BMC.
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(accept_invalid_bmc_certs)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Capabilities {
            http,
            ipmitool,
            timeout,
        }
    }
}

/// Capabilities are synchronous for the guest; the async clients run on the caller's runtime
/// (calls execute on a `spawn_blocking` thread, where blocking on it is allowed).
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output, String> {
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|_| "this capability needs the host's tokio runtime".to_string())?;
    Ok(handle.block_on(fut))
}

/// Addresses compare as written, ignoring IPv6 brackets and case.
pub(crate) fn same_host(a: &str, b: &str) -> bool {
    let trim = |s: &str| {
        s.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    };
    trim(a) == trim(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use luna_proto::plugin::BmcSettings;

    fn bmc_scope() -> Scope {
        Scope::Bmc(Some(BmcSettings {
            address: Some("10.99.0.5".into()),
            port: Some(8000),
            user: "admin".into(),
            password: "secret".into(),
            ..Default::default()
        }))
    }

    fn caps() -> Capabilities {
        Capabilities::new(Duration::from_secs(1), "ipmitool".into(), true)
    }

    #[test]
    fn ipmi_reaches_only_the_bmc() {
        let err = ipmi::run(
            &bmc_scope(),
            "ipmitool",
            "10.99.0.6",
            &["chassis".into()],
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.contains("IPMI to 10.99.0.6 denied"), "{err}");
        let err = ipmi::run(
            &bmc_scope(),
            "ipmitool",
            "10.99.0.5",
            &["chassis".into(), "-H".into(), "10.99.0.6".into()],
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.contains("argument '-H' denied"), "{err}");
        let err = ipmi::run(
            &Scope::Nothing,
            "ipmitool",
            "10.99.0.5",
            &[],
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.contains("only available to power plugins"), "{err}");
    }

    #[test]
    fn http_reaches_only_the_bmc_port_and_cannot_set_auth() {
        let request =
            |url: &str, headers: Vec<(String, String)>| crate::wasm::bindings::http::Request {
                method: "GET".into(),
                url: url.into(),
                headers,
                body: None,
            };
        for url in [
            "http://10.99.0.6:8000/redfish/v1",
            "http://10.99.0.5:8001/redfish/v1",
            "http://10.99.0.5/redfish/v1",
            "file:///etc/passwd",
        ] {
            let err = http::send(&bmc_scope(), &caps(), request(url, vec![])).unwrap_err();
            assert!(err.contains("denied"), "{url}: {err}");
        }
        let err = http::send(
            &bmc_scope(),
            &caps(),
            request(
                "http://10.99.0.5:8000/",
                vec![("Authorization".into(), "Basic x".into())],
            ),
        )
        .unwrap_err();
        assert!(err.contains("set by the host"), "{err}");
    }

    #[test]
    fn snmp_reaches_only_the_switch() {
        let scope = Scope::Switch(luna_proto::plugin::SwitchContext {
            name: "sw01".into(),
            address: "10.99.0.1".into(),
            port: None,
            community: "public".into(),
        });
        let err = snmp::request(
            &scope,
            "10.99.0.2",
            snmp::Operation::Walk("1.3.6".into()),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "SNMP to 10.99.0.2 denied: this plugin may only reach switch sw01 at 10.99.0.1"
        );
        let err = snmp::request(
            &bmc_scope(),
            "10.99.0.5",
            snmp::Operation::Walk("1.3.6".into()),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.contains("only available to switch-discovery"), "{err}");
    }
}

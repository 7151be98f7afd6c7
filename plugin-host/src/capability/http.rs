//! HTTP(S) towards the node's BMC (Redfish). The host adds basic auth from the BMC settings;
//! the plugin cannot set its own Authorization header nor reach another host or port.

use super::{Capabilities, Scope, block_on, same_host};
use crate::wasm::bindings::http::{Request, Response};

/// Bodies larger than this are refused (a BMC answer is a few KiB).
const MAX_BODY: usize = 4 << 20;

pub fn send(scope: &Scope, caps: &Capabilities, request: Request) -> Result<Response, String> {
    let Scope::Bmc(bmc) = scope else {
        return Err("HTTP is only available to power plugins".into());
    };
    let Some(bmc) = bmc else {
        return Err("the node has no BMC settings; set them on its group's bmcsetup".into());
    };
    let Some(address) = bmc.address.as_deref() else {
        return Err("the node's BMC has no address".into());
    };
    let url = reqwest::Url::parse(&request.url)
        .map_err(|e| format!("'{}' is not a URL: {e}", request.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "HTTP to {} denied: only http and https",
            request.url
        ));
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default();
    let port_ok = match bmc.port {
        Some(p) => port == Some(p),
        None => matches!(port, Some(80 | 443)),
    };
    if !same_host(host, address) || !port_ok {
        return Err(format!(
            "HTTP to {} denied: this plugin may only reach the node's BMC at {address}{}",
            request.url,
            bmc.port.map(|p| format!(":{p}")).unwrap_or_default()
        ));
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("'{}' is not an HTTP method", request.method))?;
    let mut builder = caps
        .http
        .request(method, url.clone())
        .basic_auth(&bmc.user, Some(&bmc.password));
    for (name, value) in &request.headers {
        if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("host") {
            return Err(format!("header {name} is set by the host"));
        }
        builder = builder.header(name, value);
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    block_on(async move {
        let response = builder
            .send()
            .await
            .map_err(|e| format!("HTTP {} {url}: {}", request.method, e.without_url()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("HTTP {url}: reading the body: {}", e.without_url()))?;
        if bytes.len() > MAX_BODY {
            return Err(format!("HTTP {url}: body larger than {MAX_BODY} bytes"));
        }
        Ok(Response {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    })?
}

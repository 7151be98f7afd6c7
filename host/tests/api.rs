//! The REST API directly: OpenAPI document, unknown fields, auth, status codes.

mod common;
use common::*;
use serde_json::{Value, json};

/// A blocking facade over the async client (the daemon runs as a separate process anyway).
struct Http {
    rt: tokio::runtime::Runtime,
    c: reqwest::Client,
}

struct Req<'a> {
    http: &'a Http,
    b: reqwest::RequestBuilder,
}

struct Resp {
    status: reqwest::StatusCode,
    body: String,
}

impl Resp {
    fn status(&self) -> reqwest::StatusCode {
        self.status
    }
    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.body)
    }
}

impl Http {
    fn get(&self, url: String) -> Req<'_> {
        Req {
            http: self,
            b: self.c.get(url),
        }
    }
    fn post(&self, url: String) -> Req<'_> {
        Req {
            http: self,
            b: self.c.post(url),
        }
    }
    fn request(&self, m: reqwest::Method, url: &str) -> Req<'_> {
        Req {
            http: self,
            b: self.c.request(m, url),
        }
    }
}

impl Req<'_> {
    fn bearer_auth(self, t: &str) -> Self {
        Req {
            b: self.b.bearer_auth(t),
            ..self
        }
    }
    fn json(self, v: &Value) -> Self {
        Req {
            b: self.b.json(v),
            ..self
        }
    }
    fn header(self, k: &str, v: &str) -> Self {
        Req {
            b: self.b.header(k, v),
            ..self
        }
    }
    fn body(self, s: &'static str) -> Self {
        Req {
            b: self.b.body(s),
            ..self
        }
    }
    fn send(self) -> Result<Resp, reqwest::Error> {
        self.http.rt.block_on(async {
            let r = self.b.send().await?;
            let status = r.status();
            Ok(Resp {
                status,
                body: r.text().await?,
            })
        })
    }
}

fn client() -> Http {
    Http {
        rt: tokio::runtime::Runtime::new().unwrap(),
        c: reqwest::Client::new(),
    }
}

#[test]
fn openapi_lists_every_served_route_and_errors_are_json() {
    let d = Daemon::start();
    let doc: Value = client()
        .get(format!("{}/api/v1/openapi.json", d.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{}", paths.len());
    assert!(doc["components"]["schemas"]["NodeAdd"]["properties"]["group"].is_object());
    // Every documented route is served (no 404 from the fallback, 405 or missing route).
    let token = d.token();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url = format!(
                "{}{}",
                d.url,
                path.replace("{name}", "nosuch").replace("{iface}", "eth9")
            );
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = client()
                .request(m, &url)
                .bearer_auth(&token)
                .json(&json!({}))
                .send()
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().unwrap_or(Value::Null);
            assert_ne!(status, 405, "{method} {path}");
            assert!(
                !body["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("no such API endpoint"),
                "{method} {path} is documented but not served"
            );
        }
    }
}

#[test]
fn unknown_fields_and_missing_tokens_are_refused() {
    let d = Daemon::start();
    let token = d.token();
    let http = client();
    let r = http
        .post(format!("{}/api/v1/cluster", d.url))
        .bearer_auth(&token)
        .json(&json!({ "frontend_adress": "10.0.0.1" }))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["kind"], "invalid");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `frontend_adress`"),
        "{body}"
    );

    let r = http
        .post(format!("{}/api/v1/cluster", d.url))
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .post(format!("{}/api/v1/cluster", d.url))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let r = http
        .get(format!("{}/api/v1/nodes/node001", d.url))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = http
        .get(format!("{}/api/v1/nodes?colour=red", d.url))
        .send()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        400,
        "unknown query parameters are refused too"
    );
    // Malformed JSON is a 400 with our error shape, not a bare text answer.
    let r = http
        .post(format!("{}/api/v1/networks", d.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().unwrap()["error"]["kind"], "invalid");
}

//! A minimal HTTP/1.0 server standing in for the daemon's boot endpoint: `/boot/ipxe` renders
//! luna-boot's scripts, `/boot/files/*` serves kernel and initramfs. Every request path is logged.

use luna_boot::ipxe::{
    InstallBoot, InstallMode, boot_request, chain_script, install_script, unknown_script,
};
use luna_proto::boot::MacAddress;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone)]
pub struct BootSite {
    pub luna_url: String,
    pub nodes: HashMap<MacAddress, String>,
    pub files: HashMap<String, Arc<Vec<u8>>>,
    pub kernel_options: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl BootSite {
    pub async fn serve(self, listener: TcpListener) {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let site = self.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 2048];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                site.log.lock().unwrap().push(path.clone());
                let (status, body) = site.respond(&path);
                let head = format!(
                    "HTTP/1.0 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    }

    fn respond(&self, path: &str) -> (&'static str, Vec<u8>) {
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        if let Some(name) = route.strip_prefix("/boot/files/") {
            return match self.files.get(name) {
                Some(data) => ("200 OK", data.to_vec()),
                None => ("404 Not Found", b"not found".to_vec()),
            };
        }
        if route != "/boot/ipxe" {
            return ("404 Not Found", b"not found".to_vec());
        }
        let params: HashMap<String, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), percent_decode(v)))
            .collect();
        let get = |k: &str| params.get(k).map(String::as_str);
        let script = if get("mac").is_none() {
            chain_script(&self.luna_url)
        } else {
            match boot_request(
                get("mac"),
                get("macs"),
                get("serial"),
                get("platform"),
                get("claim"),
            ) {
                Ok(req) => match req.mac.and_then(|m| self.nodes.get(&m).map(|n| (m, n))) {
                    Some((mac, node)) => install_script(&InstallBoot {
                        luna_url: self.luna_url.clone(),
                        node: node.clone(),
                        mac,
                        kernel_url: format!("{}/boot/files/vmlinuz", self.luna_url),
                        initrd_url: format!("{}/boot/files/initramfs", self.luna_url),
                        kernel_options: self.kernel_options.clone(),
                        mode: InstallMode::Install,
                    }),
                    None => unknown_script(&self.luna_url, req.mac),
                },
                Err(e) => return ("400 Bad Request", e.to_string().into_bytes()),
            }
        };
        match script {
            Ok(s) => ("200 OK", s.into_bytes()),
            Err(e) => ("500 Internal Server Error", e.to_string().into_bytes()),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if bytes[i] == b'%'
            && let Some(b) = hex
        {
            out.push(b);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! The kernel command line the boot script passes: `luna.url=… luna.node=… luna.mac=…`
//! (`BOOTIF=01-aa-bb-…`, as PXE loaders write it, also names the boot MAC).

/// What the kernel command line says about this boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelArgs {
    pub url: Option<String>,
    pub node: Option<String>,
    pub mac: Option<String>,
}

pub fn parse(cmdline: &str) -> KernelArgs {
    let mut args = KernelArgs::default();
    for word in cmdline.split_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        let value = value.trim_matches('"');
        if value.is_empty() {
            continue;
        }
        match key {
            "luna.url" => args.url = Some(value.trim_end_matches('/').to_string()),
            "luna.node" => args.node = Some(value.to_string()),
            "luna.mac" => args.mac = Some(value.to_ascii_lowercase().replace('-', ":")),
            // pxelinux style: hardware type 01 (Ethernet), then the MAC with dashes.
            "BOOTIF" if args.mac.is_none() => {
                if let Some(mac) = value.strip_prefix("01-") {
                    args.mac = Some(mac.to_ascii_lowercase().replace('-', ":"));
                }
            }
            _ => {}
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_luna_arguments_and_ignores_the_rest() {
        let a = parse(
            "console=ttyS0 luna.url=http://10.141.255.254:7050/ luna.node=node001 luna.mac=52-54-00-AB-CD-EF quiet",
        );
        assert_eq!(a.url.as_deref(), Some("http://10.141.255.254:7050"));
        assert_eq!(a.node.as_deref(), Some("node001"));
        assert_eq!(a.mac.as_deref(), Some("52:54:00:ab:cd:ef"));
    }

    #[test]
    fn bootif_names_the_mac_when_luna_mac_is_absent() {
        let a = parse("BOOTIF=01-52-54-00-12-34-56 luna.url=http://h:1");
        assert_eq!(a.mac.as_deref(), Some("52:54:00:12:34:56"));
        assert_eq!(a.node, None);
        assert_eq!(parse("").url, None);
    }
}

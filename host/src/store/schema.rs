//! Versioned schema migrations. A migration runs once, in one transaction, and records its version;
//! released migrations are never edited, only appended to.

/// (version, SurrealQL). Version N+1 assumes N has run.
pub const MIGRATIONS: &[(u32, &str)] = &[(1, V1), (2, V2), (3, V3), (4, V4), (5, V5), (6, V6)];

const V1: &str = r#"
DEFINE TABLE cluster SCHEMAFULL;
DEFINE FIELD name ON cluster TYPE string;
DEFINE FIELD nodeprefix ON cluster TYPE string;
DEFINE FIELD nodedigits ON cluster TYPE int;
DEFINE FIELD frontend_address ON cluster TYPE option<string>;
DEFINE FIELD frontend_port ON cluster TYPE int;
DEFINE FIELD tracker_interval ON cluster TYPE int;
DEFINE FIELD tracker_min_interval ON cluster TYPE int;
DEFINE FIELD tracker_maxpeers ON cluster TYPE int;
DEFINE FIELD torrent_port_min ON cluster TYPE int;
DEFINE FIELD torrent_port_max ON cluster TYPE int;
DEFINE FIELD dns_include ON cluster TYPE option<string>;
DEFINE FIELD comment ON cluster TYPE option<string>;

DEFINE TABLE network SCHEMAFULL;
DEFINE FIELD name ON network TYPE string;
DEFINE FIELD cidr ON network TYPE string;
DEFINE FIELD ns_hostname ON network TYPE string;
DEFINE FIELD ns_ip ON network TYPE string;
DEFINE FIELD gateway ON network TYPE option<string>;
DEFINE FIELD zone_extra ON network TYPE option<string>;
DEFINE FIELD comment ON network TYPE option<string>;
DEFINE INDEX network_name ON network FIELDS name UNIQUE;
DEFINE INDEX network_cidr ON network FIELDS cidr UNIQUE;

DEFINE TABLE osimage SCHEMAFULL;
DEFINE FIELD name ON osimage TYPE string;
DEFINE FIELD path ON osimage TYPE string;
DEFINE FIELD kernver ON osimage TYPE option<string>;
DEFINE FIELD kernels ON osimage TYPE array<string>;
DEFINE FIELD kernopts ON osimage TYPE string;
DEFINE FIELD modules ON osimage TYPE array<string>;
DEFINE FIELD drivers ON osimage TYPE array<string>;
DEFINE FIELD grab_exclude ON osimage TYPE array<string>;
DEFINE FIELD comment ON osimage TYPE option<string>;
DEFINE INDEX osimage_name ON osimage FIELDS name UNIQUE;

DEFINE TABLE bmcsetup SCHEMAFULL;
DEFINE FIELD name ON bmcsetup TYPE string;
DEFINE FIELD user ON bmcsetup TYPE string;
DEFINE FIELD password ON bmcsetup TYPE string;
DEFINE FIELD userid ON bmcsetup TYPE int;
DEFINE FIELD netchannel ON bmcsetup TYPE int;
DEFINE FIELD mgmtchannel ON bmcsetup TYPE int;
DEFINE FIELD comment ON bmcsetup TYPE option<string>;
DEFINE INDEX bmcsetup_name ON bmcsetup FIELDS name UNIQUE;

DEFINE TABLE group SCHEMAFULL;
DEFINE FIELD name ON group TYPE string;
DEFINE FIELD osimage ON group TYPE string;
DEFINE FIELD bmcsetup ON group TYPE option<string>;
DEFINE FIELD domain ON group TYPE option<string>;
DEFINE FIELD interfaces ON group TYPE array<object>;
DEFINE FIELD interfaces[*].name ON group TYPE string;
DEFINE FIELD interfaces[*].network ON group TYPE option<string>;
DEFINE FIELD interfaces[*].network6 ON group TYPE option<string>;
DEFINE FIELD interfaces[*].params ON group TYPE string;
DEFINE FIELD prescript ON group TYPE string;
DEFINE FIELD partscript ON group TYPE string;
DEFINE FIELD postscript ON group TYPE string;
DEFINE FIELD torrent_if ON group TYPE option<string>;
DEFINE FIELD partition ON group TYPE option<object> FLEXIBLE;
DEFINE FIELD post_install ON group TYPE option<object> FLEXIBLE;
DEFINE FIELD bmc ON group TYPE option<object> FLEXIBLE;
DEFINE FIELD power ON group TYPE option<object> FLEXIBLE;
DEFINE FIELD comment ON group TYPE option<string>;
DEFINE INDEX group_name ON group FIELDS name UNIQUE;
DEFINE INDEX group_osimage ON group FIELDS osimage;

DEFINE TABLE node SCHEMAFULL;
DEFINE FIELD name ON node TYPE string;
DEFINE FIELD group ON node TYPE string;
DEFINE FIELD mac ON node TYPE option<string>;
DEFINE FIELD switch ON node TYPE option<string>;
DEFINE FIELD port ON node TYPE option<string>;
DEFINE FIELD localboot ON node TYPE bool;
DEFINE FIELD service ON node TYPE bool;
DEFINE FIELD setupbmc ON node TYPE bool;
DEFINE FIELD comment ON node TYPE option<string>;
DEFINE INDEX node_name ON node FIELDS name UNIQUE;
DEFINE INDEX node_mac ON node FIELDS mac UNIQUE;
DEFINE INDEX node_group ON node FIELDS group;

DEFINE TABLE switch SCHEMAFULL;
DEFINE FIELD name ON switch TYPE string;
DEFINE FIELD network ON switch TYPE string;
DEFINE FIELD ip ON switch TYPE string;
DEFINE FIELD read ON switch TYPE string;
DEFINE FIELD rw ON switch TYPE string;
DEFINE FIELD oid ON switch TYPE string;
DEFINE FIELD uplinks ON switch TYPE array<string>;
DEFINE FIELD discovery ON switch TYPE option<object> FLEXIBLE;
DEFINE FIELD comment ON switch TYPE option<string>;
DEFINE INDEX switch_name ON switch FIELDS name UNIQUE;

DEFINE TABLE otherdev SCHEMAFULL;
DEFINE FIELD name ON otherdev TYPE string;
DEFINE FIELD comment ON otherdev TYPE option<string>;
DEFINE INDEX otherdev_name ON otherdev FIELDS name UNIQUE;

DEFINE TABLE ip SCHEMAFULL;
DEFINE FIELD network ON ip TYPE string;
DEFINE FIELD ip ON ip TYPE string;
DEFINE FIELD owner_kind ON ip TYPE string ASSERT $value IN ['node', 'switch', 'otherdev', 'nameserver', 'reserved'];
DEFINE FIELD owner ON ip TYPE string;
DEFINE FIELD interface ON ip TYPE string;
DEFINE INDEX ip_unique ON ip FIELDS network, ip UNIQUE;
DEFINE INDEX ip_owner ON ip FIELDS owner_kind, owner;
"#;

/// Node install status and hardware inventory, as the agents report them.
const V6: &str = r#"
DEFINE TABLE node_status SCHEMAFULL;
DEFINE FIELD name ON node_status TYPE string;
DEFINE FIELD current ON node_status TYPE option<object> FLEXIBLE;
DEFINE FIELD steps ON node_status TYPE array<object> FLEXIBLE;
DEFINE FIELD updated ON node_status TYPE int;
DEFINE INDEX node_status_name ON node_status FIELDS name UNIQUE;

DEFINE TABLE node_inventory SCHEMAFULL;
DEFINE FIELD name ON node_inventory TYPE string;
DEFINE FIELD inventory ON node_inventory TYPE object FLEXIBLE;
DEFINE FIELD updated ON node_inventory TYPE int;
DEFINE INDEX node_inventory_name ON node_inventory FIELDS name UNIQUE;
"#;

/// v4 (distribution): what the last `luna osimage pack` produced (sizes, info-hash, boot files).
const V4: &str = r#"
DEFINE FIELD pack ON osimage TYPE option<object> FLEXIBLE;
"#;

/// Boot services (H-boot): a network's DHCP range, dynamic DHCP leases, machines that booted
/// without matching a node, and the DNS zone serial.
const V3: &str = r#"
DEFINE FIELD dhcp_range ON network TYPE option<string>;

DEFINE TABLE lease SCHEMAFULL;
DEFINE FIELD name ON lease TYPE string;
DEFINE FIELD ip ON lease TYPE string;
DEFINE FIELD expires_unix ON lease TYPE int;
DEFINE FIELD client_hostname ON lease TYPE option<string>;
DEFINE INDEX lease_name ON lease FIELDS name UNIQUE;

DEFINE TABLE unknown SCHEMAFULL;
DEFINE FIELD name ON unknown TYPE string;
DEFINE FIELD macs ON unknown TYPE array<string>;
DEFINE FIELD serial ON unknown TYPE option<string>;
DEFINE FIELD platform ON unknown TYPE option<string>;
DEFINE FIELD interface ON unknown TYPE option<string>;
DEFINE FIELD first_seen_unix ON unknown TYPE int;
DEFINE FIELD last_seen_unix ON unknown TYPE int;
DEFINE INDEX unknown_name ON unknown FIELDS name UNIQUE;

DEFINE TABLE dns_serial SCHEMAFULL;
DEFINE FIELD serial ON dns_serial TYPE int;
DEFINE FIELD fingerprint ON dns_serial TYPE string;
"#;

/// The plugin registry (H-plugins): the bytes are kept hex-encoded next to what install learnt.
const V2: &str = r#"
DEFINE TABLE plugin SCHEMAFULL;
DEFINE FIELD name ON plugin TYPE string;
DEFINE FIELD kind ON plugin TYPE string ASSERT $value IN ['wasm', 'rhai'];
DEFINE FIELD hooks ON plugin TYPE array<string>;
DEFINE FIELD world ON plugin TYPE option<string>;
DEFINE FIELD version ON plugin TYPE string;
DEFINE FIELD sha256 ON plugin TYPE string;
DEFINE FIELD size ON plugin TYPE int;
DEFINE FIELD file_name ON plugin TYPE string;
DEFINE FIELD installed ON plugin TYPE string;
DEFINE FIELD bytes ON plugin TYPE string;
DEFINE INDEX plugin_name ON plugin FIELDS name UNIQUE;
"#;

/// Switch-port discovery and power control: the SNMP port of a switch and the port the host uses
/// to reach a bmcsetup profile's BMCs (both default to the protocol's own when unset).
const V5: &str = r#"
DEFINE FIELD snmp_port ON switch TYPE option<int>;
DEFINE FIELD port ON bmcsetup TYPE option<int>;
"#;

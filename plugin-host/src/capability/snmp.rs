//! SNMP v2c (csnmp) towards the switch being discovered, and nothing else.

use super::{Scope, block_on, same_host};
use crate::wasm::bindings::snmp::{Value, Varbind};
use csnmp::message::BindingValue;
use csnmp::{ObjectIdentifier, ObjectValue, Snmp2cClient, SnmpClientError};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub enum Operation {
    Get(Vec<String>),
    Walk(String),
    BulkWalk(String, u32),
}

pub fn request(
    scope: &Scope,
    target: &str,
    op: Operation,
    timeout: Duration,
) -> Result<Vec<Varbind>, String> {
    let Scope::Switch(switch) = scope else {
        return Err("SNMP is only available to switch-discovery plugins".into());
    };
    if !same_host(target, &switch.address) {
        return Err(format!(
            "SNMP to {target} denied: this plugin may only reach switch {} at {}",
            switch.name, switch.address
        ));
    }
    let ip: IpAddr = switch
        .address
        .trim_matches(['[', ']'])
        .parse()
        .map_err(|_| {
            format!(
                "switch {} has address '{}', which is not an IP address",
                switch.name, switch.address
            )
        })?;
    let addr = SocketAddr::new(ip, switch.port.unwrap_or(161));
    let community = switch.community.clone().into_bytes();
    let parse = |oid: &str| {
        oid.trim_start_matches('.')
            .parse::<ObjectIdentifier>()
            .map_err(|e| format!("'{oid}' is not a numeric OID: {e}"))
    };
    let op = match op {
        Operation::Get(oids) => Op::Get(oids.iter().map(|o| parse(o)).collect::<Result<_, _>>()?),
        Operation::Walk(oid) => Op::Walk(parse(&oid)?),
        Operation::BulkWalk(oid, reps) => Op::BulkWalk(parse(&oid)?, reps.clamp(1, 100)),
    };
    let result = block_on(async move {
        let bind: SocketAddr = if ip.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let client = Snmp2cClient::new(addr, community, Some(bind), Some(timeout), 1)
            .await
            .map_err(|e| format!("SNMP to {addr}: {e}"))?;
        let values: BTreeMap<ObjectIdentifier, ObjectValue> = match op {
            Op::Get(oids) => client.get_multiple(oids).await,
            Op::Walk(oid) => walk(&client, oid).await,
            Op::BulkWalk(oid, reps) => walk_bulk(&client, oid, reps).await,
        }
        .map_err(|e| format!("SNMP to {addr}: {e}"))?;
        Ok::<_, String>(values)
    })??;
    Ok(result
        .into_iter()
        .map(|(oid, value)| Varbind {
            oid: oid.to_string(),
            value: convert(value),
        })
        .collect())
}

/// GETNEXT walk. csnmp's own `walk` fails when the subtree is the last one of the agent's MIB
/// view (the final answer, endOfMibView on the same OID, is reported as a "preceding value"), so
/// the end of the view is recognised here.
async fn walk(
    client: &Snmp2cClient,
    top: ObjectIdentifier,
) -> Result<BTreeMap<ObjectIdentifier, ObjectValue>, SnmpClientError> {
    let mut found = BTreeMap::new();
    let mut current = top;
    loop {
        match client.get_next(current).await {
            Ok((oid, value)) => {
                if !top.is_prefix_of_or_equal(&oid) || oid <= current {
                    break;
                }
                found.insert(oid, value);
                current = oid;
            }
            Err(SnmpClientError::FailedBinding { binding })
                if matches!(binding.value, BindingValue::EndOfMibView) =>
            {
                break;
            }
            Err(SnmpClientError::PrecedingValue { obtained, .. })
                if obtained
                    .iter()
                    .all(|b| matches!(b.value, BindingValue::EndOfMibView)) =>
            {
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// GETBULK walk. Like csnmp's `walk`, its `walk_bulk` fails when the subtree ends the agent's MIB
/// view (an answer made only of endOfMibView is reported as a "preceding value"), losing what was
/// already read; here that answer ends the walk.
async fn walk_bulk(
    client: &Snmp2cClient,
    top: ObjectIdentifier,
    max_repetitions: u32,
) -> Result<BTreeMap<ObjectIdentifier, ObjectValue>, SnmpClientError> {
    let mut found = BTreeMap::new();
    let mut current = top;
    loop {
        match client.get_bulk(&[current], 0, max_repetitions).await {
            Ok(answer) => {
                let before = current;
                let mut left_subtree = false;
                for (oid, value) in answer.values {
                    if !top.is_prefix_of_or_equal(&oid) {
                        left_subtree = true;
                        break;
                    }
                    found.insert(oid, value);
                    current = oid;
                }
                if left_subtree || answer.end_of_mib_view || current <= before {
                    break;
                }
            }
            Err(SnmpClientError::PrecedingValue { obtained, .. })
                if obtained
                    .iter()
                    .all(|b| matches!(b.value, BindingValue::EndOfMibView)) =>
            {
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

enum Op {
    Get(Vec<ObjectIdentifier>),
    Walk(ObjectIdentifier),
    BulkWalk(ObjectIdentifier, u32),
}

fn convert(value: ObjectValue) -> Value {
    match value {
        ObjectValue::Integer(i) => Value::Integer(i.into()),
        ObjectValue::String(s) => Value::Octets(s),
        ObjectValue::ObjectId(o) => Value::ObjectId(o.to_string()),
        ObjectValue::IpAddress(a) => Value::IpAddress(a.to_string()),
        ObjectValue::Counter32(c) => Value::Counter32(c),
        ObjectValue::Unsigned32(u) => Value::Unsigned32(u),
        ObjectValue::TimeTicks(t) => Value::Timeticks(t),
        ObjectValue::Opaque(o) => Value::Opaque(o),
        ObjectValue::Counter64(c) => Value::Counter64(c),
    }
}

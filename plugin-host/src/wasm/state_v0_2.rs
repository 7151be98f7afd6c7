//! The host interfaces of `luna:provision@0.2.0`. They are unchanged from 0.1 but carry their own
//! generated types (the version is part of every instance name), so each call converts to the
//! 0.1 types and runs the 0.1 implementation in `state.rs`: one implementation of every capability.

use super::bindings::{v0_1::luna::provision as old, v0_2::luna::provision as new};
use super::state::CallState;

impl new::log::Host for CallState {
    fn log(&mut self, level: new::log::Level, message: String) {
        let level = match level {
            new::log::Level::Debug => old::log::Level::Debug,
            new::log::Level::Info => old::log::Level::Info,
            new::log::Level::Warn => old::log::Level::Warn,
            new::log::Level::Error => old::log::Level::Error,
        };
        old::log::Host::log(self, level, message)
    }
}

impl new::config::Host for CallState {
    fn get(&mut self) -> String {
        old::config::Host::get(self)
    }
}

impl new::ipmi::Host for CallState {
    fn run(&mut self, target: String, args: Vec<String>) -> Result<String, String> {
        old::ipmi::Host::run(self, target, args)
    }
}

impl new::http::Host for CallState {
    fn send(&mut self, request: new::http::Request) -> Result<new::http::Response, String> {
        let request = old::http::Request {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
        };
        old::http::Host::send(self, request).map(|r| new::http::Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
    }
}

impl new::snmp::Host for CallState {
    fn get(
        &mut self,
        target: String,
        oids: Vec<String>,
    ) -> Result<Vec<new::snmp::Varbind>, String> {
        old::snmp::Host::get(self, target, oids).map(varbinds)
    }

    fn walk(&mut self, target: String, oid: String) -> Result<Vec<new::snmp::Varbind>, String> {
        old::snmp::Host::walk(self, target, oid).map(varbinds)
    }

    fn bulk_walk(
        &mut self,
        target: String,
        oid: String,
        max_repetitions: u32,
    ) -> Result<Vec<new::snmp::Varbind>, String> {
        old::snmp::Host::bulk_walk(self, target, oid, max_repetitions).map(varbinds)
    }
}

fn varbinds(list: Vec<old::snmp::Varbind>) -> Vec<new::snmp::Varbind> {
    use new::snmp::Value as N;
    use old::snmp::Value as O;
    list.into_iter()
        .map(|v| new::snmp::Varbind {
            oid: v.oid,
            value: match v.value {
                O::Integer(i) => N::Integer(i),
                O::Octets(b) => N::Octets(b),
                O::ObjectId(o) => N::ObjectId(o),
                O::IpAddress(a) => N::IpAddress(a),
                O::Counter32(c) => N::Counter32(c),
                O::Unsigned32(u) => N::Unsigned32(u),
                O::Timeticks(t) => N::Timeticks(t),
                O::Counter64(c) => N::Counter64(c),
                O::Opaque(b) => N::Opaque(b),
                O::Null => N::Null,
                O::NoSuchObject => N::NoSuchObject,
                O::NoSuchInstance => N::NoSuchInstance,
                O::EndOfMibView => N::EndOfMibView,
            },
        })
        .collect()
}

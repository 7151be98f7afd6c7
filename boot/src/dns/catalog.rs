//! Turns `ZoneRecords` into hickory's in-memory authoritative zones.

use hickory_server::proto::rr::rdata::{A, AAAA, NS, PTR, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use std::sync::Arc;

use super::DnsError;
use super::zones::{RrData, ZoneRecords};

pub fn catalog(zones: &[ZoneRecords]) -> Result<Catalog, DnsError> {
    let mut catalog = Catalog::new();
    for zone in zones {
        let origin = name(&zone.origin)?;
        let mut handler: InMemoryZoneHandler =
            InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        for rr in &zone.records {
            let record = Record::from_rdata(name(&rr.name)?, zone.ttl, rdata(&rr.data)?);
            if !handler.upsert_mut(record, zone.serial) {
                return Err(DnsError::Zone(format!(
                    "zone {}: record {} was refused (not inside the zone?)",
                    zone.origin, rr.name
                )));
            }
        }
        let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
        catalog.upsert(LowerName::new(&origin), vec![handler]);
    }
    Ok(catalog)
}

fn name(text: &str) -> Result<Name, DnsError> {
    Name::from_ascii(text).map_err(|e| DnsError::Zone(format!("DNS name {text:?}: {e}")))
}

fn rdata(data: &RrData) -> Result<RData, DnsError> {
    Ok(match data {
        RrData::Soa {
            mname,
            rname,
            serial,
            refresh,
            retry,
            expire,
            minimum,
        } => RData::SOA(SOA::new(
            name(mname)?,
            name(rname)?,
            *serial,
            clamp(*refresh),
            clamp(*retry),
            clamp(*expire),
            *minimum,
        )),
        RrData::Ns(target) => RData::NS(NS(name(target)?)),
        RrData::A(ip) => RData::A(A(*ip)),
        RrData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        RrData::Ptr(target) => RData::PTR(PTR(name(target)?)),
    })
}

fn clamp(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

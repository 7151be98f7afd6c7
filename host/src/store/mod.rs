//! The only module that speaks SurrealQL. Objects travel as JSON between serde types and the
//! database; every multi-object change is a [`Tx`] committed as one SurrealDB transaction.

mod schema;

use crate::model::{LunaError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::sync::Arc;
use surrealdb::Surreal;
use surrealdb::engine::any::{Any, connect};

/// Tables holding named objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Network,
    OsImage,
    BmcSetup,
    Group,
    Node,
    Switch,
    OtherDev,
    Ip,
    NodeStatus,
    NodeInventory,
    Lease,
    Unknown,
    Plugin,
}

impl Table {
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Network => "network",
            Table::OsImage => "osimage",
            Table::BmcSetup => "bmcsetup",
            Table::Group => "group",
            Table::Node => "node",
            Table::Switch => "switch",
            Table::OtherDev => "otherdev",
            Table::Ip => "ip",
            Table::NodeStatus => "node_status",
            Table::NodeInventory => "node_inventory",
            Table::Lease => "lease",
            Table::Unknown => "unknown",
            Table::Plugin => "plugin",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    db: Surreal<Any>,
    /// Bumped after every committed change, so the daemon's servers (DNS, DHCP, seeder, poller)
    /// reload from the store instead of each write knowing who cares.
    generation: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Store {
    /// Opens `mem://`, `surrealkv://DIR` or `ws://HOST:PORT` and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self> {
        let db = connect(url)
            .await
            .map_err(|e| LunaError::internal(format!("cannot open the store at {url}: {e}")))?;
        db.use_ns("luna").use_db("cluster").await?;
        let store = Self {
            db,
            generation: Arc::new(tokio::sync::watch::channel(0).0),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        // Versions are applied by set, not by "newer than the last": migrations written on
        // parallel branches land in any order, and a store must still get every one of them.
        let mut applied = self.applied_migrations().await?;
        let pending: Vec<_> = schema::MIGRATIONS
            .iter()
            .filter(|(v, _)| !applied.contains(v))
            .collect();
        for (version, surql) in pending {
            applied.push(*version);
            applied.sort_unstable();
            let list = applied
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let top = applied.last().copied().unwrap_or(*version);
            let q = format!(
                "BEGIN TRANSACTION;\n{surql}\nUPSERT meta:schema SET version = {top}, applied = [{list}];\nCOMMIT TRANSACTION;"
            );
            self.db
                .query(q)
                .await
                .and_then(|r| r.check())
                .map_err(|e| {
                    LunaError::internal(format!("schema migration {version} failed: {e}"))
                })?;
            tracing::info!(version, "applied schema migration");
        }
        Ok(())
    }

    /// Migrations already in the store. Stores from before the `applied` list record only the
    /// highest version, which then stood for every version up to it.
    async fn applied_migrations(&self) -> Result<Vec<u32>> {
        let version = self.schema_version().await?;
        let mut r = self
            .db
            .query("SELECT VALUE applied FROM meta:schema")
            .await?
            .check()?;
        let listed: Option<Vec<i64>> = r.take(0).unwrap_or(None);
        Ok(match listed {
            Some(list) => list.into_iter().map(|v| v as u32).collect(),
            None => schema::MIGRATIONS
                .iter()
                .map(|(v, _)| *v)
                .filter(|v| *v <= version)
                .collect(),
        })
    }

    pub async fn schema_version(&self) -> Result<u32> {
        // A fresh database has no tables at all; the meta table holds the schema version.
        let q = "DEFINE TABLE IF NOT EXISTS meta SCHEMALESS; SELECT VALUE version FROM meta:schema";
        let mut r = self.db.query(q).await?.check()?;
        let v: Option<i64> = r.take(1)?;
        Ok(v.unwrap_or(0) as u32)
    }

    /// Every object of a table.
    pub async fn list<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<T>> {
        self.rows(
            &format!("SELECT * OMIT id FROM {}", table.as_str()),
            Map::new(),
        )
        .await
    }

    /// Objects whose `field` equals `value` (an indexed field, for speed).
    pub async fn list_where<T: DeserializeOwned>(
        &self,
        table: Table,
        field: &str,
        value: impl Serialize,
    ) -> Result<Vec<T>> {
        let mut vars = Map::new();
        vars.insert("v".into(), serde_json::to_value(value)?);
        self.rows(
            &format!(
                "SELECT * OMIT id FROM {} WHERE {field} = $v",
                table.as_str()
            ),
            vars,
        )
        .await
    }

    pub async fn get<T: DeserializeOwned>(&self, table: Table, name: &str) -> Result<Option<T>> {
        Ok(self
            .list_where(table, "name", name)
            .await?
            .into_iter()
            .next())
    }

    /// Runs a read query with variables and decodes its first statement's rows.
    pub async fn rows<T: DeserializeOwned>(
        &self,
        q: &str,
        vars: Map<String, Value>,
    ) -> Result<Vec<T>> {
        let mut r = self
            .db
            .query(q.to_string())
            .bind(Value::Object(vars))
            .await?
            .check()?;
        let rows: Vec<Value> = r.take(0)?;
        rows.into_iter()
            .map(|v| serde_json::from_value(v).map_err(LunaError::from))
            .collect()
    }

    pub async fn singleton<T: DeserializeOwned>(&self, id: &str) -> Result<Option<T>> {
        let rows: Vec<T> = self
            .rows(&format!("SELECT * OMIT id FROM {id}"), Map::new())
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Applies every statement of `tx` atomically: all of them or none.
    /// Watches committed changes: the value is a counter that grows with every commit.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// The change counter now (see [`Store::changes`]), for caches keyed by it.
    pub fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    pub async fn commit(&self, tx: Tx) -> Result<()> {
        if tx.statements.is_empty() {
            return Ok(());
        }
        self.apply(tx).await?;
        self.generation.send_modify(|g| *g += 1);
        Ok(())
    }

    /// Like [`Store::commit`] but does not wake the servers watching [`Store::changes`]: for
    /// records no server reads (node install reports arrive every few seconds per node).
    pub async fn commit_quiet(&self, tx: Tx) -> Result<()> {
        self.apply(tx).await
    }

    async fn apply(&self, tx: Tx) -> Result<()> {
        if tx.statements.is_empty() {
            return Ok(());
        }
        let mut q =
            String::with_capacity(64 + tx.statements.iter().map(|s| s.len() + 2).sum::<usize>());
        q.push_str("BEGIN TRANSACTION;\n");
        for s in &tx.statements {
            q.push_str(s);
            q.push_str(";\n");
        }
        q.push_str("COMMIT TRANSACTION;");
        let response = self.db.query(q).bind(Value::Object(tx.vars)).await?;
        response.check().map_err(|e| {
            let text = e.to_string();
            if text.contains("already contains") {
                // A unique index caught a race the service layer's checks did not see.
                LunaError::conflict(format!(
                    "the change clashes with an existing object: {text}"
                ))
            } else {
                LunaError::internal(format!(
                    "store transaction failed, nothing was changed: {text}"
                ))
            }
        })?;
        Ok(())
    }
}

/// A batch of writes applied as one transaction by [`Store::commit`].
#[derive(Default)]
pub struct Tx {
    statements: Vec<String>,
    vars: Map<String, Value>,
}

impl Tx {
    pub fn new() -> Self {
        Self::default()
    }

    fn bind(&mut self, value: Value) -> String {
        let name = format!("v{}", self.vars.len());
        self.vars.insert(name.clone(), value);
        format!("${name}")
    }

    fn content(value: &impl Serialize) -> Value {
        // `option<T>` fields accept NONE but not NULL: absent optionals are left out.
        strip_nulls(serde_json::to_value(value).expect("model types serialize to JSON"))
    }

    pub fn create(&mut self, table: Table, obj: &impl Serialize) {
        let v = self.bind(Self::content(obj));
        self.statements
            .push(format!("CREATE {} CONTENT {v}", table.as_str()));
    }

    /// Inserts many objects in one statement (bulk node adds).
    pub fn insert_many<T: Serialize>(&mut self, table: Table, objs: &[T]) {
        if objs.is_empty() {
            return;
        }
        let v = self.bind(Value::Array(objs.iter().map(Self::content).collect()));
        self.statements
            .push(format!("INSERT INTO {} {v}", table.as_str()));
    }

    /// Replaces the named object's content (it may carry a new name).
    pub fn replace(&mut self, table: Table, name: &str, obj: &impl Serialize) {
        let v = self.bind(Self::content(obj));
        let n = self.bind(Value::String(name.to_string()));
        self.statements.push(format!(
            "UPDATE {} CONTENT {v} WHERE name = {n}",
            table.as_str()
        ));
    }

    pub fn delete(&mut self, table: Table, name: &str) {
        let n = self.bind(Value::String(name.to_string()));
        self.statements
            .push(format!("DELETE {} WHERE name = {n}", table.as_str()));
    }

    /// `UPDATE table SET field = new WHERE field = old` (reference renames).
    pub fn rename_ref(&mut self, table: Table, field: &str, old: &str, new: &str) {
        let o = self.bind(Value::String(old.to_string()));
        let n = self.bind(Value::String(new.to_string()));
        self.statements.push(format!(
            "UPDATE {} SET {field} = {n} WHERE {field} = {o}",
            table.as_str()
        ));
    }

    pub fn upsert_singleton(&mut self, id: &str, obj: &impl Serialize) {
        let v = self.bind(Self::content(obj));
        self.statements.push(format!("UPSERT {id} CONTENT {v}"));
    }

    /// Releases every address an owner holds (optionally only on one network or interface).
    pub fn release_ips(
        &mut self,
        kind: &str,
        owner: &str,
        network: Option<&str>,
        interface: Option<&str>,
    ) {
        let k = self.bind(Value::String(kind.to_string()));
        let o = self.bind(Value::String(owner.to_string()));
        let mut q = format!("DELETE ip WHERE owner_kind = {k} AND owner = {o}");
        if let Some(n) = network {
            let n = self.bind(Value::String(n.to_string()));
            q.push_str(&format!(" AND network = {n}"));
        }
        if let Some(i) = interface {
            let i = self.bind(Value::String(i.to_string()));
            q.push_str(&format!(" AND interface = {i}"));
        }
        self.statements.push(q);
    }

    pub fn release_ip(&mut self, network: &str, ip: &str) {
        let n = self.bind(Value::String(network.to_string()));
        let i = self.bind(Value::String(ip.to_string()));
        self.statements
            .push(format!("DELETE ip WHERE network = {n} AND ip = {i}"));
    }

    pub fn rename_ip_owner(&mut self, kind: &str, old: &str, new: &str) {
        let k = self.bind(Value::String(kind.to_string()));
        let o = self.bind(Value::String(old.to_string()));
        let n = self.bind(Value::String(new.to_string()));
        self.statements.push(format!(
            "UPDATE ip SET owner = {n} WHERE owner_kind = {k} AND owner = {o}"
        ));
    }
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod migration_tests {
    use super::*;

    /// A store that recorded later versions but not an earlier one (branches landing out of
    /// order) still gets the missing migration on the next open.
    #[tokio::test]
    async fn a_missing_earlier_migration_is_applied() {
        let store = Store::open("mem://").await.unwrap();
        let all: Vec<u32> = schema::MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(store.applied_migrations().await.unwrap(), all);

        let without_v2: Vec<String> = all
            .iter()
            .filter(|v| **v != 2)
            .map(u32::to_string)
            .collect();
        store
            .db
            .query(format!(
                "REMOVE TABLE plugin; UPSERT meta:schema SET applied = [{}];",
                without_v2.join(", ")
            ))
            .await
            .unwrap()
            .check()
            .unwrap();
        // Without v2's schema the table is implicit and schemaless: anything goes.
        let bogus = "CREATE plugin SET kind = 'bogus'";
        assert!(store.db.query(bogus).await.unwrap().check().is_ok());
        store.db.query("REMOVE TABLE plugin").await.unwrap();

        store.migrate().await.unwrap();
        assert_eq!(store.applied_migrations().await.unwrap(), all);
        let refused = store.db.query(bogus).await.unwrap().check();
        assert!(refused.is_err(), "v2's SCHEMAFULL plugin table is back");
    }
}

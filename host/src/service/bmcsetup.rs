//! BMC setup profiles (user, password, channels) used by groups.

use super::{BmcSetupAdd, BmcSetupChange, Luna, ensure_free, set_opt};
use crate::model::{BmcSetup, Group, LunaError, Result};
use crate::store::{Table, Tx};

/// What every API answer shows instead of a BMC password.
pub const MASKED: &str = "********";

impl Luna {
    pub async fn bmcsetup_list(&self) -> Result<Vec<BmcSetup>> {
        let mut v: Vec<BmcSetup> = self.store.list(Table::BmcSetup).await?;
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v.into_iter().map(masked).collect())
    }

    pub async fn bmcsetup_show(&self, name: &str) -> Result<BmcSetup> {
        self.bmcsetup_secret(name).await.map(masked)
    }

    /// With the password: for the plan renderer and power control only, never for display.
    pub async fn bmcsetup_secret(&self, name: &str) -> Result<BmcSetup> {
        self.store
            .get(Table::BmcSetup, name)
            .await?
            .ok_or_else(|| LunaError::not_found("bmcsetup", name))
    }

    pub async fn bmcsetup_add(&self, req: BmcSetupAdd) -> Result<BmcSetup> {
        let _w = self.writes.lock().await;
        self.require_cluster().await?;
        ensure_free(self, Table::BmcSetup, "bmcsetup", &req.name).await?;
        let b = BmcSetup {
            name: req.name,
            user: req.user.unwrap_or_else(|| "ladmin".into()),
            password: req.password.unwrap_or_else(|| "ladmin".into()),
            userid: req.userid.unwrap_or(3),
            netchannel: req.netchannel.unwrap_or(1),
            mgmtchannel: req.mgmtchannel.unwrap_or(1),
            comment: req.comment.filter(|c| !c.is_empty()),
            port: req.port.filter(|p| *p != 0),
        };
        check(&b)?;
        let mut tx = Tx::new();
        tx.create(Table::BmcSetup, &b);
        self.store.commit(tx).await?;
        Ok(masked(b))
    }

    pub async fn bmcsetup_change(&self, name: &str, req: BmcSetupChange) -> Result<BmcSetup> {
        let _w = self.writes.lock().await;
        let mut b = self.bmcsetup_secret(name).await?;
        if let Some(v) = req.user {
            b.user = v;
        }
        if let Some(v) = req.password {
            b.password = v;
        }
        if let Some(v) = req.userid {
            b.userid = v;
        }
        if let Some(v) = req.netchannel {
            b.netchannel = v;
        }
        if let Some(v) = req.mgmtchannel {
            b.mgmtchannel = v;
        }
        set_opt(&mut b.comment, req.comment);
        if let Some(p) = req.port {
            b.port = (p != 0).then_some(p);
        }
        check(&b)?;
        let mut tx = Tx::new();
        tx.replace(Table::BmcSetup, name, &b);
        self.store.commit(tx).await?;
        Ok(masked(b))
    }

    pub async fn bmcsetup_rename(&self, name: &str, new_name: &str) -> Result<BmcSetup> {
        let _w = self.writes.lock().await;
        let mut b = self.bmcsetup_secret(name).await?;
        ensure_free(self, Table::BmcSetup, "bmcsetup", new_name).await?;
        b.name = new_name.into();
        let mut tx = Tx::new();
        tx.replace(Table::BmcSetup, name, &b);
        tx.rename_ref(Table::Group, "bmcsetup", name, new_name);
        self.store.commit(tx).await?;
        Ok(masked(b))
    }

    pub async fn bmcsetup_delete(&self, name: &str) -> Result<()> {
        let _w = self.writes.lock().await;
        self.bmcsetup_secret(name).await?;
        let users: Vec<Group> = self
            .store
            .list_where(Table::Group, "bmcsetup", name)
            .await?;
        if let Some(g) = users.first() {
            return Err(LunaError::conflict(format!(
                "bmcsetup '{name}' is still used by group '{}'; change the group first ('luna group change {} --bmcsetup \"\"')",
                g.name, g.name
            )));
        }
        let mut tx = Tx::new();
        tx.delete(Table::BmcSetup, name);
        self.store.commit(tx).await
    }
}

fn masked(mut b: BmcSetup) -> BmcSetup {
    b.password = MASKED.into();
    b
}

fn check(b: &BmcSetup) -> Result<()> {
    // IPMI 2.0 limits: 16-byte user names, 20-byte passwords, user ids 1-15 (1 is anonymous).
    if b.user.is_empty() || b.user.len() > 16 {
        return Err(LunaError::invalid(format!(
            "bmcsetup '{}': user must be 1-16 characters",
            b.name
        )));
    }
    if b.password.is_empty() || b.password.len() > 20 {
        return Err(LunaError::invalid(format!(
            "bmcsetup '{}': password must be 1-20 characters",
            b.name
        )));
    }
    if !(2..=15).contains(&b.userid) {
        return Err(LunaError::invalid(format!(
            "bmcsetup '{}': userid {} is out of range; use 2-15 (1 is the anonymous user)",
            b.name, b.userid
        )));
    }
    for (what, ch) in [("netchannel", b.netchannel), ("mgmtchannel", b.mgmtchannel)] {
        if ch > 15 {
            return Err(LunaError::invalid(format!(
                "bmcsetup '{}': {what} {ch} is out of range; use 0-15",
                b.name
            )));
        }
    }
    Ok(())
}

//! The caller and the property of a call, established once before a handler reaches any
//! property data. The application functions of a department take a [`Scope`], and only
//! [`Properties::scope`] makes one: from the verified caller of the request and the property
//! its message names, checked against the property the gateway authorized the caller for. A
//! handler that forgot the check would have nothing to call the application with.

use tonic::Request;
use wuye_proto::PropertyScoped;

use crate::{
    Result,
    identity::{self, Actor, Caller},
    properties::{Properties, Property},
};

/// Who calls, at which property: the only key to a department's property data.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    caller: Caller,
    property: &'a Property,
}

impl<'a> Scope<'a> {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn property(&self) -> &'a Property {
        self.property
    }

    /// The caller as the records name them.
    pub fn actor(&self) -> Actor {
        self.caller.actor()
    }
}

impl Properties {
    /// The scope of a call and its message: `INVALID_ARGUMENT` without a `property_id`,
    /// `PERMISSION_DENIED` (`PROPERTY_MISMATCH`) for a property the call was not authorized
    /// for, `NOT_FOUND` for a property that is not configured.
    pub fn scope<T: PropertyScoped>(&self, request: Request<T>) -> Result<(Scope<'_>, T)> {
        let caller = identity::caller(&request)?;
        let message = request.into_inner();
        let scope = self.scope_of(caller, message.property_id())?;
        Ok((scope, message))
    }

    /// The scope of a call whose property arrives later than its metadata: the first message
    /// of a client stream.
    pub fn scope_of(&self, caller: Caller, property_id: &str) -> Result<Scope<'_>> {
        let property = self.for_call(&caller, property_id)?;
        Ok(Scope { caller, property })
    }
}

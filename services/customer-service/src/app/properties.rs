//! The properties' settings, as configured: read, never written, by this department.

use wuye_kit::{properties::Property, scope::Scope};

use crate::CustomerService;

/// GetProperty: the property of the call.
pub(crate) fn get<'a>(scope: &Scope<'a>) -> &'a Property {
    scope.property()
}

/// ListProperties: every property, in the order of the file.
pub(crate) fn list(cs: &CustomerService) -> impl Iterator<Item = &Property> {
    cs.properties.iter()
}

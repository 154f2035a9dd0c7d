//! `GET /api/v1/openapi.json`: one OpenAPI 3.1 document of every management
//! API: the analytics API's (`analytics_api/openapi.rs`), with the parts of
//! the admin API, the ROI promises and the reports API merged in. Merged
//! here, above them all, so no API's module imports another's document.
//! Served without a key: it holds no tenant data.

use axum::Json;
use serde_json::Value;

pub async fn document() -> Json<Value> {
    Json(build())
}

/// The document.
pub fn build() -> Value {
    let mut document = super::analytics_api::openapi::build();
    for (paths, schemas) in [
        super::admin::openapi::parts(),
        super::roi_promises::openapi::parts(),
        super::reports_openapi::parts(),
    ] {
        for (section, part) in [("/paths", paths), ("/components/schemas", schemas)] {
            if let (Some(Value::Object(into)), Value::Object(from)) =
                (document.pointer_mut(section), part)
            {
                into.extend(from);
            }
        }
    }
    document
}

//! The Gemini request as the API's proto messages see it, field by field, and a
//! walker that refuses what the real JSON mapping refuses: an unknown field
//! (`Unknown name "x" at 'path': Cannot find field.`) or a value of the wrong
//! type (`Invalid value at 'path' (TYPE_FLOAT), "hot"`). As in proto JSON, a field
//! may be spelled in lowerCamelCase or snake_case and `null` means unset; paths in
//! messages use snake_case, as the real ones do.
//!
//! The fields are those the Gemini Developer API takes (google-genai 3.3's
//! `_to_mldev` converters; fields only the Vertex / Enterprise API takes, such as
//! `labels`, `routingConfig` or a schema's `additionalProperties`, are unknown
//! here, as they are there).

use serde_json::Value;

/// What a field holds.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Message(&'static Message),
    /// A map from names to messages (a schema's `properties`).
    Map(&'static Message),
    String,
    Float,
    Int,
    Bool,
    /// An enum: its proto name and value names (an integer is accepted too).
    Enum(&'static str, &'static [&'static str]),
    /// A schema's `type`: an enum whose names are taken in any case.
    SchemaType,
    /// `google.protobuf.Struct`: any JSON object.
    Struct,
    /// `google.protobuf.Value`: any JSON.
    Any,
}

pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub repeated: bool,
}

pub(crate) struct Message {
    pub name: &'static str,
    pub fields: &'static [Field],
}

const fn one(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        repeated: false,
    }
}

const fn many(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        repeated: true,
    }
}

const HARM_CATEGORY: &[&str] = &[
    "HARM_CATEGORY_UNSPECIFIED",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
    "HARM_CATEGORY_JAILBREAK",
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
];
const HARM_THRESHOLD: &[&str] = &[
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
];
pub(crate) const CALLING_MODE: &[&str] = &["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"];
const THINKING_LEVEL: &[&str] = &[
    "THINKING_LEVEL_UNSPECIFIED",
    "MINIMAL",
    "LOW",
    "MEDIUM",
    "HIGH",
];
const MODALITY: &[&str] = &["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"];
const MEDIA_RESOLUTION: &[&str] = &[
    "MEDIA_RESOLUTION_UNSPECIFIED",
    "MEDIA_RESOLUTION_LOW",
    "MEDIA_RESOLUTION_MEDIUM",
    "MEDIA_RESOLUTION_HIGH",
];
const BEHAVIOR: &[&str] = &["UNSPECIFIED", "BLOCKING", "NON_BLOCKING"];
const SCHEDULING: &[&str] = &["SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"];
const SCHEMA_TYPES: &[&str] = &[
    "TYPE_UNSPECIFIED",
    "STRING",
    "NUMBER",
    "INTEGER",
    "BOOLEAN",
    "ARRAY",
    "OBJECT",
    "NULL",
];

pub(crate) static BLOB: Message = Message {
    name: "Blob",
    fields: &[one("mimeType", Kind::String), one("data", Kind::String)],
};
pub(crate) static FILE_DATA: Message = Message {
    name: "FileData",
    fields: &[one("mimeType", Kind::String), one("fileUri", Kind::String)],
};
pub(crate) static FUNCTION_CALL: Message = Message {
    name: "FunctionCall",
    fields: &[
        one("id", Kind::String),
        one("name", Kind::String),
        one("args", Kind::Struct),
    ],
};
pub(crate) static FUNCTION_RESPONSE: Message = Message {
    name: "FunctionResponse",
    fields: &[
        one("id", Kind::String),
        one("name", Kind::String),
        one("response", Kind::Struct),
        many("parts", Kind::Any),
        one("willContinue", Kind::Bool),
        one(
            "scheduling",
            Kind::Enum("FunctionResponse.Scheduling", SCHEDULING),
        ),
    ],
};
pub(crate) static PART: Message = Message {
    name: "Part",
    fields: &[
        one("text", Kind::String),
        one("inlineData", Kind::Message(&BLOB)),
        one("fileData", Kind::Message(&FILE_DATA)),
        one("functionCall", Kind::Message(&FUNCTION_CALL)),
        one("functionResponse", Kind::Message(&FUNCTION_RESPONSE)),
        one("executableCode", Kind::Struct),
        one("codeExecutionResult", Kind::Struct),
        one("toolCall", Kind::Struct),
        one("toolResponse", Kind::Struct),
        one("thought", Kind::Bool),
        one("thoughtSignature", Kind::String),
        one("videoMetadata", Kind::Struct),
        one("mediaResolution", Kind::Any),
        one("partMetadata", Kind::Struct),
        one("audioTranscription", Kind::Any),
    ],
};
/// The `Part` fields that are its data (a oneof: exactly one is set).
pub(crate) const PART_DATA: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "toolCall",
    "toolResponse",
];
pub(crate) static CONTENT: Message = Message {
    name: "Content",
    fields: &[
        one("role", Kind::String),
        many("parts", Kind::Message(&PART)),
    ],
};
pub(crate) static SCHEMA: Message = Message {
    name: "Schema",
    fields: &[
        one("type", Kind::SchemaType),
        one("format", Kind::String),
        one("title", Kind::String),
        one("description", Kind::String),
        one("nullable", Kind::Bool),
        many("enum", Kind::String),
        one("maxItems", Kind::Int),
        one("minItems", Kind::Int),
        one("properties", Kind::Map(&SCHEMA)),
        many("required", Kind::String),
        one("minProperties", Kind::Int),
        one("maxProperties", Kind::Int),
        one("minLength", Kind::Int),
        one("maxLength", Kind::Int),
        one("pattern", Kind::String),
        one("example", Kind::Any),
        many("anyOf", Kind::Message(&SCHEMA)),
        many("propertyOrdering", Kind::String),
        one("default", Kind::Any),
        one("items", Kind::Message(&SCHEMA)),
        one("minimum", Kind::Float),
        one("maximum", Kind::Float),
    ],
};
pub(crate) static FUNCTION_DECLARATION: Message = Message {
    name: "FunctionDeclaration",
    fields: &[
        one("name", Kind::String),
        one("description", Kind::String),
        one("parameters", Kind::Message(&SCHEMA)),
        one("parametersJsonSchema", Kind::Any),
        one("response", Kind::Message(&SCHEMA)),
        one("responseJsonSchema", Kind::Any),
        one(
            "behavior",
            Kind::Enum("FunctionDeclaration.Behavior", BEHAVIOR),
        ),
    ],
};
pub(crate) static TOOL: Message = Message {
    name: "Tool",
    fields: &[
        many("functionDeclarations", Kind::Message(&FUNCTION_DECLARATION)),
        one("googleSearch", Kind::Struct),
        one("googleSearchRetrieval", Kind::Struct),
        one("codeExecution", Kind::Struct),
        one("urlContext", Kind::Struct),
        one("fileSearch", Kind::Struct),
        one("googleMaps", Kind::Struct),
        one("computerUse", Kind::Struct),
        many("mcpServers", Kind::Any),
    ],
};
pub(crate) static FUNCTION_CALLING_CONFIG: Message = Message {
    name: "FunctionCallingConfig",
    fields: &[
        one(
            "mode",
            Kind::Enum("FunctionCallingConfig.Mode", CALLING_MODE),
        ),
        many("allowedFunctionNames", Kind::String),
    ],
};
pub(crate) static TOOL_CONFIG: Message = Message {
    name: "ToolConfig",
    fields: &[
        one(
            "functionCallingConfig",
            Kind::Message(&FUNCTION_CALLING_CONFIG),
        ),
        one("retrievalConfig", Kind::Struct),
        one("includeServerSideToolInvocations", Kind::Bool),
    ],
};
pub(crate) static SAFETY_SETTING: Message = Message {
    name: "SafetySetting",
    fields: &[
        one("category", Kind::Enum("HarmCategory", HARM_CATEGORY)),
        one(
            "threshold",
            Kind::Enum("SafetySetting.HarmBlockThreshold", HARM_THRESHOLD),
        ),
    ],
};
pub(crate) static THINKING_CONFIG: Message = Message {
    name: "ThinkingConfig",
    fields: &[
        one("includeThoughts", Kind::Bool),
        one("thinkingBudget", Kind::Int),
        one(
            "thinkingLevel",
            Kind::Enum("ThinkingConfig.ThinkingLevel", THINKING_LEVEL),
        ),
    ],
};
pub(crate) static GENERATION_CONFIG: Message = Message {
    name: "GenerationConfig",
    fields: &[
        many("stopSequences", Kind::String),
        one("responseMimeType", Kind::String),
        one("responseSchema", Kind::Message(&SCHEMA)),
        one("responseJsonSchema", Kind::Any),
        many(
            "responseModalities",
            Kind::Enum("GenerationConfig.Modality", MODALITY),
        ),
        one("candidateCount", Kind::Int),
        one("maxOutputTokens", Kind::Int),
        one("temperature", Kind::Float),
        one("topP", Kind::Float),
        one("topK", Kind::Int),
        one("seed", Kind::Int),
        one("presencePenalty", Kind::Float),
        one("frequencyPenalty", Kind::Float),
        one("responseLogprobs", Kind::Bool),
        one("logprobs", Kind::Int),
        one("enableEnhancedCivicAnswers", Kind::Bool),
        one("speechConfig", Kind::Struct),
        one("thinkingConfig", Kind::Message(&THINKING_CONFIG)),
        one("imageConfig", Kind::Struct),
        one(
            "mediaResolution",
            Kind::Enum("GenerationConfig.MediaResolution", MEDIA_RESOLUTION),
        ),
        one("audioTranscriptionConfig", Kind::Struct),
    ],
};
pub(crate) static GENERATE_CONTENT_REQUEST: Message = Message {
    name: "GenerateContentRequest",
    fields: &[
        one("model", Kind::String),
        many("contents", Kind::Message(&CONTENT)),
        one("systemInstruction", Kind::Message(&CONTENT)),
        many("tools", Kind::Message(&TOOL)),
        one("toolConfig", Kind::Message(&TOOL_CONFIG)),
        many("safetySettings", Kind::Message(&SAFETY_SETTING)),
        one("generationConfig", Kind::Message(&GENERATION_CONFIG)),
        one("cachedContent", Kind::String),
        one("serviceTier", Kind::String),
    ],
};
pub(crate) static COUNT_TOKENS_REQUEST: Message = Message {
    name: "CountTokensRequest",
    fields: &[
        many("contents", Kind::Message(&CONTENT)),
        one(
            "generateContentRequest",
            Kind::Message(&GENERATE_CONTENT_REQUEST),
        ),
    ],
};

/// `fooBar` as `foo_bar`.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The field `key` names in `message`, in either spelling.
fn field<'m>(message: &'m Message, key: &str) -> Option<&'m Field> {
    message
        .fields
        .iter()
        .find(|f| f.name == key || snake(f.name) == key)
}

/// `value[name]` in either spelling.
pub(crate) fn get<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    value
        .get(name)
        .or_else(|| value.get(snake(name).as_str()))
        .filter(|v| !v.is_null())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn invalid_value(path: &str, kind: &str, value: &Value) -> String {
    format!("Invalid value at '{path}' ({kind}), {value}")
}

/// Checks `value` as a `message` found at `path`.
pub(crate) fn walk(value: &Value, message: &Message, path: &str) -> Result<(), String> {
    let Some(map) = value.as_object() else {
        return Err(invalid_value(
            path,
            &format!(
                "type.googleapis.com/google.ai.generativelanguage.v1beta.{}",
                message.name
            ),
            value,
        ));
    };
    for (key, item) in map {
        let Some(field) = field(message, key) else {
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" at '{path}'")
            };
            return Err(format!(
                "Invalid JSON payload received. Unknown name \"{key}\"{at}: Cannot find field."
            ));
        };
        if item.is_null() {
            continue;
        }
        let here = join(path, &snake(field.name));
        if field.repeated {
            let Some(items) = item.as_array() else {
                return Err(format!(
                    "Invalid JSON payload received. Proto field '{here}' is repeated: expected a list."
                ));
            };
            for (i, element) in items.iter().enumerate() {
                value_of(element, field.kind, &format!("{here}[{i}]"))?;
            }
        } else {
            value_of(item, field.kind, &here)?;
        }
    }
    Ok(())
}

fn value_of(value: &Value, kind: Kind, path: &str) -> Result<(), String> {
    let ok = match kind {
        Kind::Message(message) => return walk(value, message, path),
        Kind::Map(message) => {
            let Some(map) = value.as_object() else {
                return Err(invalid_value(path, "map", value));
            };
            for (key, item) in map {
                walk(item, message, &format!("{path}[{key}]"))?;
            }
            return Ok(());
        }
        Kind::String => value.is_string(),
        Kind::Float => value.is_number(),
        Kind::Int => {
            value.is_i64()
                || value.is_u64()
                || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok())
        }
        Kind::Bool => value.is_boolean(),
        Kind::Enum(_, names) => {
            value.is_i64() || value.as_str().is_some_and(|s| names.contains(&s))
        }
        Kind::SchemaType => value
            .as_str()
            .is_some_and(|s| SCHEMA_TYPES.iter().any(|t| t.eq_ignore_ascii_case(s))),
        Kind::Struct => value.is_object(),
        Kind::Any => true,
    };
    if ok {
        return Ok(());
    }
    let name = match kind {
        Kind::String => "TYPE_STRING".to_owned(),
        Kind::Float => "TYPE_FLOAT".to_owned(),
        Kind::Int => "TYPE_INT32".to_owned(),
        Kind::Bool => "TYPE_BOOL".to_owned(),
        Kind::Enum(name, _) => {
            format!("type.googleapis.com/google.ai.generativelanguage.v1beta.{name}")
        }
        Kind::SchemaType => {
            "type.googleapis.com/google.ai.generativelanguage.v1beta.Type".to_owned()
        }
        _ => "type.googleapis.com/google.protobuf.Struct".to_owned(),
    };
    Err(invalid_value(path, &name, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_spellings_are_fields_and_others_are_not() {
        let ok = json!({
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generation_config": {"maxOutputTokens": 5, "thinking_config": {"thinkingBudget": "0"}},
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
                "type": "object", "properties": {"a": {"type": "STRING", "enum": ["x"]}}}}]}]
        });
        assert_eq!(walk(&ok, &GENERATE_CONTENT_REQUEST, ""), Ok(()));
        let cases = [
            (json!({"temperature": 1}), "Unknown name \"temperature\": Cannot find field."),
            (
                json!({"generationConfig": {"max_tokens": 5}}),
                "Unknown name \"max_tokens\" at 'generation_config': Cannot find field.",
            ),
            (
                json!({"tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "additionalProperties": false}}]}]}),
                "Unknown name \"additionalProperties\" at 'tools[0].function_declarations[0].parameters'",
            ),
            (
                json!({"generationConfig": {"temperature": "hot"}}),
                "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\"",
            ),
            (
                json!({"toolConfig": {"functionCallingConfig": {"mode": "auto"}}}),
                "Invalid value at 'tool_config.function_calling_config.mode'",
            ),
            (json!({"contents": {"parts": []}}), "is repeated"),
            (json!({"contents": ["hi"]}), "Invalid value at 'contents[0]'"),
        ];
        for (body, message) in cases {
            let error = walk(&body, &GENERATE_CONTENT_REQUEST, "").unwrap_err();
            assert!(error.contains(message), "{error:?} lacks {message:?}");
        }
    }
}

//! Gemini's `generateContent` API: the native egress format of Google's models.

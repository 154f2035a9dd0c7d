// The shared read-only view (placeholder until the UI lands).
